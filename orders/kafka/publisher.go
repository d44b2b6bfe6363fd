package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"

	kafkago "github.com/segmentio/kafka-go"

	"zhengxiang/geo"
	"zhengxiang/orders"
)

var _ orders.Publisher = (*Publisher)(nil)

// AreaKey returns the key of a message about p on orders.placed and riders.locations: the
// hexadecimal index of its dispatch area, geo.AreaOf(p), such as "864095497ffffff". Every message
// about one area lands in one partition, so the member of the consumer group that owns the
// partition owns the whole area. An invalid point has the key "0".
func AreaKey(p geo.Point) string {
	return geo.AreaOf(p).String()
}

// OrderLookup finds an order by id; orders.Repository is one. The Publisher uses it to name the
// order of each event by the platform's id.
type OrderLookup interface {
	GetOrder(ctx context.Context, id string) (orders.Order, error)
}

// maxRefs is how many order references each of the two generations of the Publisher's cache
// holds (see refCache). An entry takes about 220 bytes with its strings, so the cache stays
// under about 115 MB. An order is forgotten once maxRefs to 2×maxRefs newer orders came while it
// had no event: at a sustained 2,000 new orders a second that is after 2 to 4 quiet minutes, at
// 50 a second (a busy festival hour) after 1.5 to 3 hours, longer than a delivery.
const maxRefs = 1 << 18

// Publisher writes order events to orders.events: key the order id, value an OrderEvent, binary
// (header content-type application/x-protobuf) or, with Config.EventsJSON, its JSON form
// (application/json). It implements orders.Publisher for the outbox
// relay and is safe for concurrent use; the order of the events of one call is kept, that of
// concurrent calls is not defined.
type Publisher struct {
	w           *writer
	lookup      OrderLookup
	contentType string
	headers     []kafkago.Header // of contentType, shared by every message

	refs *refCache
}

// NewPublisher returns a Publisher on cfg's brokers and events topic. When lookup is not nil,
// each event carries its order's platform, platform order id and store, which the Publisher
// remembers for the orders of recent events and of Remember, and looks up for the others; when
// it is nil they are left empty. Close releases the connections.
func NewPublisher(cfg Config, lookup OrderLookup) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	contentType := ContentTypeProtobuf
	if cfg.EventsJSON {
		contentType = ContentTypeJSON
	}
	return &Publisher{
		w:           newWriter(cfg, cfg.Topics.Events, "publisher"),
		lookup:      lookup,
		contentType: contentType,
		headers:     []kafkago.Header{{Key: HeaderContentType, Value: []byte(contentType)}},
		refs:        newRefCache(maxRefs),
	}, nil
}

// Publish writes evs to orders.events in order and returns once the brokers have acknowledged
// all of them, so that the outbox relay may mark them published. On failure some of the events
// may have been written; the relay sends them all again and readers drop the copies by seq. A
// broker that cannot be reached is a KindUnavailable error, an event the contract cannot carry a
// KindInvalid one.
func (p *Publisher) Publish(ctx context.Context, evs ...orders.Event) error {
	if len(evs) == 0 {
		return nil
	}
	msgs := make([]kafkago.Message, len(evs))
	for i, ev := range evs {
		ref, err := p.ref(ctx, ev.OrderID)
		if err != nil {
			return fmt.Errorf("publish event %d of order %s: %w", ev.Seq, ev.OrderID, err)
		}
		b, err := EncodeEventAs(ev, ref, p.contentType)
		if err != nil {
			return fmt.Errorf("publish event %d of order %s: %w", ev.Seq, ev.OrderID, err)
		}
		msgs[i] = kafkago.Message{
			Key:     []byte(ev.OrderID),
			Value:   b,
			Headers: p.headers,
		}
	}
	// The writer never stores a later event of an order when it failed to store an earlier one.
	if err := p.w.write(ctx, msgs); err != nil {
		return unavailable(err, "publish %d events", len(msgs))
	}
	return nil
}

// Remember primes the Publisher's cache of order references with os, so that publishing their
// events costs no lookup: the service calls it when it creates orders, with their IDs. Orders
// without an ID are skipped, and nothing is remembered when the Publisher has no lookup (its
// events name no order). It is safe for concurrent use.
func (p *Publisher) Remember(os ...orders.Order) {
	if p.lookup == nil {
		return
	}
	for _, o := range os {
		if o.ID != "" {
			p.refs.put(o.ID, RefOf(o))
		}
	}
}

// ref returns the OrderRef of the order id, from the cache or the lookup.
func (p *Publisher) ref(ctx context.Context, id string) (OrderRef, error) {
	if p.lookup == nil || id == "" {
		return OrderRef{}, nil
	}
	if r, ok := p.refs.get(id); ok {
		return r, nil
	}
	o, err := p.lookup.GetOrder(ctx, id)
	if err != nil {
		return OrderRef{}, err
	}
	r := RefOf(o)
	p.refs.put(id, r)
	return r, nil
}

// refCache remembers the OrderRefs of recent orders in two generations of up to max entries
// each. Lookups check both; an entry found in the previous generation moves to the current one;
// when the current generation is full it becomes the previous one, and the previous one is
// dropped. So an order whose events keep coming stays, and one that has gone quiet is forgotten
// after between max and 2×max other orders, instead of the whole cache at once; it holds at most
// 2×max entries. It is safe for concurrent use.
type refCache struct {
	max int

	mu        sync.Mutex
	cur, prev map[string]OrderRef
}

func newRefCache(max int) *refCache {
	return &refCache{max: max, cur: map[string]OrderRef{}, prev: map[string]OrderRef{}}
}

// get returns the OrderRef of id and whether the cache has it.
func (c *refCache) get(id string) (OrderRef, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.cur[id]; ok {
		return r, true
	}
	r, ok := c.prev[id]
	if ok {
		delete(c.prev, id)
		c.putLocked(id, r)
	}
	return r, ok
}

// put remembers r as the OrderRef of id.
func (c *refCache) put(id string, r OrderRef) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.prev, id)
	c.putLocked(id, r)
}

func (c *refCache) putLocked(id string, r OrderRef) {
	if _, ok := c.cur[id]; !ok && len(c.cur) >= c.max {
		// Sized for a full generation: one that filled up is likely to fill up again.
		c.prev, c.cur = c.cur, make(map[string]OrderRef, c.max)
	}
	c.cur[id] = r
}

// len returns the number of entries of both generations.
func (c *refCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.prev)
}

// Close closes the writer's connections.
func (p *Publisher) Close() error { return p.w.close() }

// Producer writes placed orders to orders.placed and rider positions to riders.locations, keyed
// by dispatch area, in binary protobuf: the REST API's intake, simulators and load tests use it.
// It is safe for concurrent use.
type Producer struct {
	placed, locations *writer
}

// NewProducer returns a Producer on cfg's brokers and topics. Close releases the connections.
func NewProducer(cfg Config) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Producer{
		placed:    newWriter(cfg, cfg.Topics.Placed, "producer"),
		locations: newWriter(cfg, cfg.Topics.Locations, "producer"),
	}, nil
}

// PlaceOrders writes the orders, keyed by the area of their dropoff, and returns once the brokers
// have acknowledged them. The orders are not checked: the intake does that.
func (p *Producer) PlaceOrders(ctx context.Context, list ...orders.Order) error {
	msgs := make([]kafkago.Message, len(list))
	for i, o := range list {
		b, err := EncodeOrderPlaced(o, ContentTypeProtobuf)
		if err != nil {
			return fmt.Errorf("place order %s: %w", o.Key(), err)
		}
		msgs[i] = message(AreaKey(o.Dropoff), b)
	}
	if err := p.placed.write(ctx, msgs); err != nil {
		return unavailable(err, "place %d orders", len(list))
	}
	return nil
}

// ReportLocations writes rider positions, keyed by the area of the position, and returns once
// the brokers have acknowledged them.
func (p *Producer) ReportLocations(ctx context.Context, ls ...Location) error {
	msgs := make([]kafkago.Message, len(ls))
	for i, l := range ls {
		b, err := EncodeRiderLocation(l, ContentTypeProtobuf)
		if err != nil {
			return fmt.Errorf("report the location of rider %s: %w", l.RiderID, err)
		}
		msgs[i] = message(AreaKey(l.Point), b)
	}
	if err := p.locations.write(ctx, msgs); err != nil {
		return unavailable(err, "report %d rider locations", len(ls))
	}
	return nil
}

// Close closes the writers' connections.
func (p *Producer) Close() error {
	return errors.Join(p.placed.close(), p.locations.close())
}

// message returns a binary protobuf message with its content-type header.
func message(key string, value []byte) kafkago.Message {
	return kafkago.Message{Key: []byte(key), Value: value, Headers: protobufHeaders}
}

// protobufHeaders are the headers of every protobuf message the producers write. The messages
// share them: the writers only read a message's headers.
var protobufHeaders = []kafkago.Header{{Key: HeaderContentType, Value: []byte(ContentTypeProtobuf)}}

// PartitionOf returns the partition of a topic of n partitions that a message with the key goes
// to, as the writers of this package (and Kafka's Java producer) choose it: murmur2 of the key.
// With AreaKey it tells which partition of orders.placed, hence which dispatcher, owns an area.
func PartitionOf(key string, n int) int { return partitionOf([]byte(key), n) }

func partitionOf(key []byte, n int) int {
	if n <= 0 {
		return 0
	}
	return kafkago.Murmur2Balancer{}.Balance(kafkago.Message{Key: key}, partitionList(n)...)
}

// partitionLists holds 0, 1, ..., n-1 for each n asked for, so that PartitionOf, called for every
// order a dispatcher of several takes in, does not build the list each time.
var partitionLists sync.Map // int → []int

func partitionList(n int) []int {
	if ps, ok := partitionLists.Load(n); ok {
		return ps.([]int)
	}
	ps := make([]int, n)
	for i := range ps {
		ps[i] = i
	}
	partitionLists.Store(n, ps)
	return ps
}

// PartitionCount returns the number of partitions of a topic.
func PartitionCount(ctx context.Context, brokers []string, topic string) (int, error) {
	var d kafkago.Dialer
	for _, b := range brokers {
		conn, err := d.DialContext(ctx, "tcp", b)
		if err != nil {
			continue
		}
		ps, err := conn.ReadPartitions(topic)
		conn.Close()
		if err != nil {
			return 0, unavailable(err, "read the partitions of %s", topic)
		}
		return len(ps), nil
	}
	return 0, orders.Unavailable("no broker of %v answers", brokers)
}
