package server

import (
	"context"
	"sync"

	"zhengxiang/orders"
)

// Hub hands the events this process commits to the API's watchers (a
// store's tickets, a rider's offers) as they are published. It sits in
// front of the real publisher (the in-process stream or the outbox relay's
// Kafka publisher) and never holds it up: a watcher that falls behind by
// more than its buffer is dropped, and its client reconnects.
type Hub struct {
	next orders.Publisher

	mu   sync.Mutex
	subs map[*sub]struct{}
}

type sub struct {
	ch   chan orders.Event
	gone chan struct{} // closed when dropped for falling behind
	once sync.Once
}

// NewHub returns a hub publishing to next (nil: nowhere but the watchers).
func NewHub(next orders.Publisher) *Hub {
	return &Hub{next: next, subs: map[*sub]struct{}{}}
}

// Publish publishes to the next publisher, then hands the events to the
// watchers.
func (h *Hub) Publish(ctx context.Context, evs ...orders.Event) error {
	if h.next != nil {
		if err := h.next.Publish(ctx, evs...); err != nil {
			return err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
	events:
		for _, ev := range evs {
			select {
			case s.ch <- ev:
			default:
				s.once.Do(func() { close(s.gone) })
				delete(h.subs, s)
				break events
			}
		}
	}
	return nil
}

// subscribe returns a watcher of every event from now on, until
// unsubscribed.
func (h *Hub) subscribe() *sub {
	s := &sub{ch: make(chan orders.Event, 1024), gone: make(chan struct{})}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *Hub) unsubscribe(s *sub) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// follow hands each event the watcher gets to fn until the call ends (nil),
// fn fails, or the watcher fell behind (Unavailable: the client reconnects).
func follow(ctx context.Context, s *sub, fn func(orders.Event) error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.gone:
			return orders.Unavailable("the watch fell behind the order stream; reconnect")
		case ev := <-s.ch:
			if err := fn(ev); err != nil {
				return err
			}
		}
	}
}
