package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"syscall"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// writer writes messages to one topic, each to the partition that murmur2 of its key picks
// (PartitionOf, as Kafka's Java producer does), and waits until every in-sync replica has them.
// A call sends the messages of each partition in requests of at most Config.BatchSize messages
// and maxRequestBytes, one after the other and in the order given, and the requests of the
// different partitions at once. A request that fails is retried while the failure is transient;
// a partition whose request fails for good sends none of its later ones, so a failed call never
// leaves a later message of a key stored and an earlier one not. It is safe for concurrent use.
//
// kafka-go's Writer, which this replaces for the service's writes, fills batches across calls:
// each batch waits for its BatchTimeout to pass unless it fills, and sets aside room for a full
// batch for every partition a call writes to. For the outbox relay, whose calls carry hundreds or
// thousands of events, that room was a third of all the memory the service allocated.
//
// There is no idempotent producer here either: a request retried after the broker stored it but
// before its answer arrived is stored twice. Readers drop the copies (events by their Seq).
type writer struct {
	client *kafkago.Client
	topic  string
	batch  int
	log    *slog.Logger

	mu     sync.Mutex
	parts  int       // the topic's partitions, when last read
	readAt time.Time // when they were read; zero after a failed request, to read them again
}

// maxRequestBytes bounds the bytes of keys and values in one produce request, below the
// broker's default limit of a record batch (message.max.bytes, about 1 MB).
const maxRequestBytes = 900 << 10

// partitionsTTL is how long a writer trusts the partition count it read.
const partitionsTTL = 30 * time.Second

// Retries of a request: up to writeAttempts attempts, waiting from writeBackoffMin, twice as
// long each time, up to writeBackoffMax (about 6 s in all, long enough for a broker to restart).
const (
	writeAttempts   = 10
	writeBackoffMin = 100 * time.Millisecond
	writeBackoffMax = time.Second
)

// newWriter returns a writer to topic on cfg's brokers; component names it in the logs.
func newWriter(cfg Config, topic, component string) *writer {
	return &writer{
		client: &kafkago.Client{
			Addr:      kafkago.TCP(cfg.Brokers...),
			Timeout:   10 * time.Second,
			Transport: &kafkago.Transport{ClientID: cfg.ClientID},
		},
		topic: topic,
		batch: cfg.BatchSize,
		log:   cfg.Logger.With("component", component, "topic", topic),
	}
}

// write writes msgs and returns once all are acknowledged, or the errors of the partitions whose
// requests failed.
func (w *writer) write(ctx context.Context, msgs []kafkago.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	n, err := w.partitions(ctx)
	if err != nil {
		return err
	}
	byPart := make([][]*kafkago.Message, n)
	for i := range msgs {
		p := partitionOf(msgs[i].Key, n)
		byPart[p] = append(byPart[p], &msgs[i])
	}
	now := time.Now()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for p, ms := range byPart {
		if len(ms) == 0 {
			continue
		}
		wg.Go(func() {
			for len(ms) > 0 {
				k := w.requestSize(ms)
				if errs[p] = w.produce(ctx, p, ms[:k], now); errs[p] != nil {
					return
				}
				ms = ms[k:]
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// requestSize returns how many of ms, at least one, go in the next request.
func (w *writer) requestSize(ms []*kafkago.Message) int {
	size := 0
	for k, m := range ms {
		if size += len(m.Key) + len(m.Value); k == w.batch || (k > 0 && size > maxRequestBytes) {
			return k
		}
	}
	return len(ms)
}

// produce writes ms to partition p in one request.
func (w *writer) produce(ctx context.Context, p int, ms []*kafkago.Message, at time.Time) error {
	err := w.retry(ctx, "write", func() error {
		res, err := w.client.Produce(ctx, &kafkago.ProduceRequest{
			Topic: w.topic, Partition: p, RequiredAcks: kafkago.RequireAll,
			Records: &records{msgs: ms, at: at},
		})
		if err == nil && res.Error != nil {
			err = res.Error
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("write %d messages to %s/%d: %w", len(ms), w.topic, p, err)
	}
	return nil
}

// retry calls fn until it succeeds, fails for good, or has failed writeAttempts times, and
// returns its last error. Every failure makes the next call read the partitions again.
func (w *writer) retry(ctx context.Context, what string, fn func() error) error {
	wait := writeBackoffMin
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		w.forgetPartitions()
		if attempt == writeAttempts || !transient(err) || ctx.Err() != nil {
			return err
		}
		w.log.Warn(what+" failed, retrying", "attempt", attempt, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, writeBackoffMax)
	}
}

// partitions returns the topic's partition count, read again when partitionsTTL has passed or a
// request failed since it was last read.
func (w *writer) partitions(ctx context.Context) (int, error) {
	w.mu.Lock()
	n, fresh := w.parts, time.Since(w.readAt) < partitionsTTL
	w.mu.Unlock()
	if n > 0 && fresh {
		return n, nil
	}
	err := w.retry(ctx, "reading the partitions", func() error {
		res, err := w.client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{w.topic}})
		if err != nil {
			return err
		}
		for _, t := range res.Topics {
			switch {
			case t.Name != w.topic:
			case t.Error != nil:
				return t.Error
			case len(t.Partitions) > 0:
				n = len(t.Partitions)
				return nil
			}
		}
		return kafkago.UnknownTopicOrPartition
	})
	if err != nil {
		return 0, fmt.Errorf("read the partitions of %s: %w", w.topic, err)
	}
	w.mu.Lock()
	w.parts, w.readAt = n, time.Now()
	w.mu.Unlock()
	return n, nil
}

// forgetPartitions makes the next call read the partition count again.
func (w *writer) forgetPartitions() {
	w.mu.Lock()
	w.readAt = time.Time{}
	w.mu.Unlock()
}

// close closes the writer's idle connections.
func (w *writer) close() error {
	if t, ok := w.client.Transport.(*kafkago.Transport); ok {
		t.CloseIdleConnections()
	}
	return nil
}

// transient tells whether a failed request may succeed when sent again: the broker says so
// (leader moving, not enough replicas, a timeout), or the connection failed.
func transient(err error) bool {
	if t, ok := errors.AsType[interface {
		error
		Temporary() bool
	}](err); ok && t.Temporary() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// records hands a produce request its messages, all stamped with the time at, reusing one record
// and its readers: the request encodes each record before it asks for the next.
type records struct {
	msgs       []*kafkago.Message
	at         time.Time
	next       int
	rec        kafkago.Record
	key, value bytesReader
}

func (r *records) ReadRecord() (*kafkago.Record, error) {
	if r.next >= len(r.msgs) {
		return nil, io.EOF
	}
	m := r.msgs[r.next]
	r.next++
	r.rec = kafkago.Record{Time: r.at, Headers: m.Headers}
	if m.Key != nil {
		r.key.Reset(m.Key)
		r.rec.Key = &r.key
	}
	if m.Value != nil {
		r.value.Reset(m.Value)
		r.rec.Value = &r.value
	}
	return &r.rec, nil
}

// bytesReader is a key or value of a record.
type bytesReader struct{ bytes.Reader }

func (*bytesReader) Close() error { return nil }
