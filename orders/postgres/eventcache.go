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
// published its event, leaves after between cacheTTL/2 and cacheTTL, or sooner once the cache
// holds cacheMax.
//
// The entries are kept in two generations, as the Kafka publisher's order references are: new
// ones go into cur, which becomes prev once it is cacheTTL/2 old or holds cacheMax/2, and the
// old prev is dropped whole. A published event leaves at once, with its strings: the cache
// keeps no list of what it held.
//
// A nil *eventCache keeps nothing.
type eventCache struct {
	mu        sync.Mutex
	cur, prev map[eventKey]orders.Event
	since     time.Time // when cur was started
}

// eventKey names an event, as an outbox row does.
type eventKey struct {
	orderID string
	seq     int64
}

// Bounds of the event cache: at a peak the relay takes an event within a second or two of its
// commit.
const (
	cacheTTL = time.Minute
	cacheMax = 200_000
)

func newEventCache() *eventCache {
	return &eventCache{cur: map[eventKey]orders.Event{}, prev: map[eventKey]orders.Event{}}
}

// put keeps events that have just been committed.
func (c *eventCache) put(evs ...orders.Event) { c.putAt(time.Now(), evs...) }

// putAt is put at the time now.
func (c *eventCache) putAt(now time.Time, evs ...orders.Event) {
	if c == nil || len(evs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range evs {
		if now.Sub(c.since) >= cacheTTL/2 || len(c.cur) >= cacheMax/2 {
			c.prev, c.cur, c.since = c.cur, make(map[eventKey]orders.Event, len(c.cur)), now
		}
		ev.At, ev.ExpiresAt = asStored(ev.At), asStored(ev.ExpiresAt)
		c.cur[eventKey{ev.OrderID, ev.Seq}] = ev
	}
}

// asStored is t as the relay gets it back from order_events: written with ts, read with timeOf,
// in UTC.
func asStored(t time.Time) time.Time { return timeOf(ts(t)).UTC() }

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
		ev, ok := c.cur[k]
		if !ok {
			ev, ok = c.prev[k]
		}
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
		delete(c.cur, k)
		delete(c.prev, k)
	}
}
