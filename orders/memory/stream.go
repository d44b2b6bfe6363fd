package memory

import (
	"context"
	"sync"

	"zhengxiang/orders"
)

var _ orders.Publisher = (*Stream)(nil)

// Stream is an in-process event stream: an append-only log of events that any number of
// subscribers read at their own pace, like a single-partition topic kept in memory.
//
// Publish appends to the log and never waits for subscribers. Each subscriber has a goroutine that
// copies the log into its channel (buffered with the size given to NewStream); a slow subscriber
// falls behind without blocking publishers or other subscribers and loses nothing. The cost is
// memory: the log keeps every event for the life of the Stream, which is what lets a subscriber
// start from the beginning.
type Stream struct {
	buffer int

	mu     sync.Mutex
	log    []orders.Event
	wake   chan struct{} // closed and replaced when the log grows or the stream closes
	closed bool
}

// NewStream returns an empty stream whose subscribers' channels hold buffer events (at least 1).
func NewStream(buffer int) *Stream {
	return &Stream{buffer: max(buffer, 1), wake: make(chan struct{})}
}

// Publish appends evs to the log, in order. It fails with KindUnavailable once the stream is
// closed.
func (s *Stream) Publish(_ context.Context, evs ...orders.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return orders.Unavailable("event stream closed")
	}
	if len(evs) == 0 {
		return nil
	}
	s.log = append(s.log, evs...)
	close(s.wake)
	s.wake = make(chan struct{})
	return nil
}

// Subscribe returns a channel of the events published from now on, or of every event since the
// first one when fromStart is set. The channel is closed when ctx is done, or when the stream is
// closed and the subscriber has received every event published before.
func (s *Stream) Subscribe(ctx context.Context, fromStart bool) <-chan orders.Event {
	out := make(chan orders.Event, s.buffer)
	s.mu.Lock()
	next := len(s.log)
	if fromStart {
		next = 0
	}
	s.mu.Unlock()
	go s.feed(ctx, out, next)
	return out
}

// feed copies the log from index next into out until ctx is done or the closed stream runs dry.
func (s *Stream) feed(ctx context.Context, out chan<- orders.Event, next int) {
	defer close(out)
	for {
		s.mu.Lock()
		// The log is append-only: the elements below len never change, so they can be read
		// without the lock.
		pending := s.log[next:len(s.log):len(s.log)]
		wake, closed := s.wake, s.closed
		s.mu.Unlock()
		for _, ev := range pending {
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
		next += len(pending)
		if len(pending) > 0 {
			continue
		}
		if closed {
			return
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return
		}
	}
}

// Len returns the number of events in the log.
func (s *Stream) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

// Close stops the stream: Publish fails from now on, and each subscription ends once it has
// delivered the events published before. Close does not wait for subscribers.
func (s *Stream) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.wake)
	}
}
