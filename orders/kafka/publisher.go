package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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

// maxRefs bounds the Publisher's cache of order references; a full cache is emptied.
const maxRefs = 1 << 16

// Publisher writes order events to orders.events: key the order id, value an OrderEvent, binary
// (header content-type application/x-protobuf) or, with Config.EventsJSON, its JSON form
// (application/json). It implements orders.Publisher for the outbox
// relay and is safe for concurrent use; the order of the events of one call is kept, that of
// concurrent calls is not defined.
type Publisher struct {
	w           *kafkago.Writer
	batch       int
	lookup      OrderLookup
	contentType string

	mu   sync.Mutex
	refs map[string]OrderRef
}

// NewPublisher returns a Publisher on cfg's brokers and events topic. When lookup is not nil,
// each event carries its order's platform, platform order id and store, looked up once per order
// and remembered; when it is nil they are left empty. Close releases the connections.
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
		batch:       cfg.BatchSize,
		lookup:      lookup,
		contentType: contentType,
		refs:        map[string]OrderRef{},
	}, nil
}

// newWriter returns a synchronous writer to topic that waits for every in-sync replica and
// partitions by murmur2 of the key, like Kafka's Java producer.
//
// kafka-go has no idempotent producer: a write that is retried after the broker stored it but
// before the answer arrived is stored twice. It sends one request at a time per partition, so
// retries never reorder the messages of a partition.
func newWriter(cfg Config, topic, component string) *kafkago.Writer {
	return &kafkago.Writer{
		Addr:         kafkago.TCP(cfg.Brokers...),
		Topic:        topic,
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
			Headers: []kafkago.Header{{Key: HeaderContentType, Value: []byte(p.contentType)}},
		}
	}
	// One request per partition per chunk: a failed chunk stops the call, so a later event of
	// an order is never written when an earlier one was not.
	done := 0
	for chunk := range slices.Chunk(msgs, p.batch) {
		if err := p.w.WriteMessages(ctx, chunk...); err != nil {
			return unavailable(err, "publish events: %d of %d acknowledged", done, len(msgs))
		}
		done += len(chunk)
	}
	return nil
}

// ref returns the OrderRef of the order id, from the cache or the lookup.
func (p *Publisher) ref(ctx context.Context, id string) (OrderRef, error) {
	if p.lookup == nil || id == "" {
		return OrderRef{}, nil
	}
	p.mu.Lock()
	r, ok := p.refs[id]
	p.mu.Unlock()
	if ok {
		return r, nil
	}
	o, err := p.lookup.GetOrder(ctx, id)
	if err != nil {
		return OrderRef{}, err
	}
	r = RefOf(o)
	p.mu.Lock()
	if len(p.refs) >= maxRefs {
		clear(p.refs)
	}
	p.refs[id] = r
	p.mu.Unlock()
	return r, nil
}

// Stats returns the writer's counters since the last call, for metrics.
func (p *Publisher) Stats() kafkago.WriterStats { return p.w.Stats() }

// Close flushes and closes the writer's connections.
func (p *Publisher) Close() error { return p.w.Close() }

// Producer writes placed orders to orders.placed and rider positions to riders.locations, keyed
// by dispatch area, in binary protobuf: the REST API's intake, simulators and load tests use it.
// It is safe for concurrent use.
type Producer struct {
	placed, locations *kafkago.Writer
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
	if err := p.placed.WriteMessages(ctx, msgs...); err != nil {
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
	if err := p.locations.WriteMessages(ctx, msgs...); err != nil {
		return unavailable(err, "report %d rider locations", len(ls))
	}
	return nil
}

// Close flushes and closes the writers' connections.
func (p *Producer) Close() error {
	return errors.Join(p.placed.Close(), p.locations.Close())
}

// message returns a binary protobuf message with its content-type header.
func message(key string, value []byte) kafkago.Message {
	return kafkago.Message{
		Key:     []byte(key),
		Value:   value,
		Headers: []kafkago.Header{{Key: HeaderContentType, Value: []byte(ContentTypeProtobuf)}},
	}
}
