package postgres

import (
	"sync"
	"time"

	"zhengxiang/orders"
)

// eventCache keeps the events that this process's writers committed until the relay publishes
// them, so that a relay round reads the outbox's rows and not their events again: the events
// that a round does not find here (another process wrote them, or this one before a restart)
// it reads from order_events. An event is kept as the database holds it, its times to the
// microsecond and in UTC. An entry that no round takes, because another process's relay
// published its event, leaves after cacheTTL, or sooner once the cache holds cacheMax.
//
// A nil *eventCache keeps nothing.
type eventCache struct {
	mu    sync.Mutex
	byKey map[eventKey]orders.Event
	// queue holds the keys in the order they came, with when, for expiry; queue[head:] are
	// those not expired yet.
	queue []queued
	head  int
}

// eventKey names an event, as an outbox row does.
type eventKey struct {
	orderID string
	seq     int64
}

type queued struct {
	key eventKey
	at  time.Time
}

// Bounds of the event cache: at a peak the relay takes an event within a second or two of its
// commit.
const (
	cacheTTL = time.Minute
	cacheMax = 200_000
)

func newEventCache() *eventCache { return &eventCache{byKey: map[eventKey]orders.Event{}} }

// put keeps events that have just been committed.
func (c *eventCache) put(evs ...orders.Event) {
	if c == nil || len(evs) == 0 {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range evs {
		ev.At, ev.ExpiresAt = asStored(ev.At), asStored(ev.ExpiresAt)
		k := eventKey{ev.OrderID, ev.Seq}
		c.byKey[k] = ev
		c.queue = append(c.queue, queued{k, now})
	}
	c.expire(now)
}

// asStored is t as the relay gets it back from order_events: written with ts, read with timeOf,
// in UTC.
func asStored(t time.Time) time.Time { return timeOf(ts(t)).UTC() }

// expire forgets the entries older than cacheTTL and the oldest beyond cacheMax.
func (c *eventCache) expire(now time.Time) {
	for c.head < len(c.queue) && (len(c.queue)-c.head > cacheMax || now.Sub(c.queue[c.head].at) > cacheTTL) {
		delete(c.byKey, c.queue[c.head].key)
		c.queue[c.head] = queued{}
		c.head++
	}
	if c.head > len(c.queue)/2 {
		c.queue = c.queue[:copy(c.queue, c.queue[c.head:])]
		c.head = 0
	}
}

// get returns the events of keys that the cache holds, in found, and the indexes of keys of
// the others, in missing.
func (c *eventCache) get(keys []eventKey, found []orders.Event) (missing []int) {
	if c == nil {
		for i := range keys {
			missing = append(missing, i)
		}
		return missing
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, k := range keys {
		ev, ok := c.byKey[k]
		if !ok {
			missing = append(missing, i)
			continue
		}
		found[i] = ev
	}
	return missing
}

// forget drops the events of keys, published.
func (c *eventCache) forget(keys []eventKey) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.byKey, k)
	}
}
