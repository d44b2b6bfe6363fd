package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"zhengxiang/bench/festival"
	"zhengxiang/orders"
	"zhengxiang/orders/postgres"
)

// minBaseline is the fewest records or rows a baseline writes, so that a
// short run still measures a steady state rather than a warm-up.
const minBaseline = 100_000

// baselines measures the broker with ProducerPerformance (when KafkaBin is
// set) and the database with COPY.
func (r *run) baselines(ctx context.Context) error {
	n := max(r.cfg.Orders, minBaseline)
	all := r.placed.all()
	if r.cfg.KafkaBin != "" {
		size, err := encodedSize(all)
		if err != nil {
			return fmt.Errorf("e2e: encode an order: %w", err)
		}
		r.setStage("baseline: Kafka ProducerPerformance", 1)
		p, err := producerPerformance(ctx, r.cfg.KafkaBin, r.cfg.Brokers, r.perf, n, size)
		if err != nil {
			return err
		}
		r.res.KafkaRecords, r.res.KafkaRecordSize = n, size
		r.res.KafkaRecordsPerS, r.res.KafkaMBPerS = p.recordsPerS, p.mbPerS
		r.res.KafkaAvgLatencyMs, r.res.KafkaMaxLatencyMs = p.avgMs, p.maxMs
	}
	r.setStage("baseline: PostgreSQL COPY", 1)
	// The scratch table is made like the orders table: migrate first.
	if err := postgres.Migrate(ctx, r.url); err != nil {
		return fmt.Errorf("e2e: migrate: %w", err)
	}
	sections := map[string]orders.Section{}
	for _, s := range festival.Stores(r.cfg.Seed, r.cfg.Stores) {
		sections[s.ID] = s.Section
	}
	rate, err := copyOrders(ctx, r.url, all, sections, n)
	if err != nil {
		return err
	}
	r.res.PostgresRows, r.res.PostgresRowsPerS = n, rate
	return nil
}

// perfSummary is the summary line of ProducerPerformance.
type perfSummary struct {
	records     int
	recordsPerS float64
	mbPerS      float64
	avgMs       float64
	maxMs       float64
}

var perfLine = regexp.MustCompile(`(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency`)

// parsePerf finds the summary, the last line of ProducerPerformance's
// reports:
//
//	100000 records sent, 35137.03 records/sec (6.70 MB/sec), 406.11 ms avg latency, 824.00 ms max latency, ...
func parsePerf(out string) (perfSummary, error) {
	ms := perfLine.FindAllStringSubmatch(out, -1)
	if len(ms) == 0 {
		return perfSummary{}, fmt.Errorf("no summary line in the output of ProducerPerformance")
	}
	m := ms[len(ms)-1]
	var s perfSummary
	var err error
	if s.records, err = strconv.Atoi(m[1]); err != nil {
		return perfSummary{}, err
	}
	for i, f := range []*float64{&s.recordsPerS, &s.mbPerS, &s.avgMs, &s.maxMs} {
		if *f, err = strconv.ParseFloat(m[i+2], 64); err != nil {
			return perfSummary{}, err
		}
	}
	return s, nil
}

// producerPerformance runs Kafka's ProducerPerformance through bin's tool
// verb: n records of size bytes to topic, as fast as it can, every write
// acknowledged by all in-sync replicas as serve's are.
func producerPerformance(ctx context.Context, bin string, brokers []string, topic string, n, size int) (perfSummary, error) {
	cmd := exec.CommandContext(ctx, bin, "tool", "org.apache.kafka.tools.ProducerPerformance",
		"--topic", topic, "--num-records", strconv.Itoa(n), "--record-size", strconv.Itoa(size), "--throughput", "-1",
		"--producer-props", "bootstrap.servers="+strings.Join(brokers, ","), "acks=all")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return perfSummary{}, fmt.Errorf("e2e: %s tool ProducerPerformance: %v\n%s", bin, err, tail(string(out), 10))
	}
	s, err := parsePerf(string(out))
	if err != nil {
		return perfSummary{}, fmt.Errorf("e2e: %v:\n%s", err, tail(string(out), 10))
	}
	if s.records != n {
		return perfSummary{}, fmt.Errorf("e2e: ProducerPerformance sent %d records of %d", s.records, n)
	}
	return s, nil
}

// deleteTopics deletes the run's topics with Kafka's TopicCommand.
func deleteTopics(ctx context.Context, bin string, brokers []string, prefix string) error {
	cmd := exec.CommandContext(ctx, bin, "tool", "org.apache.kafka.tools.TopicCommand",
		"--bootstrap-server", strings.Join(brokers, ","), "--delete", "--topic", regexp.QuoteMeta(prefix)+".*")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("delete topics %s*: %v: %s", prefix, err, tail(string(out), 5))
	}
	return nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
