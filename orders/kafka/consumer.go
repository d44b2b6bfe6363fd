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

// OrderBatchHandler takes placed orders from Intake several at a time: messages of one partition
// that were fetched and not handled yet, up to Config.MaxBatch, in offset order, ms[i] locating
// os[i]. Each order is decoded and checked as for an OrderHandler; a message that fails that is
// dead-lettered and never reaches the handler. The handler may keep the orders but not the
// slices, which the consumer reuses.
//
// It returns one error per order, errs[i] for os[i], or nothing when it took them all. Each error
// means what it means for an OrderHandler: nil commits the message; a refusal (invalid, not
// found, conflict, forbidden, outside the area) sends it to the dead-letter topic with the reason
// and the field, and commits it; any other error is transient. The orders that failed
// transiently are handed over again after a backoff, by themselves and in offset order, until
// none is left; nothing after the batch in its partition is handled meanwhile, and the
// partition's commits stop before the first of them. A result whose length is neither zero nor
// len(os) is a bug of the handler, taken as a transient failure of every order.
type OrderBatchHandler func(ctx context.Context, os []orders.Order, ms []Meta) []error

// LocationBatchHandler takes rider positions from RiderLocations several at a time, as an
// OrderBatchHandler takes orders.
type LocationBatchHandler func(ctx context.Context, ls []Location, ms []Meta) []error

// ConsumerStats counts what a consumer did since it started.
type ConsumerStats struct {
	Handled      int64 // messages the handler took
	DeadLettered int64 // messages sent to the dead-letter topic
	Retries      int64 // attempts at a message that failed with a transient error
	Commits      int64 // offset commits acknowledged by the group coordinator
	Generations  int64 // group generations joined (the first one and one per rebalance)
	Batches      int64 // batches handed to the handler (with NewIntake, one message at a time)
	// Lag is how many messages the partitions held lay beyond the last batch taken from each,
	// as the broker's high-water mark told with that batch.
	Lag int64
}

// Intake feeds placed orders from orders.placed to a handler, as a member of the dispatchers'
// consumer group: it owns the partitions the group gives it, hence whole dispatch areas.
//
// The messages of one partition are handled in offset order, a batch at a time: whatever has
// been fetched when the handler is free, up to Config.MaxBatch, so that a batch handler can
// write a batch in one transaction; NewIntake's handler gets them one by one. Partitions are
// handled concurrently, so the handler must be safe for concurrent use. Offsets are committed
// every Config.CommitInterval, when a partition is taken away in a rebalance and when Run
// returns, each only up to a message taken (or dead-lettered) with every message before it.
type Intake struct{ c *consumer[orders.Order] }

// NewIntake returns an Intake that calls handle for every good message of cfg's placed-orders
// topic, one message at a time per partition: after a transient error, handle gets nothing after
// that message until it takes the message. With cfg.Area set, an order whose dropoff lies
// outside the area is dead-lettered without reaching handle, and the others get their District.
// FillFromStore completes an order from its store.
func NewIntake(cfg Config, handle OrderHandler) (*Intake, error) {
	if handle == nil {
		return nil, orders.Invalid("handle", "the intake needs a handler")
	}
	return NewIntakeBatch(cfg, OrderBatchHandler(oneByOne(handle)))
}

// NewIntakeBatch returns an Intake that hands the good messages of cfg's placed-orders topic to
// handle in batches of up to cfg.MaxBatch orders of one partition. With cfg.Area set, an order
// whose dropoff lies outside the area is dead-lettered without reaching handle, and the others
// get their District.
func NewIntakeBatch(cfg Config, handle OrderBatchHandler) (*Intake, error) {
	if handle == nil {
		return nil, orders.Invalid("handle", "the intake needs a handler")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	area := cfg.Area
	decode := func(m kafkago.Message) (orders.Order, error) {
		o, err := DecodeOrderPlaced(m.Value, header(m, HeaderContentType))
		if err != nil {
			return orders.Order{}, err
		}
		if area != nil {
			d, ok := area.District(o.Dropoff)
			if !ok {
				return orders.Order{}, orders.Invalid("dropoff", "%v is outside the service area", o.Dropoff)
			}
			o.District = d.Name
		}
		return o, nil
	}
	return &Intake{c: newConsumer(cfg, cfg.Topics.Placed, "intake", decode, handle)}, nil
}

// OnPartitions sets what the intake tells as the group moves partitions of orders.placed, and
// with them dispatch areas, between its members: assigned receives the partitions of a new
// generation before any of their messages is handled, revoked the same partitions once the
// last of their messages was handled and committed, when a rebalance or the end of Run takes
// them away. Either may be nil. Call it before Run.
func (in *Intake) OnPartitions(assigned, revoked func(partitions []int)) {
	in.c.onAssign, in.c.onRevoke = assigned, revoked
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
type RiderLocations struct{ c *consumer[Location] }

// NewRiderLocations returns a RiderLocations that calls handle for every good message of cfg's
// locations topic, one message at a time per partition, as NewIntake does.
func NewRiderLocations(cfg Config, handle LocationHandler) (*RiderLocations, error) {
	if handle == nil {
		return nil, orders.Invalid("handle", "the rider locations need a handler")
	}
	return NewRiderLocationsBatch(cfg, LocationBatchHandler(oneByOne(handle)))
}

// NewRiderLocationsBatch returns a RiderLocations that hands the good messages of cfg's locations
// topic to handle in batches of up to cfg.MaxBatch positions of one partition, as NewIntakeBatch
// does with orders.
func NewRiderLocationsBatch(cfg Config, handle LocationBatchHandler) (*RiderLocations, error) {
	if handle == nil {
		return nil, orders.Invalid("handle", "the rider locations need a handler")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	decode := func(m kafkago.Message) (Location, error) {
		return DecodeRiderLocation(m.Value, header(m, HeaderContentType))
	}
	c := newConsumer(cfg, cfg.Topics.Locations, "rider-locations", decode, handle)
	if cfg.LocationsGroupID != "" {
		// A group of its own reads every partition; when new, it starts with what comes next,
		// since older positions are stale.
		c.group, c.startOffset = cfg.LocationsGroupID, kafkago.LastOffset
	}
	return &RiderLocations{c: c}, nil
}

// Run is Intake.Run for rider locations.
func (rl *RiderLocations) Run(ctx context.Context) error { return rl.c.run(ctx) }

// Partitions returns the partitions of riders.locations that the group gave this member in the
// current generation.
func (rl *RiderLocations) Partitions() []int { return rl.c.assigned() }

// Stats returns the counters.
func (rl *RiderLocations) Stats() ConsumerStats { return rl.c.stats() }

// errNotTried marks the messages of a batch that oneByOne did not hand over because an earlier
// one failed: they wait for it, without counting as failed attempts.
var errNotTried = errors.New("not handled yet: an earlier message of the partition failed")

// oneByOne adapts a handler of one message to a batch handler. It hands the items over in order
// and stops at the first transient error, so that nothing after a failing message is handled
// before it; the items after it get errNotTried.
func oneByOne[T any](handle func(context.Context, T, Meta) error) func(context.Context, []T, []Meta) []error {
	return func(ctx context.Context, items []T, ms []Meta) []error {
		var errs []error
		for i, it := range items {
			err := handle(ctx, it, ms[i])
			if err == nil {
				continue
			}
			if errs == nil {
				errs = make([]error, len(items))
			}
			errs[i] = err
			if ctx.Err() != nil || !refused(err) {
				for j := i + 1; j < len(items); j++ {
					errs[j] = errNotTried
				}
				break
			}
		}
		return errs
	}
}

// consumer reads one topic as a member of a consumer group and hands its messages, decoded into
// items of type T, to a batch handler.
//
// kafka-go's group Reader hides which partitions it holds, so the consumer drives the group
// itself, as the Reader does inside: for each generation it reads every assigned partition with
// its own partition Reader, which a goroutine drains into a buffered channel; the partition's
// handling loop takes what is in that channel as a batch, records the offset after the last
// message settled (taken or dead-lettered, with all before it), and a committer commits those
// offsets through the generation.
type consumer[T any] struct {
	cfg    Config
	topic  string
	name   string
	decode func(kafkago.Message) (T, error)
	handle func(ctx context.Context, items []T, ms []Meta) []error
	dialer *kafkago.Dialer
	dlq    *kafkago.Writer
	log    *slog.Logger

	// group is the consumer group joined, and startOffset where a partition without a
	// committed offset is read from.
	group       string
	startOffset int64
	// onAssign and onRevoke, when set, are told the partitions of each generation before
	// they are read and after they are let go.
	onAssign, onRevoke func(partitions []int)

	started atomic.Bool

	mu         sync.Mutex
	partitions []int
	lags       map[int]int64 // partition → lag after its last batch

	handled, deadLettered, retries, commits, generations, batches atomic.Int64
}

func newConsumer[T any, H ~func(context.Context, []T, []Meta) []error](cfg Config, topic, name string,
	decode func(kafkago.Message) (T, error), handle H) *consumer[T] {
	log := cfg.Logger.With("component", name, "topic", topic)
	return &consumer[T]{
		cfg: cfg, topic: topic, name: name, decode: decode, handle: handle, log: log,
		group: cfg.GroupID, startOffset: kafkago.FirstOffset,
		dialer: &kafkago.Dialer{ClientID: cfg.ClientID, Timeout: 10 * time.Second, DualStack: true},
		dlq:    newDeadLetterWriter(cfg, name+"-deadletter"),
	}
}

func (c *consumer[T]) stats() ConsumerStats {
	var lag int64
	c.mu.Lock()
	for _, l := range c.lags {
		lag += l
	}
	c.mu.Unlock()
	return ConsumerStats{Handled: c.handled.Load(), DeadLettered: c.deadLettered.Load(),
		Retries: c.retries.Load(), Commits: c.commits.Load(), Generations: c.generations.Load(),
		Batches: c.batches.Load(), Lag: lag}
}

// setLag records a partition's lag; a negative lag forgets the partition.
func (c *consumer[T]) setLag(partition int, lag int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if lag < 0 {
		delete(c.lags, partition)
		return
	}
	if c.lags == nil {
		c.lags = map[int]int64{}
	}
	c.lags[partition] = lag
}

func (c *consumer[T]) assigned() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.partitions)
}

func (c *consumer[T]) setAssigned(ps []int) {
	c.mu.Lock()
	c.partitions = ps
	c.mu.Unlock()
}

func (c *consumer[T]) run(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		return orders.Conflict("kafka %s: Run was called before", c.name)
	}
	defer c.dlq.Close()
	cg, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{
		ID:                    c.group,
		Brokers:               c.cfg.Brokers,
		Dialer:                c.dialer,
		Topics:                []string{c.topic},
		GroupBalancers:        []kafkago.GroupBalancer{kafkago.RangeGroupBalancer{}},
		HeartbeatInterval:     min(3*time.Second, c.cfg.SessionTimeout/3),
		SessionTimeout:        c.cfg.SessionTimeout,
		WatchPartitionChanges: true,
		JoinGroupBackoff:      min(5*time.Second, c.cfg.RetryMax),
		StartOffset:           c.startOffset,
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
			c.log.Warn("joining the consumer group failed", "group", c.group, "err", err)
			continue
		}
		c.start(ctx, gen)
	}
}

// start launches the work of one generation: a reader per assigned partition and the committer.
// They stop when the generation ends (a rebalance) or ctx is done.
func (c *consumer[T]) start(ctx context.Context, gen *kafkago.Generation) {
	assigned := gen.Assignments[c.topic]
	ps := make([]int, len(assigned))
	for i, a := range assigned {
		ps[i] = a.ID
	}
	slices.Sort(ps)
	c.setAssigned(ps)
	c.generations.Add(1)
	c.log.Info("partitions assigned", "group", c.group, "generation", gen.ID, "member", gen.MemberID, "partitions", ps)
	if c.onAssign != nil {
		c.onAssign(slices.Clone(ps))
	}

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
		if c.onRevoke != nil {
			c.onRevoke(slices.Clone(ps))
		}
	})
}

// minFetchBytes is what a partition reader asks the broker to gather before it answers a fetch,
// unless Config.MaxWait passes first. One byte: the broker answers as soon as it has anything,
// and under load each answer brings all that came in since the previous one, so the number of
// fetches adapts by itself. Measured on 2 cores, 6 partitions, 50,000 rider positions a second:
// the broker spends 0.16 of a core on it and a position waits 2 ms (p50; 7 ms p99); asking for
// 64 KiB saves the broker 0.07 of a core but costs 60 ms (p50; 230 ms p99), and a quiet stream
// would wait the whole MaxWait for every message.
const minFetchBytes = 1

// read handles one partition from the assignment's offset until the generation ends or ctx is
// done: a goroutine fetches the messages into a channel that holds a batch, and the loop hands
// what is there to the handler, waiting only for the first message of a batch.
func (c *consumer[T]) read(ctx, genCtx context.Context, a kafkago.PartitionAssignment, tr *tracker) {
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(genCtx, cancel)()

	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:   c.cfg.Brokers,
		Topic:     c.topic,
		Partition: a.ID,
		Dialer:    c.dialer,
		// Each fetch brings what is there, up to MaxBytes; the queue holds a batch while the
		// handler works on the previous one (kafka-go's default is 100 messages).
		MinBytes:      minFetchBytes,
		MaxBytes:      10 << 20,
		MaxWait:       c.cfg.MaxWait,
		QueueCapacity: c.cfg.MaxBatch,
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
	fetched := make(chan kafkago.Message, c.cfg.MaxBatch)
	var fetcher sync.WaitGroup
	fetcher.Go(func() { c.fetch(stop, r, a.ID, fetched) })
	defer func() {
		cancel()
		fetcher.Wait() // before r.Close
	}()

	batch := make([]kafkago.Message, 0, c.cfg.MaxBatch)
	var w work[T]
	defer c.setLag(a.ID, -1)
	for {
		select {
		case <-stop.Done():
			return
		case m := <-fetched:
			batch = append(batch[:0], m)
		}
	more:
		for len(batch) < c.cfg.MaxBatch {
			select {
			case m := <-fetched:
				batch = append(batch, m)
			default:
				break more
			}
		}
		// Nothing more after a rebalance took the partition away: its next owner starts at the
		// last commit.
		if stop.Err() != nil {
			return
		}
		if err := c.take(ctx, stop, batch, &w, tr); err != nil {
			return
		}
		last := batch[len(batch)-1]
		c.setLag(a.ID, max(0, last.HighWaterMark-last.Offset-1))
	}
}

// fetch reads the partition into out, in offset order, until stop is done. The reader retries
// broken connections itself; what it reports is logged and retried with backoff.
func (c *consumer[T]) fetch(stop context.Context, r *kafkago.Reader, partition int, out chan<- kafkago.Message) {
	for attempt := 0; ; {
		m, err := r.FetchMessage(stop)
		if err != nil {
			if stop.Err() != nil {
				return
			}
			c.log.Warn("fetching failed", "partition", partition, "err", err)
			if !sleep(stop, c.backoff(attempt)) {
				return
			}
			attempt++
			continue
		}
		attempt = 0
		select {
		case out <- m:
		case <-stop.Done():
			return
		}
	}
}

// work is the state of the batch a partition's loop is taking, kept from batch to batch so that
// its slices are allocated once.
type work[T any] struct {
	items   []T       // the decoded messages still to hand to the handler
	metas   []Meta    // their Meta
	at      []int     // their index in the batch
	refused []refusal // messages refused and not yet written to the dead-letter topic
	settled []bool    // per message of the batch: taken or dead-lettered
}

// refusal is a message of a batch, by index, that will never be taken, and why.
type refusal struct {
	at  int
	err error
}

func (w *work[T]) reset(n int) {
	clear(w.items) // let the GC have the last batch's items
	w.items, w.metas, w.at, w.refused = w.items[:0], w.metas[:0], w.at[:0], w.refused[:0]
	w.settled = slices.Grow(w.settled[:0], n)[:n]
	clear(w.settled)
}

// take handles a batch of messages of one partition, in offset order, until each of them is
// taken by the handler or dead-lettered: messages that do not decode go to the dead-letter topic,
// the others to the handler in one call, and those that fail transiently to the handler again,
// with backoff. After each attempt it marks done the offset after the batch's settled prefix. It
// returns an error only when stop is done before the whole batch is settled.
func (c *consumer[T]) take(ctx, stop context.Context, batch []kafkago.Message, w *work[T], tr *tracker) error {
	w.reset(len(batch))
	for i, m := range batch {
		it, err := c.decode(m)
		if err != nil {
			w.refused = append(w.refused, refusal{i, err})
			continue
		}
		w.items = append(w.items, it)
		w.metas = append(w.metas, metaOf(m))
		w.at = append(w.at, i)
	}
	settled := 0 // batch[:settled] are all settled
	for attempt := 0; ; attempt++ {
		failed, first, firstErr := 0, -1, error(nil)
		if len(w.items) > 0 {
			errs := c.handle(ctx, w.items, w.metas)
			c.batches.Add(1)
			if len(errs) != 0 && len(errs) != len(w.items) {
				bug := fmt.Errorf("the handler returned %d errors for %d messages", len(errs), len(w.items))
				errs = make([]error, len(w.items))
				for k := range errs {
					errs[k] = bug
				}
			}
			kept := 0
			for k, i := range w.at {
				var err error
				if len(errs) != 0 {
					err = errs[k]
				}
				switch {
				case err == nil:
					w.settled[i] = true
					c.handled.Add(1)
				// A handler cut short by the shutdown may report anything: try again after the
				// restart.
				case ctx.Err() == nil && refused(err):
					w.refused = append(w.refused, refusal{i, err})
				default:
					w.items[kept], w.metas[kept], w.at[kept] = w.items[k], w.metas[k], i
					kept++
					if err != errNotTried {
						failed++
						if first < 0 {
							first, firstErr = i, err
						}
					}
				}
			}
			clear(w.items[kept:])
			w.items, w.metas, w.at = w.items[:kept], w.metas[:kept], w.at[:kept]
		}
		if len(w.refused) > 0 {
			// In offset order: the decoder's refusals come before the handler's.
			slices.SortFunc(w.refused, func(a, b refusal) int { return a.at - b.at })
			unwritten, err := c.deadLetter(ctx, batch, w.refused)
			for _, r := range w.refused {
				w.settled[r.at] = true
			}
			for _, r := range unwritten {
				w.settled[r.at] = false
			}
			c.deadLettered.Add(int64(len(w.refused) - len(unwritten)))
			w.refused = append(w.refused[:0], unwritten...)
			if err != nil {
				failed += len(unwritten)
				if first < 0 || unwritten[0].at < first {
					first, firstErr = unwritten[0].at, err
				}
			}
		}

		for settled < len(batch) && w.settled[settled] {
			settled++
		}
		if settled > 0 {
			tr.done(batch[0].Partition, batch[settled-1].Offset+1)
		}
		if settled == len(batch) {
			return nil
		}
		if stop.Err() != nil {
			return stop.Err()
		}
		c.retries.Add(int64(failed))
		wait := c.backoff(attempt)
		m := batch[max(first, settled)]
		c.log.Warn("handling failed, will retry", "partition", m.Partition, "offset", m.Offset,
			"failed", failed, "batch", len(batch), "attempt", attempt+1, "retry_in", wait, "err", firstErr)
		if !sleep(stop, wait) {
			return stop.Err()
		}
	}
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

// newDeadLetterWriter returns a synchronous writer to the dead-letter topic that waits for every
// in-sync replica and partitions by murmur2 of the key, like the service's other writers. It is
// kafka-go's Writer, which reports which messages of a write failed (kafkago.WriteErrors), so
// that only those are retried; dead letters are rare, and a write waits Config.BatchTimeout.
// A write retried after the broker stored it but before the answer arrived is stored twice.
func newDeadLetterWriter(cfg Config, component string) *kafkago.Writer {
	return &kafkago.Writer{
		Addr:         kafkago.TCP(cfg.Brokers...),
		Topic:        cfg.Topics.DeadLetter,
		Balancer:     kafkago.Murmur2Balancer{},
		RequiredAcks: kafkago.RequireAll,
		BatchTimeout: cfg.BatchTimeout,
		BatchSize:    cfg.BatchSize,
		MaxAttempts:  10,
		Transport: &kafkago.Transport{
			ClientID: cfg.ClientID,
		},
		Logger:      logger(cfg.Logger, slog.LevelDebug, component),
		ErrorLogger: logger(cfg.Logger, slog.LevelWarn, component),
	}
}

// deadLetter writes the refused messages of batch to the dead-letter topic, in one request and
// in the order of rs, each with the reason it was refused. It returns the refusals it could not
// write, in order, and the error.
func (c *consumer[T]) deadLetter(ctx context.Context, batch []kafkago.Message, rs []refusal) ([]refusal, error) {
	msgs := make([]kafkago.Message, len(rs))
	fields := make([]string, len(rs))
	for k, r := range rs {
		m := batch[r.at]
		var field string
		if e, ok := errors.AsType[*orders.Error](r.err); ok {
			field = e.Field
		}
		reason, payload := r.err.Error(), m.Value
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
			return rs, fmt.Errorf("dead letter for %s/%d/%d: %w", m.Topic, m.Partition, m.Offset, err)
		}
		headers := []kafkago.Header{
			{Key: HeaderContentType, Value: []byte(ContentTypeProtobuf)},
			{Key: HeaderReason, Value: []byte(reason)},
		}
		if field != "" {
			headers = append(headers, kafkago.Header{Key: HeaderField, Value: []byte(field)})
		}
		msgs[k] = kafkago.Message{Key: m.Key, Value: b, Headers: headers}
		fields[k] = field
	}
	if err := c.dlq.WriteMessages(ctx, msgs...); err != nil {
		// A write is per partition of the dead-letter topic: some may have gone through.
		var unwritten []refusal
		if werrs, ok := errors.AsType[kafkago.WriteErrors](err); ok && len(werrs) == len(rs) {
			for k, r := range rs {
				if werrs[k] != nil {
					unwritten = append(unwritten, r)
				} else {
					c.logDeadLetter(batch[r.at], msgs[k], fields[k])
				}
			}
		} else {
			unwritten = rs
		}
		if len(unwritten) == 0 {
			return nil, nil
		}
		m := batch[unwritten[0].at]
		return unwritten, unavailable(err, "write the dead letters of %d messages of %s/%d from offset %d",
			len(unwritten), m.Topic, m.Partition, m.Offset)
	}
	for k, r := range rs {
		c.logDeadLetter(batch[r.at], msgs[k], fields[k])
	}
	return nil, nil
}

func (c *consumer[T]) logDeadLetter(m, dead kafkago.Message, field string) {
	c.log.Warn("message refused, sent to the dead-letter topic", "partition", m.Partition, "offset", m.Offset,
		"key", string(m.Key), "field", field, "reason", header(dead, HeaderReason))
}

// commit commits the offsets handled since the last commit. A failure is logged: the offsets stay
// pending for the next commit, or, if the generation is over, the next owner handles the
// messages again.
func (c *consumer[T]) commit(gen *kafkago.Generation, tr *tracker) {
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
func (c *consumer[T]) backoff(attempt int) time.Duration {
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
