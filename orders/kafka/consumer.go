package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"zhengxiang/geo"
	"zhengxiang/orders"
)

// Headers that the consumers set on a dead letter, next to content-type, so that tools can sort
// dead letters without decoding them.
const (
	HeaderReason = "reason" // the error, in words
	HeaderField  = "field"  // the field at fault; absent when the whole message is
)

// maxDeadPayload is the most bytes of a refused message that its dead letter keeps, so that the
// dead letter stays under the broker's default message size limit of 1 MiB.
const maxDeadPayload = 900 << 10

// Meta locates a message in its topic, for handlers and logs.
type Meta struct {
	Topic     string
	Partition int
	Offset    int64
	Key       string
	Time      time.Time // when the producer wrote it
}

// OrderHandler takes a placed order from Intake. The order is decoded and checked (see
// DecodeOrderPlaced) and has no ID yet.
//
// A nil error commits the message. An error of kind invalid, not found, conflict or forbidden (an
// unknown or suspended store, a clash with an order of the same key), or one wrapping
// geo.ErrOutsideArea or geo.ErrInvalidPoint, means that the message will never be taken: it goes
// to the dead-letter topic, naming the field of a KindInvalid error, and is committed. Any other
// error (KindUnavailable, a context error, an error without a kind) is transient: the same
// message is handled again after a backoff, and nothing after it in its partition is handled
// meanwhile.
type OrderHandler func(ctx context.Context, o orders.Order, m Meta) error

// LocationHandler takes a rider's position from RiderLocations; its errors mean what they mean
// for an OrderHandler.
type LocationHandler func(ctx context.Context, l Location, m Meta) error

// ConsumerStats counts what a consumer did since it started.
type ConsumerStats struct {
	Handled      int64 // messages the handler took
	DeadLettered int64 // messages sent to the dead-letter topic
	Retries      int64 // attempts that failed with a transient error
	Commits      int64 // offset commits acknowledged by the group coordinator
	Generations  int64 // group generations joined (the first one and one per rebalance)
}

// Intake feeds placed orders from orders.placed to a handler, as a member of the dispatchers'
// consumer group: it owns the partitions the group gives it, hence whole dispatch areas.
//
// Messages of one partition are handled one at a time, in offset order; messages of different
// partitions concurrently, so the handler must be safe for concurrent use. Offsets are committed
// every Config.CommitInterval, only up to the last message handled (or dead-lettered), when a
// partition is taken away in a rebalance, and when Run returns.
type Intake struct{ c *consumer }

// NewIntake returns an Intake that calls handle for every good message of cfg's placed-orders
// topic. With cfg.Area set, an order whose dropoff lies outside the area is dead-lettered without
// reaching handle, and the others get their District. FillFromStore completes an order from its
// store.
func NewIntake(cfg Config, handle OrderHandler) (*Intake, error) {
	if handle == nil {
		return nil, orders.Invalid("handle", "the intake needs a handler")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	area := cfg.Area
	c := newConsumer(cfg, cfg.Topics.Placed, "intake", func(ctx context.Context, m kafkago.Message) error {
		o, err := DecodeOrderPlaced(m.Value, header(m, HeaderContentType))
		if err != nil {
			return err
		}
		if area != nil {
			d, ok := area.District(o.Dropoff)
			if !ok {
				return orders.Invalid("dropoff", "%v is outside the service area", o.Dropoff)
			}
			o.District = d.Name
		}
		return handle(ctx, o, metaOf(m))
	})
	return &Intake{c: c}, nil
}

// Run joins the consumer group and handles messages until ctx is done; then it lets the handlers
// that are running finish (their context is ctx, so they may stop early), commits what was
// handled, leaves the group and returns nil. Problems with the brokers are logged and retried,
// never returned. Run may be called once.
func (in *Intake) Run(ctx context.Context) error { return in.c.run(ctx) }

// Partitions returns the partitions of orders.placed that the group gave this member in the
// current generation, in order; none between generations.
func (in *Intake) Partitions() []int { return in.c.assigned() }

// Stats returns the Intake's counters.
func (in *Intake) Stats() ConsumerStats { return in.c.stats() }

// FillFromStore completes a decoded order with what only its store knows: the section, when the
// message left it unspecified, and the ready time, when the message left it out (placed_at plus
// the store's PrepMinutes). A section other than the store's is a KindInvalid error on section.
func FillFromStore(o orders.Order, s orders.Store) (orders.Order, error) {
	if o.StoreID != s.ID {
		return orders.Order{}, orders.Invalid("store_id", "the order is for store %q, not %q", o.StoreID, s.ID)
	}
	switch {
	case o.Section == "":
		o.Section = s.Section
	case o.Section != s.Section:
		return orders.Order{}, orders.Invalid("section", "%q, but store %s sells in %q", o.Section, s.ID, s.Section)
	}
	if o.ReadyAt.IsZero() {
		o.ReadyAt = o.PlacedAt.Add(time.Duration(s.PrepMinutes * float64(time.Minute)))
	}
	return o, nil
}

// RiderLocations feeds riders' positions from riders.locations to a handler, as a member of the
// dispatchers' consumer group, exactly as Intake does for orders.
type RiderLocations struct{ c *consumer }

// NewRiderLocations returns a RiderLocations that calls handle for every good message of cfg's
// locations topic.
func NewRiderLocations(cfg Config, handle LocationHandler) (*RiderLocations, error) {
	if handle == nil {
		return nil, orders.Invalid("handle", "the rider locations need a handler")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := newConsumer(cfg, cfg.Topics.Locations, "rider-locations", func(ctx context.Context, m kafkago.Message) error {
		l, err := DecodeRiderLocation(m.Value, header(m, HeaderContentType))
		if err != nil {
			return err
		}
		return handle(ctx, l, metaOf(m))
	})
	return &RiderLocations{c: c}, nil
}

// Run is Intake.Run for rider locations.
func (rl *RiderLocations) Run(ctx context.Context) error { return rl.c.run(ctx) }

// Partitions returns the partitions of riders.locations that the group gave this member in the
// current generation.
func (rl *RiderLocations) Partitions() []int { return rl.c.assigned() }

// Stats returns the counters.
func (rl *RiderLocations) Stats() ConsumerStats { return rl.c.stats() }

// consumer reads one topic as a member of a consumer group.
//
// kafka-go's group Reader hides which partitions it holds, so the consumer drives the group
// itself, as the Reader does inside: for each generation it reads every assigned partition with
// its own partition Reader (FetchMessage, in offset order), records the offset after each
// message handled, and commits those offsets through the generation.
type consumer struct {
	cfg     Config
	topic   string
	name    string
	process func(ctx context.Context, m kafkago.Message) error
	dialer  *kafkago.Dialer
	dlq     *kafkago.Writer
	log     *slog.Logger

	started atomic.Bool

	mu         sync.Mutex
	partitions []int

	handled, deadLettered, retries, commits, generations atomic.Int64
}

func newConsumer(cfg Config, topic, name string, process func(context.Context, kafkago.Message) error) *consumer {
	log := cfg.Logger.With("component", name, "topic", topic)
	return &consumer{
		cfg: cfg, topic: topic, name: name, process: process, log: log,
		dialer: &kafkago.Dialer{ClientID: cfg.ClientID, Timeout: 10 * time.Second, DualStack: true},
		dlq:    newWriter(cfg, cfg.Topics.DeadLetter, name+"-deadletter"),
	}
}

func (c *consumer) stats() ConsumerStats {
	return ConsumerStats{Handled: c.handled.Load(), DeadLettered: c.deadLettered.Load(),
		Retries: c.retries.Load(), Commits: c.commits.Load(), Generations: c.generations.Load()}
}

func (c *consumer) assigned() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.partitions)
}

func (c *consumer) setAssigned(ps []int) {
	c.mu.Lock()
	c.partitions = ps
	c.mu.Unlock()
}

func (c *consumer) run(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		return orders.Conflict("kafka %s: Run was called before", c.name)
	}
	defer c.dlq.Close()
	cg, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{
		ID:                    c.cfg.GroupID,
		Brokers:               c.cfg.Brokers,
		Dialer:                c.dialer,
		Topics:                []string{c.topic},
		GroupBalancers:        []kafkago.GroupBalancer{kafkago.RangeGroupBalancer{}},
		HeartbeatInterval:     min(3*time.Second, c.cfg.SessionTimeout/3),
		SessionTimeout:        c.cfg.SessionTimeout,
		WatchPartitionChanges: true,
		JoinGroupBackoff:      min(5*time.Second, c.cfg.RetryMax),
		StartOffset:           kafkago.FirstOffset,
		Logger:                logger(c.cfg.Logger, slog.LevelDebug, c.name),
		ErrorLogger:           logger(c.cfg.Logger, slog.LevelWarn, c.name),
	})
	if err != nil {
		return orders.Invalid("kafka", "consumer group: %v", err)
	}
	// Close ends the current generation, which waits for the partition readers and the last
	// commit, then leaves the group.
	defer cg.Close()
	for {
		gen, err := cg.Next(ctx)
		switch {
		case ctx.Err() != nil || errors.Is(err, kafkago.ErrGroupClosed):
			return nil
		case err != nil:
			// The group backs off before it tries again.
			c.log.Warn("joining the consumer group failed", "group", c.cfg.GroupID, "err", err)
			continue
		}
		c.start(ctx, gen)
	}
}

// start launches the work of one generation: a reader per assigned partition and the committer.
// They stop when the generation ends (a rebalance) or ctx is done.
func (c *consumer) start(ctx context.Context, gen *kafkago.Generation) {
	assigned := gen.Assignments[c.topic]
	ps := make([]int, len(assigned))
	for i, a := range assigned {
		ps[i] = a.ID
	}
	slices.Sort(ps)
	c.setAssigned(ps)
	c.generations.Add(1)
	c.log.Info("partitions assigned", "group", c.cfg.GroupID, "generation", gen.ID, "member", gen.MemberID, "partitions", ps)

	tr := &tracker{next: map[int]int64{}, committed: map[int]int64{}}
	var readers sync.WaitGroup
	for _, a := range assigned {
		readers.Add(1)
		gen.Start(func(genCtx context.Context) {
			defer readers.Done()
			c.read(ctx, genCtx, a, tr)
		})
	}
	gen.Start(func(genCtx context.Context) {
		t := time.NewTicker(c.cfg.CommitInterval)
		defer t.Stop()
		for over := false; !over; {
			select {
			case <-t.C:
				c.commit(gen, tr)
			case <-genCtx.Done():
				over = true
			case <-ctx.Done():
				over = true
			}
		}
		readers.Wait()
		c.commit(gen, tr)
		c.setAssigned(nil)
		c.log.Info("partitions released", "generation", gen.ID, "partitions", ps)
	})
}

// read handles one partition from the assignment's offset until the generation ends or ctx is
// done.
func (c *consumer) read(ctx, genCtx context.Context, a kafkago.PartitionAssignment, tr *tracker) {
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(genCtx, cancel)()

	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:   c.cfg.Brokers,
		Topic:     c.topic,
		Partition: a.ID,
		Dialer:    c.dialer,
		MaxWait:   c.cfg.MaxWait,
		MaxBytes:  10 << 20,
		// The lag is the group's business (kafka-consumer-groups.sh shows it); no polling.
		ReadLagInterval: -1,
		Logger:          logger(c.cfg.Logger, slog.LevelDebug, c.name),
		ErrorLogger:     logger(c.cfg.Logger, slog.LevelWarn, c.name),
	})
	defer r.Close()
	if err := r.SetOffset(a.Offset); err != nil {
		c.log.Error("cannot start reading", "partition", a.ID, "offset", a.Offset, "err", err)
		return
	}
	for attempt := 0; ; {
		m, err := r.FetchMessage(stop)
		if err != nil {
			if stop.Err() != nil {
				return
			}
			c.log.Warn("fetching failed", "partition", a.ID, "err", err)
			if !sleep(stop, c.backoff(attempt)) {
				return
			}
			attempt++
			continue
		}
		attempt = 0
		if err := c.handle(ctx, stop, m); err != nil {
			return
		}
		tr.done(m.Partition, m.Offset+1)
	}
}

// handle takes one message until it is handled or dead-lettered, retrying transient failures
// with backoff. It returns an error only when stop is done before that.
func (c *consumer) handle(ctx, stop context.Context, m kafkago.Message) error {
	for attempt := 0; ; attempt++ {
		err := c.attempt(ctx, m)
		if err == nil {
			return nil
		}
		if stop.Err() != nil {
			return stop.Err()
		}
		c.retries.Add(1)
		wait := c.backoff(attempt)
		c.log.Warn("handling failed, will retry", "partition", m.Partition, "offset", m.Offset,
			"attempt", attempt+1, "retry_in", wait, "err", err)
		if !sleep(stop, wait) {
			return stop.Err()
		}
	}
}

// attempt handles m once. It returns nil when the handler took m or m went to the dead-letter
// topic, and the error otherwise.
func (c *consumer) attempt(ctx context.Context, m kafkago.Message) error {
	err := c.process(ctx, m)
	if err == nil {
		c.handled.Add(1)
		return nil
	}
	// A handler cut short by the shutdown may report anything: try again after the restart.
	if ctx.Err() != nil || !refused(err) {
		return err
	}
	if err := c.deadLetter(ctx, m, err); err != nil {
		return err
	}
	c.deadLettered.Add(1)
	return nil
}

// refused reports whether err means that the message will never be taken.
func refused(err error) bool {
	switch orders.KindOf(err) {
	case orders.KindInvalid, orders.KindNotFound, orders.KindConflict, orders.KindForbidden:
		return true
	case 0:
		return errors.Is(err, geo.ErrOutsideArea) || errors.Is(err, geo.ErrInvalidPoint)
	}
	return false
}

// deadLetter writes m to the dead-letter topic with the reason it was refused.
func (c *consumer) deadLetter(ctx context.Context, m kafkago.Message, cause error) error {
	var field string
	if e, ok := errors.AsType[*orders.Error](cause); ok {
		field = e.Field
	}
	reason, payload := cause.Error(), m.Value
	if len(payload) > maxDeadPayload {
		reason += fmt.Sprintf(" (payload cut from %d to %d bytes)", len(payload), maxDeadPayload)
		payload = payload[:maxDeadPayload]
	}
	b, err := EncodeDeadLetter(DeadLetter{
		SourceTopic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key,
		Reason: reason, Field: field, Payload: payload, ContentType: header(m, HeaderContentType),
		At: time.Now(),
	})
	if err != nil {
		return fmt.Errorf("dead letter for %s/%d/%d: %w", m.Topic, m.Partition, m.Offset, err)
	}
	headers := []kafkago.Header{
		{Key: HeaderContentType, Value: []byte(ContentTypeProtobuf)},
		{Key: HeaderReason, Value: []byte(reason)},
	}
	if field != "" {
		headers = append(headers, kafkago.Header{Key: HeaderField, Value: []byte(field)})
	}
	if err := c.dlq.WriteMessages(ctx, kafkago.Message{Key: m.Key, Value: b, Headers: headers}); err != nil {
		return unavailable(err, "write the dead letter for %s/%d/%d", m.Topic, m.Partition, m.Offset)
	}
	c.log.Warn("message refused, sent to the dead-letter topic", "partition", m.Partition, "offset", m.Offset,
		"key", string(m.Key), "field", field, "reason", reason)
	return nil
}

// commit commits the offsets handled since the last commit. A failure is logged: the offsets stay
// pending for the next commit, or, if the generation is over, the next owner handles the
// messages again.
func (c *consumer) commit(gen *kafkago.Generation, tr *tracker) {
	offs := tr.pending()
	if len(offs) == 0 {
		return
	}
	if err := gen.CommitOffsets(map[string]map[int]int64{c.topic: offs}); err != nil {
		c.log.Warn("committing offsets failed", "generation", gen.ID, "offsets", offs, "err", err)
		return
	}
	tr.committedUpTo(offs)
	c.commits.Add(1)
}

// backoff returns the wait before retry number attempt+1: RetryMin doubled attempt times, at most
// RetryMax.
func (c *consumer) backoff(attempt int) time.Duration {
	d := c.cfg.RetryMin
	for range min(attempt, 30) {
		if d >= c.cfg.RetryMax/2 {
			return c.cfg.RetryMax
		}
		d *= 2
	}
	return min(d, c.cfg.RetryMax)
}

// sleep waits for d and reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// tracker records, per partition, the offset after the last message handled and the last offset
// committed.
type tracker struct {
	mu        sync.Mutex
	next      map[int]int64
	committed map[int]int64
}

func (t *tracker) done(partition int, next int64) {
	t.mu.Lock()
	t.next[partition] = next
	t.mu.Unlock()
}

func (t *tracker) pending() map[int]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out map[int]int64
	for p, n := range t.next {
		if c, ok := t.committed[p]; !ok || c != n {
			if out == nil {
				out = map[int]int64{}
			}
			out[p] = n
		}
	}
	return out
}

func (t *tracker) committedUpTo(offs map[int]int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for p, n := range offs {
		t.committed[p] = n
	}
}

// header returns the value of the first header named key, ignoring case.
func header(m kafkago.Message, key string) string {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Key, key) {
			return string(h.Value)
		}
	}
	return ""
}

func metaOf(m kafkago.Message) Meta {
	return Meta{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: string(m.Key), Time: m.Time}
}
