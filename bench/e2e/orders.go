package e2e

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"zhengxiang/bench/festival"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/kafka"
)

// platforms are the delivery platforms the orders come from, with their
// shares.
var platforms = []struct {
	id    string
	share float64
}{{"meituan", 0.55}, {"eleme", 0.30}, {"jddj", 0.10}, {"uupt", 0.05}}

// drawOrders draws n orders to the festival stores of the 1-hour circle
// serve registers with the same seed and count (not the factories of
// 郑享制造, whose orders wait for a collection wave), each delivered within
// about 1.5 km of its store and never beyond maxDropM. The platform order id is "<run>-<seq>", seq
// from 0. PlacedAt and ReadyAt are left for the moment the order goes out:
// the goods are ready when it is placed, so that the dispatcher may offer
// it in its next round instead of holding the offer back, by design, until
// the rider should set out.
func drawOrders(seed int64, stores, n int, run string) *drawnOrders {
	d := &drawnOrders{run: run,
		stores: slices.DeleteFunc(festival.Stores(seed, stores), func(s orders.Store) bool { return s.Section == orders.SectionMade }),
		ds:     make([]drawn, n)}
	area := geo.Zhengzhou()
	r := rand.New(rand.NewPCG(uint64(seed), 0x65326562))
	for i := range d.ds {
		x := &d.ds[i]
		x.store = int32(r.IntN(len(d.stores)))
		s := d.stores[x.store]
		x.drop = area.RandomPointNear(r, s.Point, 1500)
		for geo.DistanceM(s.Point, x.drop) > maxDropM {
			// Near the edge of the city a draw may fall back to anywhere in it,
			// outside the store's circle, and the order would be refused.
			x.drop = area.RandomPointNear(r, s.Point, 1500)
		}
		x.platform = uint8(len(platforms) - 1)
		v := r.Float64()
		for k, p := range platforms {
			if v -= p.share; v < 0 {
				x.platform = uint8(k)
				break
			}
		}
		x.items = uint8(1 + r.IntN(3))
		for j := range x.items {
			x.item[j] = drawnItem{sku: uint8(r.IntN(40)), qty: uint8(1 + r.IntN(2))} // sku drawn first
		}
	}
	return d
}

// drawnOrders are the orders of a run as drawn. They are held without
// pointers, for a run holds hundreds of thousands of them in the process of
// the service it measures, whose collector would scan them at every cycle;
// order makes each when it goes out.
type drawnOrders struct {
	run    string
	stores []orders.Store
	ds     []drawn
}

type drawn struct {
	drop     geo.Point
	store    int32 // in stores
	platform uint8 // in platforms
	items    uint8
	item     [3]drawnItem
}

type drawnItem struct{ sku, qty uint8 }

func (d *drawnOrders) len() int { return len(d.ds) }

// order returns the ith order.
func (d *drawnOrders) order(i int) orders.Order {
	x := &d.ds[i]
	items := make([]orders.Item, x.items)
	var sub int64
	for j := range items {
		k := int(x.item[j].sku)
		items[j] = orders.Item{SKU: fmt.Sprintf("sku-%02d", k), Name: fmt.Sprintf("festival item %02d", k),
			Qty: int(x.item[j].qty), PriceCents: int64(500 + 250*k)}
		sub += int64(items[j].Qty) * items[j].PriceCents
	}
	return orders.Order{
		Platform: platforms[x.platform].id, PlatformOrderID: orderKey(d.run, i), StoreID: d.stores[x.store].ID,
		Items: items, SubtotalCents: sub, DeliveryFeeCents: 300,
		Dropoff: x.drop, Address: "bench address " + strconv.Itoa(i),
	}
}

// all returns every order.
func (d *drawnOrders) all() []orders.Order {
	out := make([]orders.Order, d.len())
	for i := range out {
		out[i] = d.order(i)
	}
	return out
}

// maxDropM bounds the distance from a store to the drop-offs of its orders,
// well within its 1-hour circle.
const maxDropM = 3000

func orderKey(run string, i int) string { return fmt.Sprintf("%s-%07d", run, i) }

// orderSeq returns the seq of a platform order id made by orderKey.
func orderSeq(run, key string) (int, bool) {
	rest, ok := strings.CutPrefix(key, run+"-")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil
}

// encodedSize returns the bytes of the first order as it goes on the wire,
// the record size of the Kafka baseline.
func encodedSize(os []orders.Order) (int, error) {
	if len(os) == 0 {
		return 0, nil
	}
	o := os[0]
	o.PlacedAt, o.ReadyAt = time.Now(), time.Now()
	b, err := kafka.EncodeOrderPlaced(o, kafka.ContentTypeProtobuf)
	return len(b), err
}

// tracker follows every order placed: when it went out, when its first
// offer arrived, and the order ids and events it was given. It is safe for
// concurrent use.
type tracker struct {
	run     string
	sentAt  []atomic.Int64 // Unix ns the order went out
	nAcked  atomic.Int64
	lastNs  atomic.Int64
	offered atomic.Int64
	made    atomic.Int64

	mu      sync.Mutex
	offerAt []int64 // Unix ns of the first OFFERED event's arrival; 0 before
	madeAt  []int64 // Unix ns of the first ORDER_CREATED event's arrival; 0 before
	// ids holds, end to end, the order id named by the first event read of
	// each order: order i's is ids[idAt[i]:idAt[i]+idLen[i]]. seen has bit
	// s-1 set once that order id's event of seq s is read. Any other order
	// id for the same order (a duplicate) keeps its bits in others. extra
	// counts the order ids created beyond the first. So a run holds no
	// object an order here: the service's collector, in the same process,
	// would mark them all.
	ids     []byte
	idAt    []int32
	idLen   []uint8
	seen    []uint64
	others  map[string]uint64
	extra   map[int]int
	nCopies int
	foreign int // events of other orders, or undecodable
}

func newTracker(run string, n int) *tracker {
	return &tracker{run: run, sentAt: make([]atomic.Int64, n), offerAt: make([]int64, n), madeAt: make([]int64, n),
		ids: make([]byte, 0, 24*n), idAt: make([]int32, n), idLen: make([]uint8, n), seen: make([]uint64, n),
		others: map[string]uint64{}, extra: map[int]int{}}
}

// isID reports whether id is the order id of the first event read of order
// i, taking it as that when no event of order i was read before.
func (t *tracker) isID(i int, id string) bool {
	if t.idLen[i] == 0 && len(id) > 0 && len(id) <= math.MaxUint8 && len(t.ids)+len(id) <= math.MaxInt32 {
		t.idAt[i], t.idLen[i] = int32(len(t.ids)), uint8(len(id))
		t.ids = append(t.ids, id...)
	}
	at := int(t.idAt[i])
	return t.idLen[i] > 0 && string(t.ids[at:at+int(t.idLen[i])]) == id
}

func (t *tracker) sent(i int, at time.Time) {
	ns := at.UnixNano()
	t.sentAt[i].Store(ns)
	for {
		last := t.lastNs.Load()
		if ns <= last || t.lastNs.CompareAndSwap(last, ns) {
			return
		}
	}
}

func (t *tracker) acked(n int)       { t.nAcked.Add(int64(n)) }
func (t *tracker) ackedCount() int   { return int(t.nAcked.Load()) }
func (t *tracker) offeredCount() int { return int(t.offered.Load()) }
func (t *tracker) createdCount() int { return int(t.made.Load()) }
func (t *tracker) lastSent() time.Time {
	return time.Unix(0, t.lastNs.Load())
}

// event takes one message of orders.events that arrived at at.
func (t *tracker) event(value []byte, at time.Time) {
	ev, ref, err := kafka.DecodeEvent(value, kafka.ContentTypeProtobuf)
	var i int
	ok := err == nil
	if ok {
		i, ok = orderSeq(t.run, ref.PlatformOrderID)
		ok = ok && i >= 0 && i < len(t.offerAt)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !ok {
		t.foreign++
		return
	}
	if ev.Seq <= 64 {
		bit, own := uint64(1)<<(ev.Seq-1), t.isID(i, ev.OrderID)
		seen := t.seen[i]
		if !own {
			seen = t.others[ev.OrderID]
		}
		if seen&bit != 0 {
			t.nCopies++
			return
		}
		if own {
			t.seen[i] = seen | bit
		} else {
			t.others[ev.OrderID] = seen | bit
		}
	}
	switch ev.Type {
	case orders.EventOrderCreated:
		// Not a copy, so an order id not created before.
		if t.madeAt[i] != 0 {
			t.extra[i]++
			break
		}
		t.made.Add(1)
		t.madeAt[i] = at.UnixNano()
	case orders.EventOffered:
		if t.offerAt[i] == 0 {
			t.offerAt[i] = at.UnixNano()
			t.offered.Add(1)
		}
	}
}

// latencies returns every order's placement-to-offer time in
// milliseconds, +Inf for an order never offered, with its placement time
// (Unix ns), and the arrivals of the first offers in time order.
func (t *tracker) latencies() (lat []float64, sent, offers []int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	lat, sent = make([]float64, len(t.offerAt)), make([]int64, len(t.offerAt))
	for i, at := range t.offerAt {
		sent[i] = t.sentAt[i].Load()
		lat[i] = since(sent[i], at)
		if at != 0 {
			offers = append(offers, at)
		}
	}
	slices.Sort(offers)
	return lat, sent, offers
}

// recorded returns every order's placement-to-creation time (its
// ORDER_CREATED event read) in milliseconds, +Inf for an order not
// recorded.
func (t *tracker) recorded() []float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	lat := make([]float64, len(t.madeAt))
	for i, at := range t.madeAt {
		lat[i] = since(t.sentAt[i].Load(), at)
	}
	return lat
}

// since is the milliseconds from sent to at, +Inf when at is 0 (never).
func since(sent, at int64) float64 {
	if at == 0 {
		return math.Inf(1)
	}
	return float64(at-sent) / 1e6
}

func (t *tracker) created(i int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.madeAt[i] != 0
}

func (t *tracker) createdIDs(i int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.madeAt[i] == 0 {
		return 0
	}
	return 1 + t.extra[i]
}

func (t *tracker) copies() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.nCopies
}
