package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"zhengxiang/bench/e2e"
	"zhengxiang/orders/kafka"
)

// EnvKafkaBin is deploy/kafka.sh, whose tool verb runs Kafka's own tools.
const EnvKafkaBin = "ZX_KAFKA_BIN"

type benchE2ECmd struct {
	cfg        e2e.Config
	kafka      string
	json       bool
	cpuprofile string
	trace      string
	mutexprof  string
	allocprof  string
	serviceLog string
}

func newBenchE2ECmd(fs *flag.FlagSet) *benchE2ECmd {
	c := &benchE2ECmd{}
	fs.StringVar(&c.kafka, "kafka", os.Getenv(EnvKafkaBrokers), "Kafka `brokers`, comma-separated (env "+EnvKafkaBrokers+")")
	fs.StringVar(&c.cfg.PGURL, "pg", os.Getenv(EnvPGURL), "PostgreSQL `url` (env "+EnvPGURL+"); the run works in a schema of its own")
	fs.IntVar(&c.cfg.Orders, "orders", e2e.DefaultOrders, "orders to place")
	fs.IntVar(&c.cfg.Riders, "riders", e2e.DefaultRiders, "simulated riders (serve --fleet), whose pings the run also sends")
	fs.Float64Var(&c.cfg.Rate, "rate", e2e.DefaultRate, "orders per second to place (0: as fast as the broker takes them)")
	fs.IntVar(&c.cfg.Pings, "pings", 0, fmt.Sprintf("rider pings to send beside the orders (0: %d per order, -1: none)", e2e.DefaultPingsPerOrder))
	fs.IntVar(&c.cfg.Producers, "producers", e2e.DefaultProducers, "goroutines placing orders")
	fs.IntVar(&c.cfg.Batch, "batch", 0, fmt.Sprintf("orders or pings per write (0: %d, or 20 ms of orders with --rate)", e2e.DefaultBatch))
	fs.IntVar(&c.cfg.Stores, "stores", 0, "festival stores serve registers (0: serve's default)")
	fs.Int64Var(&c.cfg.Seed, "seed", 0, "random `seed` of the stores, the fleet and the orders")
	fs.Float64Var(&c.cfg.TimeScale, "time-scale", e2e.DefaultTimeScale, "serve --time-scale: how much faster than real time the fleet rides")
	fs.DurationVar(&c.cfg.RoundEvery, "round-every", e2e.DefaultRoundEvery, "wall-clock time between dispatch rounds")
	fs.DurationVar(&c.cfg.Drain, "drain", e2e.DefaultDrain, "how long to wait for missing offers after the last order is placed")
	fs.DurationVar(&c.cfg.Settle, "settle", e2e.DefaultSettle, "how much longer to wait for the intake to take every order, to count lost ones")
	fs.StringVar(&c.cfg.KafkaBin, "kafka-bin", os.Getenv(EnvKafkaBin), "deploy/kafka.sh, to run ProducerPerformance and delete the run's topics (env "+EnvKafkaBin+")")
	fs.BoolVar(&c.cfg.NoBaselines, "no-baselines", false, "skip the Kafka ProducerPerformance and PostgreSQL COPY baselines")
	fs.BoolVar(&c.cfg.Keep, "keep", false, "keep the run's topics and schema")
	fs.StringVar(&c.trace, "trace", "", "write an execution trace of the first 30 s of the placing to `file`")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the process (service and load) to `file`")
	fs.StringVar(&c.mutexprof, "mutexprofile", "", "write the process's mutex contention profile to `file`")
	fs.StringVar(&c.allocprof, "allocprofile", "", "write the process's allocations, from its start to the end of the run, to `file`")
	fs.StringVar(&c.serviceLog, "service-log", "", "write the in-process service's log to `file`")
	fs.BoolVar(&c.json, "json", false, "print the result as one JSON object")
	return c
}

func (c *benchE2ECmd) setup(args []string) error {
	if len(args) > 0 {
		return usagef("bench e2e: unexpected argument %q", args[0])
	}
	if c.cfg.Brokers = kafka.ParseBrokers(c.kafka); len(c.cfg.Brokers) == 0 {
		return usagef("bench e2e: --kafka or %s is required (make services-up)", EnvKafkaBrokers)
	}
	if c.cfg.PGURL == "" {
		return usagef("bench e2e: --pg or %s is required (make services-up)", EnvPGURL)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"orders", c.cfg.Orders}, {"riders", c.cfg.Riders}, {"producers", c.cfg.Producers}} {
		if f.v < 1 {
			return usagef("bench e2e: --%s: %d must be at least 1", f.name, f.v)
		}
	}
	switch {
	case c.cfg.Rate < 0:
		return usagef("bench e2e: --rate: %v must not be negative", c.cfg.Rate)
	case c.cfg.TimeScale <= 0:
		return usagef("bench e2e: --time-scale: %v must be positive", c.cfg.TimeScale)
	case c.cfg.RoundEvery <= 0:
		return usagef("bench e2e: --round-every: %v must be positive", c.cfg.RoundEvery)
	case c.cfg.Drain <= 0:
		return usagef("bench e2e: --drain: %v must be positive", c.cfg.Drain)
	case c.cfg.Settle <= 0:
		return usagef("bench e2e: --settle: %v must be positive", c.cfg.Settle)
	}
	return nil
}

func (c *benchE2ECmd) run(ctx context.Context, m *Main) error {
	cfg := c.cfg
	cfg.Serve = func(ctx context.Context, flags []string, log *slog.Logger) error {
		s := NewMain(log)
		s.Stdout, s.Stderr = io.Discard, io.Discard
		if err := s.ParseFlags(append([]string{"serve"}, flags...)); err != nil {
			return err
		}
		return s.Run(ctx)
	}
	// The files asked for: the service's log, the profiles and the trace.
	for _, out := range []struct {
		path string
		to   *io.Writer
	}{{c.serviceLog, &cfg.ServiceLog}, {c.cpuprofile, &cfg.CPUProfile}, {c.trace, &cfg.Trace}, {c.mutexprof, &cfg.MutexProfile}, {c.allocprof, &cfg.AllocProfile}} {
		if out.path == "" {
			continue
		}
		f, err := os.Create(out.path)
		if err != nil {
			return fmt.Errorf("bench e2e: %w", err)
		}
		defer f.Close()
		*out.to = f
	}
	var b *bar
	stage := ""
	cfg.Progress = func(s string, done, total int) {
		if s != stage {
			if b != nil {
				b.finish()
			}
			stage, b = s, newBar(m.Stderr, "bench e2e: "+s, "")
		}
		b.set(float64(done), float64(total))
	}
	res, err := e2e.Run(ctx, cfg)
	if b != nil {
		b.finish()
	}
	if err != nil {
		return fmt.Errorf("bench e2e: %w", err)
	}
	if c.json {
		line, err := json.Marshal(res)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(m.Stdout, "%s\n", line)
		return err
	}
	_, err = io.WriteString(m.Stdout, e2eReport(res))
	return err
}

// The goals of the throughput issue.
const (
	goalOrdersPerS = 2000
	goalP99        = e2e.SlowOfferMs * time.Millisecond
	goalPingsPerS  = 50_000
)

// e2eReport formats a result for people.
func e2eReport(r e2e.Result) string {
	var sb strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&sb, format+"\n", args...) }
	p("orders placed        %d in %.1f s, %.0f/s acknowledged by Kafka", r.Orders, r.PlacingSec, r.PlacedPerS)
	p("orders offered       %d (%d not within the drain), %d rounds", r.Offered, r.NotOffered, r.Rounds)
	p("orders_per_s         %.0f  placement to persisted offer, over %.1f s from the first offer to the last", r.OrdersPerS, r.OfferSpanSec)
	p("sustained            %.0f orders/s  offered in the busiest %.0f s", r.SustainedPerS, r.SustainedSec)
	p("offer latency        p50 %s, p99 %s, max %.0f ms  (over every order placed); %d orders (%.2f%%) later than %d ms or never",
		ms(r.OfferLatencyP50Ms), ms(r.OfferLatencyP99Ms), r.OfferLatencyMaxMs, r.SlowOffers, 100*float64(r.SlowOffers)/float64(max(r.Orders, 1)), e2e.SlowOfferMs)
	if len(r.Windows) > 0 {
		p("by placement time    from   placed  offered  p50 ms  p99 ms  offers/s  recorded p50/p99 ms")
		for _, w := range r.Windows {
			p("                     %4.0fs  %6d  %7d  %6s  %6s  %8.0f  %s / %s", w.FromSec, w.Placed, w.Offered, ms(w.P50Ms), ms(w.P99Ms), w.PerS,
				ms(w.RecordedP50Ms), ms(w.RecordedP99Ms))
		}
	}
	p("pings_per_s          %.0f  into the index (%d of %d pings handled, %d dead-lettered)", r.PingsPerS, r.PingsHandled, r.Pings, r.PingsDeadLettered)
	p("lost / duplicated    %d / %d  (%d events read twice; intake handled %d, dead-lettered %d)", r.Lost, r.Duplicated, r.EventCopies, r.IntakeHandled, r.IntakeDeadLettered)
	if r.Untaken > 0 || r.Unpublished > 0 {
		p("                     NOT FINAL: by the end the intake had not taken %d orders and the outbox held %d events; lost counts only what is missing beyond those",
			r.Untaken, r.Unpublished)
	}
	p("fleet                %d riders, time scale %g, a round every %.0f ms", r.Riders, r.TimeScale, r.RoundEveryMs)
	p("host                 %s", r.Host)
	if r.CPUSpanSec > 0 {
		p("cpu                  this process %.2f cores (%.0f µs an order), host %.2f cores busy, over %.1f s from the first order to the last offer",
			r.ProcessCPUSec/r.CPUSpanSec, r.ProcessCPUSec/float64(max(r.Orders, 1))*1e6, r.HostCores, r.CPUSpanSec)
	}
	if r.HeapObjects > 0 {
		p("heap at the end      %.2f million objects, %.0f MB live, after a full collection", float64(r.HeapObjects)/1e6, r.HeapLiveMB)
	}
	if r.KafkaRecordsPerS > 0 {
		p("kafka baseline       %.0f records/s (%.1f MB/s) of %d bytes, avg %.0f ms, max %.0f ms  (ProducerPerformance, %d records, acks=all)",
			r.KafkaRecordsPerS, r.KafkaMBPerS, r.KafkaRecordSize, r.KafkaAvgLatencyMs, r.KafkaMaxLatencyMs, r.KafkaRecords)
	}
	if r.PostgresRowsPerS > 0 {
		p("postgres baseline    %.0f rows/s  (COPY of %d order rows, batches of 1000)", r.PostgresRowsPerS, r.PostgresRows)
	}
	if r.RatioKafka > 0 || r.RatioPostgres > 0 {
		p("service / baselines  %.4f of Kafka, %.4f of PostgreSQL", r.RatioKafka, r.RatioPostgres)
	}
	if r.ServiceWarnings+r.ServiceErrors > 0 {
		p("service log          %d warnings, %d errors, first:", r.ServiceWarnings, r.ServiceErrors)
		for _, l := range r.ServiceLog {
			p("                       %s", l)
		}
	}
	p("wall                 %.1f s", r.WallSec)
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	p("goal                 %d orders/s for 60 s: %s; p99 under %v: %s; %d pings/s: %s",
		goalOrdersPerS, met(r.SustainedPerS >= goalOrdersPerS && r.SustainedSec >= 60),
		goalP99, met(r.OfferLatencyP99Ms >= 0 && r.OfferLatencyP99Ms < float64(goalP99.Milliseconds())),
		goalPingsPerS, met(r.PingsPerS >= goalPingsPerS))
	return sb.String()
}

// ms formats a latency percentile; -1 is one that falls on an order never
// offered.
func ms(v float64) string {
	if v < 0 {
		return "never"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}
