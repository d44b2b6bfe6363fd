// Package e2e is the end-to-end throughput benchmark of the service: it
// starts serve on a topic prefix and a PostgreSQL schema of its own, puts
// orders on orders.placed and riders' pings on riders.locations as fast as
// the broker takes them, and reads orders.events with kcat, an independent
// client, to time each order from placement to its first persisted offer.
// Beside it, it measures the same broker with Kafka's own
// ProducerPerformance tool and the same database with a plain COPY, so
// that the service's figures can be read against the limits of what it
// runs on.
package e2e

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"zhengxiang/bench/festival"
	"zhengxiang/orders"
	"zhengxiang/orders/kafka"
)

// ServeFunc runs the service, as `zhengxiang serve` with the given flags
// (without the command's name), until ctx is done; it logs to log. The
// benchmark runs it in a goroutine of its own.
type ServeFunc func(ctx context.Context, flags []string, log *slog.Logger) error

// Defaults of Config.
const (
	DefaultOrders = 136_500 // 65 s at DefaultRate
	// DefaultRate is 5% above the goal of 2,000 orders a second: placed at
	// exactly the goal, a dispatcher that keeps pace offers 2,000 a second
	// give or take a few, and the busiest 60 s fall either side of it by
	// chance; above it, keeping pace shows the goal met with a margin.
	DefaultRate = 2100
	// DefaultRiders puts riders enough around every store for the whole
	// peak: with one rider an order, the riders near the busiest stores
	// are all out by the end of the peak, and its last orders wait for a
	// rider to come back, which is supply, not the dispatcher's speed.
	DefaultRiders        = 200_000
	DefaultPingsPerOrder = 25 // 52,500 pings/s beside 2,100 orders/s, above the 50,000 asked
	DefaultProducers     = 4
	DefaultBatch         = 500
	DefaultTimeScale     = 1
	DefaultRoundEvery    = 250 * time.Millisecond
	DefaultDrain         = time.Minute
	DefaultSettle        = 30 * time.Second
	// maxRiders is the largest fleet a run puts on shift.
	maxRiders = 999_999
)

// Config sets up a run. Zero fields take the defaults.
type Config struct {
	// Brokers and PGURL are the Kafka cluster and the PostgreSQL database;
	// required. The run creates its own topics (a random prefix) and its
	// own schema, and removes them afterwards unless Keep.
	Brokers []string
	PGURL   string

	// Orders is the number of orders placed; Riders the simulated fleet
	// that serve puts on shift (F0001...), whose pings the run also sends.
	Orders, Riders int
	// Rate is the orders per second placed; 0 places them as fast as the
	// broker acknowledges them.
	Rate float64
	// Pings is the number of rider pings sent to riders.locations beside
	// the orders, at the pace of the orders when Rate is set; 0 means
	// DefaultPingsPerOrder per order, -1 none.
	Pings int
	// Producers is the number of goroutines placing orders; Batch the
	// orders of one write.
	Producers, Batch int
	// Stores is the number of festival stores serve registers and the
	// orders go to; Seed draws the stores, the fleet and the orders.
	Stores int
	Seed   int64
	// TimeScale is serve's --time-scale: the fleet rides this many times
	// faster than real time, so that riders come back for more orders.
	TimeScale float64
	// RoundEvery is the wall-clock time between two dispatch rounds.
	RoundEvery time.Duration
	// Drain is how long after the last order was placed the run waits for
	// the offers still missing.
	Drain time.Duration
	// Settle is how much longer the run then waits for the intake to take
	// the orders it has not taken yet, so that lost and duplicated orders
	// can be counted.
	Settle time.Duration

	// KafkaBin is deploy/kafka.sh (ZX_KAFKA_BIN), whose `tool` verb runs
	// ProducerPerformance and deletes the run's topics; without it the
	// Kafka baseline is skipped and the topics stay.
	KafkaBin string
	// Kcat is the kcat program that reads orders.events ("kcat" on PATH
	// when empty).
	Kcat string
	// NoBaselines skips the Kafka and PostgreSQL baselines.
	NoBaselines bool
	// Keep leaves the topics and the schema in place, for a look after.
	Keep bool

	// Serve starts the service; required.
	Serve ServeFunc
	// ServiceLog receives the service's log at level Info and above (nil:
	// only warnings and errors are counted, see Result.ServiceWarnings).
	ServiceLog io.Writer
	// CPUProfile, when set, receives a CPU profile of this process (the
	// service and the benchmark's clients) while the orders are placed and
	// offered.
	CPUProfile io.Writer
	// MutexProfile, when set, receives the contention on the process's
	// mutexes over the same span: where goroutines waited for a lock, by
	// the code that held it.
	MutexProfile io.Writer
	// AllocProfile, when set, receives the process's allocations (the
	// pprof "allocs" profile) from its start to the end of the drain; the
	// placing's stacks are told apart from serve's start by their callers.
	AllocProfile io.Writer
	// Trace, when set, receives an execution trace (runtime/trace) of the
	// first TraceFor of the placing, TraceFor defaulting to 30 s.
	Trace    io.Writer
	TraceFor time.Duration
	// Progress, when set, is called a few times a second with the stage
	// and how far it is, one call at a time.
	Progress func(stage string, done, total int)
}

// Validate checks c and fills its defaults.
func (c *Config) Validate() error {
	if len(c.Brokers) == 0 {
		return fmt.Errorf("e2e: no Kafka brokers (--kafka or %s)", kafka.EnvBrokers)
	}
	if c.PGURL == "" {
		return errors.New("e2e: no PostgreSQL URL (--pg or ZX_PG_URL)")
	}
	if c.Serve == nil {
		return errors.New("e2e: no service to run")
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"orders", c.Orders}, {"riders", c.Riders}, {"producers", c.Producers}, {"batch", c.Batch}, {"stores", c.Stores}} {
		if f.v < 0 {
			return fmt.Errorf("e2e: %s: %d is negative", f.name, f.v)
		}
	}
	if c.Riders > maxRiders {
		return fmt.Errorf("e2e: riders: %d is more than the %d the run puts on shift at most", c.Riders, maxRiders)
	}
	if c.Pings < -1 || c.Rate < 0 || math.IsNaN(c.Rate) || c.TimeScale < 0 || c.RoundEvery < 0 || c.Drain < 0 || c.Settle < 0 {
		return errors.New("e2e: pings, rate, time scale, round interval, drain and settle must not be negative")
	}
	c.Orders = cmp.Or(c.Orders, DefaultOrders)
	c.Riders = cmp.Or(c.Riders, DefaultRiders)
	c.Producers = cmp.Or(c.Producers, DefaultProducers)
	if c.Batch == 0 {
		c.Batch = DefaultBatch
		if c.Rate > 0 {
			// About 20 ms of orders at a time.
			c.Batch = max(1, min(DefaultBatch, int(c.Rate/50)))
		}
	}
	switch c.Pings {
	case 0:
		c.Pings = DefaultPingsPerOrder * c.Orders
	case -1:
		c.Pings = 0
	}
	c.Stores = cmp.Or(c.Stores, festival.DefaultStores)
	c.TimeScale = cmp.Or(c.TimeScale, DefaultTimeScale)
	c.RoundEvery = cmp.Or(c.RoundEvery, DefaultRoundEvery)
	c.Drain = cmp.Or(c.Drain, DefaultDrain)
	c.Settle = cmp.Or(c.Settle, DefaultSettle)
	c.Kcat = cmp.Or(c.Kcat, "kcat")
	return nil
}

// Result is what a run measured. Rates are per second of wall-clock time;
// latencies in milliseconds.
type Result struct {
	Orders int `json:"orders"`
	Riders int `json:"riders"`
	// OrdersPerS is the orders offered per second, from the first offer
	// read off orders.events to the last.
	OrdersPerS float64 `json:"orders_per_s"`
	// SustainedPerS is the most orders offered in any SustainedSec
	// seconds (60), per second: with orders placed at a steady rate, what
	// the service sustains for a minute.
	SustainedPerS float64 `json:"sustained_per_s"`
	SustainedSec  float64 `json:"sustained_seconds"`
	// Offer latencies: from the moment the benchmark placed an order to
	// the arrival of the order's first OFFERED event, which the outbox
	// relay publishes only once the offer is committed in PostgreSQL.
	// The percentiles are over every order placed, an order never offered
	// counting as later than any; a percentile that falls on one is -1.
	OfferLatencyP50Ms float64 `json:"offer_latency_p50_ms"`
	OfferLatencyP99Ms float64 `json:"offer_latency_p99_ms"`
	OfferLatencyMaxMs float64 `json:"offer_latency_max_ms"` // of the orders offered
	// SlowOffers counts the orders offered later than SlowOfferMs after
	// placement, or never: a p99 under SlowOfferMs is fewer than 1% of them.
	SlowOffers int `json:"slow_offers"`
	// Windows follow the run in slices of placement time: the orders
	// placed in each and their offer latencies.
	Windows []Window `json:"windows,omitempty"`
	// PingsPerS is the rate at which serve's riders.locations consumer
	// handed the benchmark's pings to the engine's index.
	PingsPerS float64 `json:"pings_per_s"`
	// Lost counts orders placed without both a row in the orders table and
	// an ORDER_CREATED event; Duplicated orders with more than one row or
	// more than one order id among their ORDER_CREATED events. When the
	// intake has not taken every order by the end, Lost counts only the
	// orders missing beyond the Untaken ones, and the creations missing
	// beyond those still in the outbox.
	Lost       int `json:"lost"`
	Duplicated int `json:"duplicated"`
	Untaken    int `json:"untaken"`
	// Unpublished counts the outbox rows the relay had not published by
	// the end; Lost is final only when Untaken and Unpublished are 0.
	Unpublished int     `json:"unpublished"`
	WallSec     float64 `json:"wall_seconds"`

	Offered    int `json:"offered"`     // orders with an OFFERED event
	NotOffered int `json:"not_offered"` // placed, but no offer within the drain
	// PlacedPerS is the rate at which the brokers acknowledged the orders.
	PlacedPerS float64 `json:"placed_per_s"`
	PlacingSec float64 `json:"placing_seconds"`
	// OfferSpanSec is the time from the first offer to the last first
	// offer.
	OfferSpanSec float64 `json:"offer_span_seconds"`
	// IntakeHandled and IntakeDeadLettered are serve's intake counters.
	IntakeHandled      int64 `json:"intake_handled"`
	IntakeDeadLettered int64 `json:"intake_dead_lettered"`
	Pings              int   `json:"pings"`
	PingsHandled       int64 `json:"pings_handled"`
	PingsDeadLettered  int64 `json:"pings_dead_lettered"`
	// EventCopies counts events read more than once (the same order and
	// seq), which the contract allows after a retried write.
	EventCopies int `json:"event_copies"`
	Rounds      int `json:"rounds"`
	// ServiceWarnings and ServiceErrors count the service's log records
	// at those levels; ServiceLog holds the first few distinct messages.
	ServiceWarnings int      `json:"service_warnings"`
	ServiceErrors   int      `json:"service_errors"`
	ServiceLog      []string `json:"service_log,omitempty"`

	TimeScale    float64 `json:"time_scale"`
	RoundEveryMs float64 `json:"round_every_ms"`
	// Host is the machine the run shared with the broker and the
	// database: its CPUs and how its kernel writes dirty pages out, which
	// decides whether the WAL flushes of PostgreSQL wait behind bursts of
	// Kafka's and PostgreSQL's data files (see hostSummary).
	Host string  `json:"host"`
	Rate float64 `json:"rate"`
	// ProcessCPUSec is the CPU time of this process, the service with the
	// benchmark's load (its pings, orders and simulated fleet), from the
	// first order placed until every order is offered and every ping
	// handled (or the drain ends): CPUSpanSec of wall time. HostCores is
	// how many of the host's CPUs were busy over that span on average,
	// the broker's and the database's work included.
	ProcessCPUSec float64 `json:"process_cpu_seconds"`
	HostCores     float64 `json:"host_cores_busy"`
	CPUSpanSec    float64 `json:"cpu_span_seconds"`
	// HeapObjects and HeapLiveMB are what this process holds once every
	// order is offered, after a full collection: the service's state (a
	// city's riders, the orders in flight) with the benchmark's. Every mark
	// phase of the collector while the orders flow marks at least that.
	HeapObjects uint64  `json:"heap_objects"`
	HeapLiveMB  float64 `json:"heap_live_mb"`

	// The baselines, on the same broker and database (zero when skipped).
	KafkaRecords      int     `json:"kafka_records,omitempty"`
	KafkaRecordSize   int     `json:"kafka_record_size,omitempty"`
	KafkaRecordsPerS  float64 `json:"kafka_records_per_s,omitempty"`
	KafkaMBPerS       float64 `json:"kafka_mb_per_s,omitempty"`
	KafkaAvgLatencyMs float64 `json:"kafka_avg_latency_ms,omitempty"`
	KafkaMaxLatencyMs float64 `json:"kafka_max_latency_ms,omitempty"`
	PostgresRows      int     `json:"postgres_rows,omitempty"`
	PostgresRowsPerS  float64 `json:"postgres_rows_per_s,omitempty"`
	// RatioKafka and RatioPostgres are SustainedPerS over the baselines'
	// rates.
	RatioKafka    float64 `json:"ratio_kafka,omitempty"`
	RatioPostgres float64 `json:"ratio_postgres,omitempty"`
}

// Window is what became of the orders placed in WindowSec seconds of a
// run, from FromSec after the first was placed.
type Window struct {
	FromSec float64 `json:"from_s"`
	Placed  int     `json:"placed"`
	Offered int     `json:"offered"`
	P50Ms   float64 `json:"p50_ms"`
	P99Ms   float64 `json:"p99_ms"`
	MaxMs   float64 `json:"max_ms"` // of those offered
	// RecordedP50Ms and RecordedP99Ms are the times from placement to the
	// orders' ORDER_CREATED events: the intake's share of the latency.
	RecordedP50Ms float64 `json:"recorded_p50_ms"`
	RecordedP99Ms float64 `json:"recorded_p99_ms"`
	PerS          float64 `json:"offered_per_s"`
	InWindow      int     `json:"offers_in_window"` // first offers that arrived in the window, of any order
}

// WindowSec is the length of a Result's windows.
const WindowSec = 10

// Run runs the benchmark and returns what it measured. It stops with
// ctx's error.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if _, err := exec.LookPath(cfg.Kcat); err != nil {
		return Result{}, fmt.Errorf("e2e: kcat reads orders.events and is not installed (deploy/services.sh up installs it): %w", err)
	}
	started := time.Now()
	r := &run{cfg: cfg, id: randomHex(4)}
	r.prefix = "zxbench" + r.id + "."
	r.schema = "zxbench_" + r.id
	r.res = Result{Host: hostSummary(), Orders: cfg.Orders, Riders: cfg.Riders, Pings: cfg.Pings, TimeScale: cfg.TimeScale,
		RoundEveryMs: float64(cfg.RoundEvery) / 1e6, Rate: cfg.Rate}
	defer r.cleanup()
	if err := r.setup(ctx); err != nil {
		return Result{}, err
	}
	if !cfg.NoBaselines {
		if err := r.baselines(ctx); err != nil {
			return Result{}, err
		}
	}
	if err := r.measure(ctx); err != nil {
		return Result{}, err
	}
	r.res.WallSec = time.Since(started).Seconds()
	if r.res.KafkaRecordsPerS > 0 {
		r.res.RatioKafka = r.res.SustainedPerS / r.res.KafkaRecordsPerS
	}
	if r.res.PostgresRowsPerS > 0 {
		r.res.RatioPostgres = r.res.SustainedPerS / r.res.PostgresRowsPerS
	}
	return r.res, nil
}

// run is the state of one benchmark run.
type run struct {
	cfg    Config
	id     string // random, in the names of the topics, the schema and the orders
	prefix string // of the topics
	schema string
	url    string // PGURL with the schema first in its search_path
	topics kafka.Topics
	perf   string // the topic of ProducerPerformance
	res    Result

	made      bool         // the schema and topics exist
	placed    *drawnOrders // each order is made as it goes out
	stage     atomic.Value // string
	stageDone atomic.Int64
	stageMax  atomic.Int64
	// progressMu keeps the calls of Config.Progress one at a time.
	progressMu sync.Mutex
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// setStage reports a new stage of total steps.
func (r *run) setStage(name string, total int) {
	r.stage.Store(name)
	r.stageDone.Store(0)
	r.stageMax.Store(int64(total))
	r.progress()
}

func (r *run) progress() {
	if r.cfg.Progress == nil {
		return
	}
	r.progressMu.Lock()
	defer r.progressMu.Unlock()
	if s, ok := r.stage.Load().(string); ok {
		r.cfg.Progress(s, int(r.stageDone.Load()), int(r.stageMax.Load()))
	}
}

// setup creates the schema and the topics and draws the orders.
func (r *run) setup(ctx context.Context) error {
	r.setStage("setting up", 1)
	var err error
	if r.url, err = createSchema(ctx, r.cfg.PGURL, r.schema); err != nil {
		return err
	}
	r.made = true
	kc := kafka.Config{Brokers: r.cfg.Brokers, TopicPrefix: r.prefix}
	if err := kc.Validate(); err != nil {
		return fmt.Errorf("e2e: %w", err)
	}
	r.topics = kc.Topics
	r.perf = r.prefix + "perf"
	specs := append(r.topics.Specs(0), kafka.TopicSpec{Name: r.perf})
	tctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := kafka.EnsureTopics(tctx, r.cfg.Brokers, specs); err != nil {
		return fmt.Errorf("e2e: topics: %w", err)
	}
	r.placed = drawOrders(r.cfg.Seed, r.cfg.Stores, r.cfg.Orders, r.id)
	return nil
}

// cleanup drops the schema and deletes the topics, unless Keep.
func (r *run) cleanup() {
	if !r.made || r.cfg.Keep {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = dropSchema(ctx, r.cfg.PGURL, r.schema)
	if r.cfg.KafkaBin != "" {
		_ = deleteTopics(ctx, r.cfg.KafkaBin, r.cfg.Brokers, r.prefix)
	}
}

// measure runs the service and the load, and fills the service's figures.
func (r *run) measure(ctx context.Context) error {
	cfg := r.cfg
	r.setStage("starting serve", cfg.Riders)
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	logs := newLogCounter(cfg.ServiceLog)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	svc := &service{done: make(chan struct{})}
	flags := []string{
		"--kafka", strings.Join(cfg.Brokers, ","), "--pg", r.url, "--topic-prefix", r.prefix, "--group", r.prefix + "dispatch",
		"--fleet", strconv.Itoa(cfg.Riders), "--stores", strconv.Itoa(cfg.Stores), "--seed", strconv.FormatInt(cfg.Seed, 10),
		// The run sends the riders' positions itself when it sends pings.
		"--fleet-ping-every", fleetPings(cfg),
		"--time-scale", strconv.FormatFloat(cfg.TimeScale, 'g', -1, 64),
		"--round-every", time.Duration(float64(cfg.RoundEvery) * cfg.TimeScale).String(),
		"--http-addr", addr,
	}
	go func() {
		svc.err = cfg.Serve(sctx, flags, slog.New(logs))
		close(svc.done)
	}()
	defer func() {
		stop()
		select {
		case <-svc.done:
		case <-time.After(30 * time.Second):
		}
		r.res.ServiceWarnings, r.res.ServiceErrors, r.res.ServiceLog = logs.counts()
	}()
	st := &statsPoller{url: "http://" + addr + "/stats"}
	if err := st.waitReady(ctx, svc, cfg.Riders, func(n int) { r.stageDone.Store(int64(n)); r.progress() }); err != nil {
		return err
	}
	riders, err := loadRiders(ctx, r.url)
	if err != nil {
		return err
	}
	if len(riders) < cfg.Riders {
		return fmt.Errorf("e2e: serve put %d riders on shift, want %d", len(riders), cfg.Riders)
	}

	// Read orders.events from the beginning before anything is placed.
	tr := newTracker(r.id, r.placed.len())
	ectx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	events := make(chan error, 1)
	go func() {
		events <- readEvents(ectx, cfg.Kcat, cfg.Brokers, r.topics.Events, tr.event)
	}()

	pctx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	go st.poll(pctx, 200*time.Millisecond)

	prod, err := kafka.NewProducer(kafka.Config{Brokers: cfg.Brokers, TopicPrefix: r.prefix,
		BatchSize: cfg.Batch})
	if err != nil {
		return fmt.Errorf("e2e: %w", err)
	}
	defer prod.Close()
	// The pings go out in writes of their own, as many riders' apps would
	// send them, each in one request per partition.
	pingProd, err := kafka.NewProducer(kafka.Config{Brokers: cfg.Brokers, TopicPrefix: r.prefix,
		BatchSize: pingBatch})
	if err != nil {
		return fmt.Errorf("e2e: %w", err)
	}
	defer pingProd.Close()

	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return fmt.Errorf("e2e: cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if cfg.Trace != nil {
		if err := trace.Start(cfg.Trace); err != nil {
			return fmt.Errorf("e2e: trace: %w", err)
		}
		stop := sync.OnceFunc(trace.Stop)
		defer stop()
		time.AfterFunc(cmp.Or(cfg.TraceFor, 30*time.Second), stop)
	}
	if cfg.MutexProfile != nil {
		runtime.SetMutexProfileFraction(1)
		defer runtime.SetMutexProfileFraction(0)
	}

	// Place the orders and send the pings, both at full speed (or the
	// orders at the rate asked).
	r.setStage("placing orders", r.placed.len())
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	go func() {
		for {
			select {
			case <-pctx.Done():
				return
			case <-tick.C:
				if s, _ := r.stage.Load().(string); s == "waiting for offers" {
					r.stageDone.Store(int64(tr.offeredCount()))
				}
				r.progress()
			}
		}
	}()
	g, gctx := errgroup.WithContext(ctx)
	cpu0 := readCPU()
	first := time.Now()
	g.Go(func() error { return r.place(gctx, prod, tr, first) })
	var pingsDone time.Time
	if cfg.Pings > 0 {
		g.Go(func() error {
			// Beside orders placed at a steady rate, the pings keep pace:
			// the last goes out with the last order.
			rate := 0.0
			if cfg.Rate > 0 {
				rate = float64(cfg.Pings) * cfg.Rate / float64(cfg.Orders)
			}
			err := sendPings(gctx, pingProd, riders, cfg.Pings, rate, first, cfg.Seed)
			pingsDone = time.Now()
			return err
		})
	}
	var placingErr error
	placed := make(chan struct{})
	go func() { placingErr = g.Wait(); close(placed) }()
	select {
	case <-placed:
	case <-svc.done:
		return fmt.Errorf("e2e: serve stopped while the orders were placed: %v", svc.err)
	}
	if placingErr != nil {
		return placingErr
	}
	last := tr.lastSent()
	r.res.PlacingSec = last.Sub(first).Seconds()
	if r.res.PlacingSec > 0 {
		r.res.PlacedPerS = float64(r.placed.len()) / r.res.PlacingSec
	}

	// Wait for the offers, then for every order's creation.
	r.setStage("waiting for offers", r.placed.len())
	deadline := last.Add(cfg.Drain)
	if !pingsDone.IsZero() && pingsDone.After(last) {
		deadline = pingsDone.Add(cfg.Drain)
	}
	wait := func(done func() bool, until time.Time) error {
		for !done() && time.Now().Before(until) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-svc.done:
				return fmt.Errorf("e2e: serve stopped: %v", svc.err)
			case err := <-events:
				return fmt.Errorf("e2e: reading %s: %v", r.topics.Events, err)
			case <-time.After(50 * time.Millisecond):
			}
		}
		return nil
	}
	if err := wait(func() bool { return tr.offeredCount() == r.placed.len() }, deadline); err != nil {
		return err
	}
	if err := wait(func() bool {
		s := st.last()
		return s.Locations != nil && s.Locations.Handled+s.Locations.DeadLettered >= int64(cfg.Pings)
	}, deadline); err != nil {
		return err
	}
	cpu1 := readCPU()
	r.res.ProcessCPUSec, r.res.HostCores = cpuUse(cpu0, cpu1, runtime.NumCPU())
	r.res.CPUSpanSec = cpu1.at.Sub(cpu0.at).Seconds()
	if tr.createdCount() < r.placed.len() {
		r.setStage("waiting for the intake", r.placed.len())
		r.stageDone.Store(int64(tr.createdCount()))
		if err := wait(func() bool {
			r.stageDone.Store(int64(tr.createdCount()))
			return tr.createdCount() == r.placed.len()
		}, time.Now().Add(cfg.Settle)); err != nil {
			return err
		}
	}
	if cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	if cfg.MutexProfile != nil {
		if err := pprof.Lookup("mutex").WriteTo(cfg.MutexProfile, 0); err != nil {
			return fmt.Errorf("e2e: mutex profile: %w", err)
		}
	}
	if cfg.AllocProfile != nil {
		if err := pprof.Lookup("allocs").WriteTo(cfg.AllocProfile, 0); err != nil {
			return fmt.Errorf("e2e: alloc profile: %w", err)
		}
	}
	objects, live := heapAfterGC()
	r.res.HeapObjects, r.res.HeapLiveMB = objects, float64(live)/(1<<20)
	stopPoll()

	// The record: one row per order key.
	rows, err := countOrders(ctx, r.url, r.id)
	if err != nil {
		return err
	}
	pending, err := outboxPending(ctx, r.url)
	if err != nil {
		return err
	}
	r.fill(tr, st, rows, pending)
	return nil
}

// place writes the orders from cfg.Producers goroutines, in batches; each
// order's placement time is the moment its batch is handed to the writer.
func (r *run) place(ctx context.Context, prod *kafka.Producer, tr *tracker, first time.Time) error {
	cfg := r.cfg
	var next atomic.Int64
	g, ctx := errgroup.WithContext(ctx)
	for range cfg.Producers {
		g.Go(func() error {
			batch := make([]orders.Order, 0, cfg.Batch)
			for {
				lo := int(next.Add(int64(cfg.Batch))) - cfg.Batch
				if lo >= r.placed.len() {
					return nil
				}
				hi := min(lo+cfg.Batch, r.placed.len())
				if cfg.Rate > 0 {
					due := first.Add(time.Duration(float64(lo) / cfg.Rate * float64(time.Second)))
					if d := time.Until(due); d > 0 {
						select {
						case <-ctx.Done():
							return ctx.Err()
						case <-time.After(d):
						}
					}
				}
				now := time.Now()
				batch = batch[:0]
				for i := lo; i < hi; i++ {
					o := r.placed.order(i)
					o.PlacedAt, o.ReadyAt = now, now
					tr.sent(i, now)
					batch = append(batch, o)
				}
				if err := prod.PlaceOrders(ctx, batch...); err != nil {
					return fmt.Errorf("e2e: place orders %d to %d: %w", lo, hi-1, err)
				}
				tr.acked(hi - lo)
				if s, _ := r.stage.Load().(string); s == "placing orders" {
					r.stageDone.Store(int64(tr.ackedCount()))
				}
			}
		})
	}
	return g.Wait()
}

// fill computes the service's figures.
func (r *run) fill(tr *tracker, st *statsPoller, rows map[string]int, pending outbox) {
	res := &r.res
	lat, sent, offers := tr.latencies()
	res.Offered = len(offers)
	res.NotOffered = r.placed.len() - len(offers)
	if len(offers) > 0 {
		res.OfferSpanSec = float64(offers[len(offers)-1]-offers[0]) / 1e9
		if res.OfferSpanSec > 0 {
			res.OrdersPerS = float64(len(offers)) / res.OfferSpanSec
		}
	}
	res.SustainedSec = 60
	res.SustainedPerS = float64(mostWithin(offers, int64(res.SustainedSec*1e9))) / res.SustainedSec
	res.OfferLatencyP50Ms, res.OfferLatencyP99Ms, res.OfferLatencyMaxMs = latencyStats(slices.Clone(lat))
	res.SlowOffers = countOver(lat, SlowOfferMs)
	res.Windows = windows(lat, tr.recorded(), sent, offers)
	res.EventCopies = tr.copies()
	s := st.last()
	noRow, noEvent := 0, 0
	for i := range r.placed.len() {
		n := rows[orderKey(r.id, i)]
		switch {
		case n == 0:
			noRow++
		case !tr.created(i):
			noEvent++
		}
		if n > 1 || tr.createdIDs(i) > 1 {
			res.Duplicated++
		}
	}
	taken := int64(0)
	if s.Intake != nil {
		taken = s.Intake.Handled + s.Intake.DeadLettered
	}
	// An order the intake has not taken yet has no row; a creation still in
	// the outbox has not reached orders.events: neither is lost yet.
	res.Untaken = max(0, r.placed.len()-int(taken))
	res.Unpublished = pending.events
	res.Lost = max(0, noRow-res.Untaken) + max(0, noEvent-pending.creations)
	res.Rounds = s.Engine.Rounds
	if s.Intake != nil {
		res.IntakeHandled, res.IntakeDeadLettered = s.Intake.Handled, s.Intake.DeadLettered
	}
	if s.Locations != nil {
		res.PingsHandled, res.PingsDeadLettered = s.Locations.Handled, s.Locations.DeadLettered
	}
	res.PingsPerS = st.pingRate()
}

// fleetPings is serve's --fleet-ping-every: none of its own when the run
// sends the riders' positions, every 30 s of the service's clock otherwise.
func fleetPings(cfg Config) string {
	if cfg.Pings > 0 {
		return "0s"
	}
	return "30s"
}

// service is the service running in a goroutine: done is closed when it
// returns, err then holds what it returned.
type service struct {
	done chan struct{}
	err  error
}

// freeAddr returns a loopback address with a port free now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("e2e: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// percentile returns the q-quantile of sorted values (nearest rank).
func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	v := sorted[max(0, min(i, len(sorted)-1))]
	if math.IsInf(v, 1) {
		return -1
	}
	return v
}

// SlowOfferMs is the offer latency Result.SlowOffers counts the orders
// beyond: the goal's p99.
const SlowOfferMs = 2000

// countOver counts the latencies above ms, an order never offered (+Inf)
// among them.
func countOver(lat []float64, ms float64) int {
	n := 0
	for _, l := range lat {
		if l > ms {
			n++
		}
	}
	return n
}

// latencyStats sorts lat and returns its p50, p99 (-1 where it falls on an
// order never offered) and the largest finite latency.
func latencyStats(lat []float64) (p50, p99, maxMs float64) {
	slices.Sort(lat)
	for i := len(lat) - 1; i >= 0; i-- {
		if !math.IsInf(lat[i], 1) {
			maxMs = lat[i]
			break
		}
	}
	return percentile(lat, 0.50), percentile(lat, 0.99), maxMs
}

// mostWithin returns the most of the sorted times ts that fall in any span
// of d.
func mostWithin(ts []int64, d int64) int {
	best, lo := 0, 0
	for hi, t := range ts {
		for t-ts[lo] >= d {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// windows slices a run by placement time into windows of WindowSec; lat
// and rec are the orders' offer and creation latencies.
func windows(lat, rec []float64, sent, offers []int64) []Window {
	if len(sent) == 0 {
		return nil
	}
	first := slices.Min(sent)
	const w = int64(WindowSec * 1e9)
	byWin, recByWin := map[int][]float64{}, map[int][]float64{}
	n := 0
	for i, at := range sent {
		k := int((at - first) / w)
		byWin[k] = append(byWin[k], lat[i])
		recByWin[k] = append(recByWin[k], rec[i])
		n = max(n, k+1)
	}
	out := make([]Window, n)
	for k := range out {
		ws := &out[k]
		ws.FromSec = float64(k * WindowSec)
		ls := byWin[k]
		ws.Placed = len(ls)
		for _, l := range ls {
			if !math.IsInf(l, 1) {
				ws.Offered++
			}
		}
		ws.P50Ms, ws.P99Ms, ws.MaxMs = latencyStats(ls)
		ws.RecordedP50Ms, ws.RecordedP99Ms, _ = latencyStats(recByWin[k])
		from, to := first+int64(k)*w, first+int64(k+1)*w
		lo, _ := slices.BinarySearch(offers, from)
		hi, _ := slices.BinarySearch(offers, to)
		ws.InWindow = hi - lo
		ws.PerS = float64(ws.InWindow) / WindowSec
	}
	return out
}

// logCounter is a slog.Handler that counts the service's warnings and
// errors, keeps the first few distinct messages, and passes Info and above
// to a writer when one is given.
type logCounter struct {
	out  slog.Handler
	mu   *sync.Mutex
	warn *int
	errs *int
	seen map[string]bool
	kept *[]string
}

const keptMessages = 8

func newLogCounter(w io.Writer) *logCounter {
	c := &logCounter{mu: &sync.Mutex{}, warn: new(int), errs: new(int), seen: map[string]bool{}, kept: new([]string)}
	if w != nil {
		c.out = slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})
	}
	return c
}

func (c *logCounter) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || c.out != nil && l >= slog.LevelInfo
}

func (c *logCounter) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level >= slog.LevelWarn {
		c.mu.Lock()
		if rec.Level >= slog.LevelError {
			*c.errs++
		} else {
			*c.warn++
		}
		msg := rec.Level.String() + " " + rec.Message
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" || a.Key == "component" {
				msg += " " + a.String()
			}
			return true
		})
		if !c.seen[msg] && len(*c.kept) < keptMessages {
			c.seen[msg] = true
			*c.kept = append(*c.kept, msg)
		}
		c.mu.Unlock()
	}
	if c.out != nil {
		return c.out.Handle(ctx, rec)
	}
	return nil
}

func (c *logCounter) WithAttrs(as []slog.Attr) slog.Handler {
	d := *c
	if c.out != nil {
		d.out = c.out.WithAttrs(as)
	}
	return &d
}

func (c *logCounter) WithGroup(name string) slog.Handler {
	d := *c
	if c.out != nil {
		d.out = c.out.WithGroup(name)
	}
	return &d
}

func (c *logCounter) counts() (warnings, errs int, kept []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return *c.warn, *c.errs, slices.Clone(*c.kept)
}

// hostSummary describes the CPUs and the kernel's write-back settings. With
// Linux's defaults (vm.dirty_background_ratio 10 %, vm.dirty_expire_centisecs
// 3000) the pages a run dirties pile up for 30 s and go out in one burst of
// hundreds of MB, during which PostgreSQL's WAL flushes queue behind them.
func hostSummary() string {
	read := func(name string) string {
		b, err := os.ReadFile("/proc/sys/vm/" + name)
		if err != nil {
			return "?"
		}
		return strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d CPUs; vm.dirty_background_bytes=%s vm.dirty_background_ratio=%s vm.dirty_expire_centisecs=%s",
		runtime.NumCPU(), read("dirty_background_bytes"), read("dirty_background_ratio"), read("dirty_expire_centisecs"))
}
