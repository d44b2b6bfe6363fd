package kafka_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"zhengxiang/orders"
	"zhengxiang/orders/kafka"
	"zhengxiang/orders/orderstest"
)

// The benchmarks below measure the batch consumers on the real broker (ZX_KAFKA_BROKERS), over
// fresh topics of 6 partitions, with handlers that do nothing, in two ways:
//
//   - backlog: b.N messages wait in the topic; the rate is that of the consumer alone, from the
//     first handler call to the last message handled (the group join is left out);
//   - live: the consumer has joined; a producer writes b.N messages, in requests of 1,000 per
//     partition, and the rate runs from the first write to the last message handled, so it
//     includes the producer and the broker on the same machine.
//
// Both report msgs/s, and msgs/batch, the mean number of messages per handler call. Use a fixed
// count for steady numbers, e.g.
//
//	go test -run '^$' -bench 'Batch' -benchtime 200000x ./orders/kafka/

// benchConsumer is what the benchmarks need of Intake and RiderLocations.
type benchConsumer interface {
	Run(context.Context) error
	Partitions() []int
	Stats() kafka.ConsumerStats
}

// benchStream describes the topic and the consumer of a benchmark.
type benchStream struct {
	topic   func(kafka.Config) string
	message func(tb testing.TB, i int) kafkago.Message
	// consumer returns the batch consumer on cfg whose handler calls took with each batch's size.
	consumer func(cfg kafka.Config, took func(n int)) (benchConsumer, error)
}

func BenchmarkIntakeBatch(b *testing.B) {
	points := areaPoints()
	s := benchStream{
		topic: func(c kafka.Config) string { return c.Topics.Placed },
		message: func(tb testing.TB, i int) kafkago.Message {
			o := incoming(fmt.Sprintf("bench-%d", i))
			o.Dropoff = points[i%len(points)]
			b, err := kafka.EncodeOrderPlaced(o, kafka.ContentTypeProtobuf)
			if err != nil {
				tb.Fatal(err)
			}
			return kafkago.Message{Key: []byte(kafka.AreaKey(o.Dropoff)), Value: b,
				Headers: []kafkago.Header{{Key: kafka.HeaderContentType, Value: []byte(kafka.ContentTypeProtobuf)}}}
		},
		consumer: func(cfg kafka.Config, took func(int)) (benchConsumer, error) {
			return kafka.NewIntakeBatch(cfg, func(_ context.Context, os []orders.Order, _ []kafka.Meta) []error {
				took(len(os))
				return nil
			})
		},
	}
	b.Run("backlog", func(b *testing.B) { benchBacklog(b, s) })
	b.Run("live", func(b *testing.B) { benchLive(b, s) })
}

func BenchmarkRiderLocationsBatch(b *testing.B) {
	points := areaPoints()
	s := benchStream{
		topic: func(c kafka.Config) string { return c.Topics.Locations },
		message: func(tb testing.TB, i int) kafkago.Message {
			p := points[i%len(points)]
			l := kafka.Location{RiderID: fmt.Sprintf("r-%05d", i%20_000), Point: p,
				At: orderstest.FestivalStart.Add(time.Duration(i) * time.Millisecond), AccuracyM: 8}
			b, err := kafka.EncodeRiderLocation(l, kafka.ContentTypeProtobuf)
			if err != nil {
				tb.Fatal(err)
			}
			return kafkago.Message{Key: []byte(kafka.AreaKey(p)), Value: b,
				Headers: []kafkago.Header{{Key: kafka.HeaderContentType, Value: []byte(kafka.ContentTypeProtobuf)}}}
		},
		consumer: func(cfg kafka.Config, took func(int)) (benchConsumer, error) {
			return kafka.NewRiderLocationsBatch(cfg, func(_ context.Context, ls []kafka.Location, _ []kafka.Meta) []error {
				took(len(ls))
				return nil
			})
		},
	}
	b.Run("backlog", func(b *testing.B) { benchBacklog(b, s) })
	b.Run("live", func(b *testing.B) { benchLive(b, s) })
}

// benchConfig returns a Config on fresh topics with the defaults of production, but for the
// logger, which only reports warnings.
func benchConfig(b *testing.B) kafka.Config {
	cfg := mustConfig(b, 6)
	cfg.Logger = slog.New(slog.NewTextHandler(tbWriter{b}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg.CommitInterval, cfg.MaxWait, cfg.RetryMin, cfg.RetryMax = 0, 0, 0, 0
	return cfg
}

// benchMessages encodes n messages of s.
func benchMessages(b *testing.B, s benchStream, n int) []kafkago.Message {
	msgs := make([]kafkago.Message, n)
	for i := range msgs {
		msgs[i] = s.message(b, i)
	}
	return msgs
}

// benchWrite writes msgs to topic in requests of up to 1,000 messages per partition.
func benchWrite(tb testing.TB, cfg kafka.Config, topic string, msgs []kafkago.Message) error {
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafkago.Writer{Addr: kafkago.TCP(cfg.Brokers...), Topic: topic, Balancer: kafkago.Murmur2Balancer{},
		RequiredAcks: kafkago.RequireAll, BatchSize: 1000, BatchTimeout: time.Millisecond, Transport: tr}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for chunk := range slices.Chunk(msgs, 6000) {
		if err := w.WriteMessages(ctx, chunk...); err != nil {
			return fmt.Errorf("produce to %s: %w", topic, err)
		}
	}
	return nil
}

// counter counts what a consumer's handler took, and when.
type counter struct {
	want        int64
	n, calls    atomic.Int64
	first, last atomic.Int64 // UnixNano of the first call and of reaching want
	done        chan struct{}
}

func newCounter(want int) *counter { return &counter{want: int64(want), done: make(chan struct{})} }

func (c *counter) took(n int) {
	c.first.CompareAndSwap(0, time.Now().UnixNano())
	c.calls.Add(1)
	if c.n.Add(int64(n)) == c.want {
		c.last.Store(time.Now().UnixNano())
		close(c.done)
	}
}

func (c *counter) wait(b *testing.B) {
	select {
	case <-c.done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("%d of %d messages handled after 5 minutes", c.n.Load(), c.want)
	}
}

func (c *counter) report(b *testing.B, elapsed time.Duration) {
	b.ReportMetric(float64(c.want)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(c.want), "ns/op")
	b.ReportMetric(float64(c.n.Load())/float64(c.calls.Load()), "msgs/batch")
}

func benchBacklog(b *testing.B, s benchStream) {
	b.StopTimer()
	cfg := benchConfig(b)
	if err := benchWrite(b, cfg, s.topic(cfg), benchMessages(b, s, b.N)); err != nil {
		b.Fatal(err)
	}
	cnt := newCounter(b.N)
	c, err := s.consumer(cfg, cnt.took)
	if err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	stop := run(b, c)
	cnt.wait(b)
	b.StopTimer()
	stop()
	cnt.report(b, time.Duration(cnt.last.Load()-cnt.first.Load()))
}

func benchLive(b *testing.B, s benchStream) {
	b.StopTimer()
	cfg := benchConfig(b)
	msgs := benchMessages(b, s, b.N)
	cnt := newCounter(b.N)
	c, err := s.consumer(cfg, cnt.took)
	if err != nil {
		b.Fatal(err)
	}
	stop := run(b, c)
	eventually(b, "the consumer to join", func() bool { return len(c.Partitions()) == 6 })
	time.Sleep(200 * time.Millisecond) // the partition readers connect

	b.StartTimer()
	start := time.Now()
	// The consumer takes the first messages while the last ones are being written.
	if err := benchWrite(b, cfg, s.topic(cfg), msgs); err != nil {
		b.Fatal(err)
	}
	cnt.wait(b)
	b.StopTimer()
	elapsed := time.Since(start)
	stop()
	if st := c.Stats(); st.Handled != int64(b.N) || st.DeadLettered != 0 {
		b.Fatalf("stats %+v: want %d handled, nothing dead-lettered", st, b.N)
	}
	cnt.report(b, elapsed)
}
