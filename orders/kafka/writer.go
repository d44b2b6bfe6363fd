package kafka

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"sync"
	"syscall"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/produce"
)

// writer writes messages to one topic, each to the partition that murmur2 of its key picks
// (PartitionOf, as Kafka's Java producer does), and waits until every in-sync replica has them.
// A call sends the messages of each partition in shares of at most Config.BatchSize messages and
// maxShareBytes, one after the other and in the order given; a request carries the next share
// of every partition that one broker leads, so that a call costs the broker a request per share
// rather than per share and partition. A share that fails is sent again while the failure is
// transient; a partition whose share fails for good sends none of its later ones, so a failed
// call never leaves a later message of a key stored and an earlier one not. It is safe for
// concurrent use.
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

	mu      sync.Mutex
	leaders []int32   // the leader of each of the topic's partitions, when last read
	readAt  time.Time // when they were read; zero after a failed request, to read them again
}

// maxShareBytes bounds the bytes of keys and values in one share, a partition's record batch in a
// request, below the broker's default limit of a record batch (message.max.bytes, about 1 MB).
const maxShareBytes = 900 << 10

// partitionsTTL is how long a writer trusts the partitions and leaders it read.
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
// shares failed.
func (w *writer) write(ctx context.Context, msgs []kafkago.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	leaders, err := w.partitions(ctx)
	if err != nil {
		return err
	}
	byPart := make([][]*kafkago.Message, len(leaders))
	for i := range msgs {
		p := partitionOf(msgs[i].Key, len(leaders))
		byPart[p] = append(byPart[p], &msgs[i])
	}
	byLeader := map[int32][]int{}
	for p, ms := range byPart {
		if len(ms) > 0 {
			byLeader[leaders[p]] = append(byLeader[leaders[p]], p)
		}
	}
	now := time.Now()
	errs := make([]error, len(leaders))
	var wg sync.WaitGroup
	for _, parts := range byLeader {
		wg.Go(func() { w.writeLed(ctx, parts, byPart, errs, now) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// writeLed sends the messages of parts, partitions that one broker leads, share after share:
// each request carries the next share of every partition that has one left and has not failed.
// It sets errs[p] for a partition p that failed.
func (w *writer) writeLed(ctx context.Context, parts []int, byPart [][]*kafkago.Message, errs []error, at time.Time) {
	shares := make(map[int][]*kafkago.Message, len(parts))
	for {
		clear(shares)
		for _, p := range parts {
			if ms := byPart[p]; len(ms) > 0 && errs[p] == nil {
				shares[p] = ms[:w.shareSize(ms)]
			}
		}
		if len(shares) == 0 {
			return
		}
		w.produce(ctx, shares, errs, at)
		for p, ms := range shares {
			byPart[p] = byPart[p][len(ms):]
		}
	}
}

// shareSize returns how many of ms, at least one, go in the next share.
func (w *writer) shareSize(ms []*kafkago.Message) int {
	size := 0
	for k, m := range ms {
		if size += len(m.Key) + len(m.Value); k == w.batch || (k > 0 && size > maxShareBytes) {
			return k
		}
	}
	return len(ms)
}

// produce writes each share of shares to its partition in one request, and again, with the
// shares that failed, while their failures are transient. It sets errs[p] for a partition p
// whose share it could not write.
func (w *writer) produce(ctx context.Context, shares map[int][]*kafkago.Message, errs []error, at time.Time) {
	pending := maps.Clone(shares)
	failed := make(map[int]error, len(shares))
	fail := func(p int, err error) {
		errs[p] = fmt.Errorf("write %d messages to %s/%d: %w", len(pending[p]), w.topic, p, err)
		delete(pending, p)
	}
	err := w.retry(ctx, "write", func() error {
		clear(failed)
		if err := w.request(ctx, pending, failed, at); err != nil {
			return err
		}
		var again []error
		for p := range pending {
			switch err := failed[p]; {
			case err == nil:
				delete(pending, p)
			case !transient(err):
				fail(p, err)
			default:
				again = append(again, err)
			}
		}
		return errors.Join(again...)
	})
	for p := range pending { // err is not nil
		fail(p, cmp.Or(failed[p], err))
	}
}

// request sends one produce request with shares, and sets failed[p] for a partition p that the
// broker did not store; its error is the request's own.
func (w *writer) request(ctx context.Context, shares map[int][]*kafkago.Message, failed map[int]error, at time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, w.client.Timeout)
	defer cancel()
	req := &produce.Request{Acks: int16(kafkago.RequireAll), Timeout: int32(w.client.Timeout / time.Millisecond),
		Topics: []produce.RequestTopic{{Topic: w.topic, Partitions: make([]produce.RequestPartition, 0, len(shares))}}}
	for p, ms := range shares {
		req.Topics[0].Partitions = append(req.Topics[0].Partitions, produce.RequestPartition{
			Partition: int32(p), RecordSet: protocol.RecordSet{Records: &records{msgs: ms, at: at}}})
	}
	m, err := w.client.Transport.RoundTrip(ctx, w.client.Addr, req)
	if err != nil {
		return err
	}
	res, ok := m.(*produce.Response)
	if !ok {
		return fmt.Errorf("produce: the broker answered with a %T", m)
	}
	answered := 0
	for _, t := range res.Topics {
		for _, rp := range t.Partitions {
			if _, sent := shares[int(rp.Partition)]; !sent || t.Topic != w.topic {
				continue
			}
			answered++
			if rp.ErrorCode != 0 {
				failed[int(rp.Partition)] = kafkago.Error(rp.ErrorCode)
			}
		}
	}
	if answered != len(shares) {
		return fmt.Errorf("produce: the broker answered for %d of %d partitions", answered, len(shares))
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

// partitions returns the leader of each of the topic's partitions, read again when
// partitionsTTL has passed or a request failed since they were last read.
func (w *writer) partitions(ctx context.Context) ([]int32, error) {
	w.mu.Lock()
	leaders, fresh := w.leaders, time.Since(w.readAt) < partitionsTTL
	w.mu.Unlock()
	if len(leaders) > 0 && fresh {
		return leaders, nil
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
				leaders = make([]int32, len(t.Partitions))
				for _, p := range t.Partitions {
					if p.ID < 0 || p.ID >= len(leaders) {
						return fmt.Errorf("metadata: partition %d of %d", p.ID, len(leaders))
					}
					leaders[p.ID] = int32(p.Leader.ID)
				}
				return nil
			}
		}
		return kafkago.UnknownTopicOrPartition
	})
	if err != nil {
		return nil, fmt.Errorf("read the partitions of %s: %w", w.topic, err)
	}
	w.mu.Lock()
	w.leaders, w.readAt = leaders, time.Now()
	w.mu.Unlock()
	return leaders, nil
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
