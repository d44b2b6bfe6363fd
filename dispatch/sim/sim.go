// Package sim plays the world around the dispatcher: stores that take and
// prepare tickets, riders who answer offers, ride, pick up and drop off, and
// customers who place orders, all on a simulated clock. The dispatcher it
// drives is the real engine; only time and people are simulated.
package sim

import (
	"container/heap"
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand"
	"slices"
	"sync"
	"time"

	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// Rider is a simulated rider with its shift.
type Rider struct {
	ID       string
	Start    geo.Point
	On, Off  time.Time
	Capacity int
}

// Order is a simulated order: what the platform submits, and when the store
// really has it ready.
type Order struct {
	Order       orders.Order
	ActualReady time.Time // zero: ready at Order.ReadyAt
}

// Behaviour is how simulated people act.
type Behaviour struct {
	// AnswerDelay is how long a rider takes to answer an offer.
	AnswerDelay time.Duration
	// DeclineProb is the chance that a rider declines an offer.
	DeclineProb float64
	// SilentProb is the chance that a rider does not answer at all.
	SilentProb float64
	// MerchantDelay is how long a store takes to accept a ticket.
	MerchantDelay time.Duration
	// PingEvery is how often riders report their position (0: never).
	PingEvery time.Duration
	// Seed makes the people's choices repeatable.
	Seed int64
}

// Platform is the platforms' and consumers' side of a simulation's orders,
// when the simulation plays it (SetPlatform).
type Platform struct {
	// Place places an order at its placement time in place of the
	// engine's Submit: what a platform's intake does before the engine
	// takes an order (its drop site, its free delivery, its campaign).
	// Nil: the engine's Submit.
	Place func(ctx context.Context, o orders.Order) (orders.Order, error)
	// Collect is called when the consumer takes the goods out of a
	// locker or off a drop point's shelf, on average CollectAfter after
	// the drop-off (exponentially distributed). Nil: never.
	Collect      func(ctx context.Context, orderID string) error
	CollectAfter time.Duration
}

// OrderRecord is what happened to one order.
type OrderRecord struct {
	ID, StoreID, RiderID, TripID string
	Placed, Ready, Promise       time.Time
	Pickup, Dropoff              time.Time // zero if it did not happen
	Delivered, Cancelled         bool
	CancelReason                 string
}

// TripRecord is one accepted trip as the rider rode it.
type TripRecord struct {
	ID, RiderID, StoreID string
	OrderIDs             []string // in drop-off order
	Offered              time.Time
	Depart, Pickup       time.Time
	Dropoffs             []time.Time
	Withdrawn            bool // taken back before pickup and given to another rider
}

// Result is the outcome of a simulation.
type Result struct {
	Orders []OrderRecord
	Trips  []TripRecord
	Rounds int
	Stats  dispatch.Stats
}

type kind int

// Events at the same minute happen in this order: shifts begin, orders
// arrive, stores act, riders move, the round runs, riders answer, shifts end.
const (
	evShiftStart kind = iota
	evPlace
	evMerchant
	evReady
	evArriveStore
	evPickup
	evArriveDrop
	evDrop
	evDepart
	evPing
	evRound
	evAnswer
	evShiftEnd
)

type event struct {
	at   float64 // minutes since the simulation's start
	kind kind
	seq  int
	fn   func()
	// The events that wait in great numbers name what they concern instead of a closure (fn),
	// which would be an object more each: every rider has a health card (evShiftStart), a shift
	// end (evShiftEnd) and a ping (evPing) waiting, or reaches the store of trip (evArriveStore);
	// every order waits for its store to take it (evMerchant, saying at once that the goods are
	// ready when ready is set) and to have it ready (evReady).
	rider *simRider
	trip  *simTrip
	order string
	ready bool
}

// queue is the heap (container/heap) of events by (at, kind, seq), held by value, as
// dispatch's dueItems are: the events waiting in it (a shift's end waits for the whole shift)
// are no objects of their own for the collector.
type queue []event

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	if q[i].kind != q[j].kind {
		return q[i].kind < q[j].kind
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = event{} // its closure, rider, trip and order go with it
	*q = old[:len(old)-1]
	return e
}

func (q *queue) push(e event) { heap.Push(q, e) }

// pop removes and returns the first event; the queue must not be empty.
func (q *queue) pop() event { return heap.Pop(q).(event) }

type simTrip struct {
	offer     dispatch.Offer
	record    TripRecord // Sim.trips points here: one object a trip, not two
	withdrawn bool
}

type simRider struct {
	spec    Rider
	pos     geo.Point
	queue   []*simTrip
	cur     *simTrip // the trip being ridden to its store, until pickup
	busy    bool
	onShift bool
	// the leg being ridden, for pings
	legFrom, legTo   geo.Point
	legStart, legEnd float64
}

// Sim runs a simulated world around an engine.
type Sim struct {
	eng    *dispatch.Engine
	clock  dispatch.Clock
	manual *dispatch.ManualClock // set when the simulation owns time
	log    *slog.Logger          // set in live mode, where errors are logged
	// inbox holds what other goroutines hand a live simulation (Placed,
	// Round, StartRider), unbounded so that they never wait for it; wake
	// tells RunLive that it is not empty.
	inMu  sync.Mutex
	inbox []func()
	wake  chan struct{}
	// riderPool and storePool carry a live simulation's calls to the
	// engine on behalf of riders and of stores, so that a busy city's
	// stores and riders answer at once, and riders' answers never wait
	// behind stores' (see call).
	riderPool, storePool []chan func()
	travel               geo.Travel
	beh                  Behaviour
	rng                  *rand.Rand
	epoch                time.Time

	q       queue
	seq     int
	riders  map[string]*simRider
	records map[string]*OrderRecord
	order   []string
	ready   map[string]float64 // actual ready minute of each order
	trips   []*TripRecord
	rounds  int

	live map[string]*simTrip // accepted trips not yet picked up or withdrawn
	// gone holds the trips withdrawn before the rider's yes came back
	// from the engine: the yes was recorded, then the trip taken away.
	gone    map[string]bool
	tracked map[string]bool // orders whose store the simulation plays
	open    int             // orders not yet ended
	err     error

	// drops holds the drop-off of the orders tracked whose consumer did
	// not choose the door: the chosen one, with the hand-over code of a
	// hand-over in person.
	drops    map[string]orders.Dropoff
	platform Platform
}

// New returns a simulation driving eng, whose clock must be clock. The
// simulation owns time: Run moves the clock from event to event.
func New(eng *dispatch.Engine, clock *dispatch.ManualClock, travel geo.Travel, beh Behaviour) *Sim {
	s := newSim(eng, clock, travel, beh)
	s.manual = clock
	return s
}

// NewLive returns a simulation that plays stores and riders around a live
// engine on the engine's own clock (the wall clock, or a ScaledClock for a
// faster demo): RunLive waits for each event's time instead of jumping to
// it, and orders and rounds arrive from other goroutines through Placed and
// Round. Errors are logged, not fatal: a live system goes on.
func NewLive(eng *dispatch.Engine, clock dispatch.Clock, travel geo.Travel, beh Behaviour, log *slog.Logger) *Sim {
	s := newSim(eng, clock, travel, beh)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.log = log
	s.wake = make(chan struct{}, 1)
	s.riderPool, s.storePool = newPool(liveRiders, 64), newPool(liveStores, 64)
	return s
}

func newSim(eng *dispatch.Engine, clock dispatch.Clock, travel geo.Travel, beh Behaviour) *Sim {
	return &Sim{
		eng: eng, clock: clock, travel: travel, beh: beh,
		rng:     rand.New(rand.NewSource(beh.Seed)),
		epoch:   clock.Now(),
		riders:  map[string]*simRider{},
		records: map[string]*OrderRecord{},
		ready:   map[string]float64{},

		live:    map[string]*simTrip{},
		gone:    map[string]bool{},
		tracked: map[string]bool{},
		drops:   map[string]orders.Dropoff{},
	}
}

// SetPlatform has the simulation play the platforms' and consumers' side
// of its orders with p; call it before Run.
func (s *Sim) SetPlatform(p Platform) { s.platform = p }

// AddStore registers a store with the engine.
func (s *Sim) AddStore(ctx context.Context, st orders.Store) error {
	return s.eng.AddStore(ctx, st)
}

func (s *Sim) min(t time.Time) float64 { return t.Sub(s.epoch).Minutes() }

func (s *Sim) now() float64 { return s.min(s.clock.Now()) }

func (s *Sim) at(m float64) time.Time {
	return s.epoch.Add(time.Duration(math.Round(m * float64(time.Minute))))
}

func (s *Sim) schedule(at float64, k kind, fn func()) {
	s.push(event{at: at, kind: k, fn: fn})
}

// scheduleRider schedules rider sr's health card (evShiftStart), evShiftEnd or evPing.
func (s *Sim) scheduleRider(at float64, k kind, sr *simRider) {
	s.push(event{at: at, kind: k, rider: sr})
}

// push schedules e, a closure or one of the events that name what they concern.
func (s *Sim) push(e event) {
	s.seq++
	e.seq = s.seq
	s.q.push(e)
}

// fire makes e happen.
func (s *Sim) fire(e event) {
	switch {
	case e.fn != nil:
		e.fn()
	case e.kind == evShiftStart:
		s.recordCard(e.rider)
	case e.kind == evShiftEnd:
		s.endShift(e.rider)
	case e.kind == evPing:
		s.ping(e.rider)
	case e.kind == evArriveStore:
		s.arriveStore(e.rider, e.trip, e.at)
	case e.kind == evMerchant:
		s.merchant(e.order, e.ready, e.at)
	case e.kind == evReady:
		s.markReady(e.order, e.at)
	}
}

func (s *Sim) fail(err error) {
	if err == nil {
		return
	}
	if s.log != nil {
		s.log.Warn("simulated store or rider", "err", err)
		return
	}
	if s.err == nil {
		s.err = err
	}
}

// AddRider schedules a rider's shift.
func (s *Sim) AddRider(r Rider) {
	sr := &simRider{spec: r, pos: r.Start}
	s.riders[r.ID] = sr
	s.scheduleCards(sr)
	s.schedule(s.min(r.On), evShiftStart, func() {
		sr.onShift = true
		rider := orders.Rider{ID: r.ID, Capacity: r.Capacity, ShiftStart: r.On, ShiftEnd: r.Off, Point: sr.pos}
		var trips []dispatch.Offer
		s.call(s.riderPool, r.ID, func() error {
			err := s.eng.StartShift(context.Background(), rider)
			trips = s.eng.Trips(r.ID)
			return err
		}, func(err error) {
			s.fail(err)
			s.adopt(sr, trips)
			if s.beh.PingEvery > 0 {
				s.schedulePing(sr, s.min(r.On)+s.beh.PingEvery.Minutes()*s.rng.Float64())
			}
		})
	})
	// The shift's end waits in the queue for the whole shift, with every
	// rider's.
	s.scheduleRider(s.min(r.Off), evShiftEnd, sr)
}

func (s *Sim) endShift(sr *simRider) {
	sr.onShift = false
	id := sr.spec.ID
	s.call(s.riderPool, id, func() error { return s.eng.EndShift(context.Background(), id) }, s.fail)
}

// adopt takes over trips, those the engine says a rider already has, as a
// rider's app does after the service restarted: a trip not picked up yet is
// ridden from the start, one under way from its next drop-off.
func (s *Sim) adopt(sr *simRider, trips []dispatch.Offer) {
	now := s.now()
	for _, off := range trips {
		t := &simTrip{offer: off, record: TripRecord{ID: off.TripID, RiderID: off.RiderID, StoreID: off.StoreID, OrderIDs: off.OrderIDs, Offered: off.Depart}}
		s.trips = append(s.trips, &t.record)
		if off.PickedUp {
			if sr.busy {
				continue // one trip under way at a time
			}
			sr.busy = true
			s.ride(sr, t, off.Next, now)
			continue
		}
		s.live[off.TripID] = t
		sr.queue = append(sr.queue, t)
	}
	if !sr.busy {
		s.start(sr, now)
	}
}

func (s *Sim) schedulePing(sr *simRider, at float64) { s.scheduleRider(at, evPing, sr) }

// ping reports sr's position, while it is on shift or riding, and schedules its next ping.
func (s *Sim) ping(sr *simRider) {
	if !sr.onShift && !sr.busy {
		return
	}
	now := s.now()
	if err := s.eng.Ping(sr.spec.ID, sr.position(now)); err != nil {
		s.fail(err)
	}
	s.schedulePing(sr, now+s.beh.PingEvery.Minutes())
}

// AddOrder schedules an order's placement and its store's handling.
func (s *Sim) AddOrder(o Order) {
	ord := o.Order
	ready := ord.ReadyAt
	if !o.ActualReady.IsZero() {
		ready = o.ActualReady
	}
	place := s.eng.Submit
	if s.platform.Place != nil {
		place = s.platform.Place
	}
	s.schedule(s.min(ord.PlacedAt), evPlace, func() {
		stored, err := place(context.Background(), ord)
		if err != nil {
			s.fail(fmt.Errorf("submit %s/%s: %w", ord.Platform, ord.PlatformOrderID, err))
			return
		}
		s.track(stored, ready)
	})
}

// track plays the store of an order the engine has taken: it accepts the
// ticket and marks the order ready at ready.
func (s *Sim) track(stored orders.Order, ready time.Time) {
	if s.tracked[stored.ID] {
		return // a second delivery of the same order
	}
	s.tracked[stored.ID] = true
	if h := stored.ChosenDropoff(); h != orders.HandoverDoor {
		d := orders.Dropoff{Handover: h}
		if h == orders.HandoverInPerson {
			d.Code = stored.HandoverCode
		}
		s.drops[stored.ID] = d
	}
	placed := s.min(stored.PlacedAt)
	rec := s.record(stored.ID)
	rec.StoreID, rec.Placed, rec.Ready, rec.Promise = stored.StoreID, stored.PlacedAt, ready, stored.PromiseAt
	id := stored.ID
	switch stored.Status {
	case orders.StatusCreated, orders.StatusTicketSent:
		accept := placed + s.beh.MerchantDelay.Minutes()
		// When the goods are ready by the time the store takes the order, one
		// answer says both.
		both := accept >= s.min(ready)
		s.push(event{at: accept, kind: evMerchant, order: id, ready: both})
		if both {
			return
		}
	case orders.StatusReadyForPickup:
		s.ready[id] = s.min(stored.ReadyMarkedAt)
		return
	case orders.StatusMerchantAccepted:
	default:
		return // ended
	}
	s.push(event{at: s.min(ready), kind: evReady, order: id})
}

// merchant has the store of order id take it at minute at, and say that
// the goods are ready when ready is set.
func (s *Sim) merchant(id string, ready bool, at float64) {
	if !ready {
		s.call(s.storePool, id, func() error { return s.eng.MerchantAccept(context.Background(), id) }, s.fail)
		return
	}
	s.call(s.storePool, id, func() error { return s.eng.MerchantAcceptReady(context.Background(), id) }, func(err error) {
		s.ready[id] = at
		s.fail(err)
	})
}

// markReady has the store of order id say that the goods are ready, at
// minute at: the rider picks up once the engine knows.
func (s *Sim) markReady(id string, at float64) {
	s.call(s.storePool, id, func() error { return s.eng.MarkReady(context.Background(), id) }, func(err error) {
		s.ready[id] = at
		if !orders.IsKind(err, orders.KindConflict) {
			s.fail(err)
		}
	})
}

// record returns the record of an order, making one for an order the
// simulation did not place (one a restarted service already had).
func (s *Sim) record(id string) *OrderRecord {
	rec := s.records[id]
	if rec == nil {
		rec = &OrderRecord{ID: id}
		s.records[id] = rec
		s.order = append(s.order, id)
		s.open++
	}
	return rec
}

// Placed hands a live simulation an order the engine has just taken, so
// that its store accepts it and has it ready at the order's ReadyAt. Safe
// for concurrent use.
func (s *Sim) Placed(o orders.Order) {
	s.post(func() { s.track(o, o.ReadyAt) })
}

// readyPoll is how long, in minutes, a rider at the counter waits before
// looking again for an order whose store has not yet told the engine that it
// is ready.
const readyPoll = 0.05

// liveRiders and liveStores are the goroutines a live simulation calls the
// engine from on behalf of riders and of stores. Each call waits for its
// answer, as an app's request does, so they are many: at a peak thousands of
// riders and stores are waiting for an answer at any moment: at 2,000
// offers a second, with a rider's yes taking a round or two to be recorded,
// some ten thousand. Riders and stores left waiting in a queue behind
// others would answer after their offers expired.
const (
	liveRiders = 16384
	liveStores = 1024
)

// newPool returns the queues, of size q, of n workers.
func newPool(n, q int) []chan func() {
	p := make([]chan func(), n)
	for i := range p {
		p[i] = make(chan func(), q)
	}
	return p
}

// call runs fn, a call to the engine on behalf of the store or rider key,
// and then hands its error to then. A simulation that owns time does both
// at once; a live one runs fn on the worker of pool that key hashes to, the
// calls of one key in order, and then goes on back on RunLive's goroutine.
func (s *Sim) call(pool []chan func(), key string, fn func() error, then func(error)) {
	if pool == nil {
		then(fn())
		return
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	pool[h.Sum32()%uint32(len(pool))] <- func() {
		err := fn()
		s.post(func() { then(err) })
	}
}

// post hands fn to RunLive's goroutine.
func (s *Sim) post(fn func()) {
	s.inMu.Lock()
	s.inbox = append(s.inbox, fn)
	s.inMu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Round hands a live simulation a dispatch round's outcome, so that riders
// answer its offers. Safe for concurrent use.
func (s *Sim) Round(st dispatch.RoundStats) {
	s.post(func() { s.onRound(st) })
}

// StartRider puts a rider of a live simulation on shift now, until off.
// Safe for concurrent use.
func (s *Sim) StartRider(r Rider) {
	s.post(func() { s.AddRider(r) })
}

func (s *Sim) onRound(st dispatch.RoundStats) {
	s.rounds++
	now := s.min(st.At)
	for _, id := range st.Withdrawn {
		s.withdraw(id, now)
	}
	for _, id := range st.Cancelled {
		if rec := s.records[id]; rec != nil && !rec.Cancelled {
			rec.Cancelled, rec.CancelReason = true, "cannot be delivered within the maximum click-to-door time"
			s.open--
		}
	}
	for _, off := range st.Offers {
		off := off
		sr := s.riders[off.RiderID]
		r := s.rng.Float64()
		switch {
		case r < s.beh.SilentProb:
			continue // the offer will expire
		case r < s.beh.SilentProb+s.beh.DeclineProb:
			s.schedule(now+s.beh.AnswerDelay.Minutes(), evAnswer, func() {
				s.call(s.riderPool, off.RiderID, func() error { return s.eng.Decline(context.Background(), off.RiderID, off.TripID) },
					func(err error) { s.fail(ignoreGone(err)) })
			})
		default:
			s.schedule(now+s.beh.AnswerDelay.Minutes(), evAnswer, func() {
				s.call(s.riderPool, off.RiderID, func() error { return s.eng.Accept(context.Background(), off.RiderID, off.TripID) },
					func(err error) { s.accepted(sr, off, st.At, err) })
			})
		}
	}
}

// accepted goes on after a rider's yes to an offer: the trip joins the
// rider's queue, and the rider sets out if it is free.
func (s *Sim) accepted(sr *simRider, off dispatch.Offer, offered time.Time, err error) {
	gone := s.gone[off.TripID]
	delete(s.gone, off.TripID)
	if err != nil {
		s.fail(ignoreGone(err)) // nothing, if the offer expired or was withdrawn meanwhile
		return
	}
	if gone {
		return // taken back by a round that came before this answer did
	}
	off.Dropoffs = nil // the rider rides to the doors; the planned times are not kept
	t := &simTrip{offer: off, record: TripRecord{ID: off.TripID, RiderID: off.RiderID, StoreID: off.StoreID, OrderIDs: off.OrderIDs, Offered: offered}}
	s.live[off.TripID] = t
	s.trips = append(s.trips, &t.record)
	for _, id := range off.OrderIDs {
		rec := s.record(id)
		rec.RiderID, rec.TripID = off.RiderID, off.TripID
	}
	sr.queue = append(sr.queue, t)
	if !sr.busy {
		s.start(sr, s.now())
	}
}

// ignoreGone drops the errors that mean an offer is no longer open (expired,
// withdrawn or taken back meanwhile): a rider's late answer, not a fault.
func ignoreGone(err error) error {
	if k := orders.KindOf(err); k == orders.KindConflict || k == orders.KindNotFound {
		return nil
	}
	return err
}

// withdraw takes a trip off its rider: out of the queue, or, if the rider
// is on the way to the store, stopped where it is and sent on its next trip.
func (s *Sim) withdraw(tripID string, now float64) {
	t := s.live[tripID]
	if t == nil {
		s.gone[tripID] = true // an offer not yet answered, or whose yes is on its way back
		return
	}
	t.withdrawn = true
	t.record.Withdrawn = true
	delete(s.live, tripID)
	sr := s.riders[t.offer.RiderID]
	for i, q := range sr.queue {
		if q == t {
			sr.queue = append(sr.queue[:i:i], sr.queue[i+1:]...)
			return
		}
	}
	if sr.cur == t {
		sr.cur = nil
		sr.pos = sr.position(now)
		s.start(sr, now)
	}
}

// position is where the rider is at minute now on its current leg.
func (sr *simRider) position(now float64) geo.Point {
	if !sr.busy || now >= sr.legEnd || sr.legEnd <= sr.legStart {
		return sr.pos
	}
	f := math.Max(0, (now-sr.legStart)/(sr.legEnd-sr.legStart))
	return geo.Point{Lat: sr.legFrom.Lat + f*(sr.legTo.Lat-sr.legFrom.Lat), Lng: sr.legFrom.Lng + f*(sr.legTo.Lng-sr.legFrom.Lng)}
}

// start sends a rider on its next trip at minute now.
func (s *Sim) start(sr *simRider, now float64) {
	if len(sr.queue) == 0 {
		sr.busy = false
		return
	}
	sr.busy = true
	t := sr.queue[0]
	sr.queue = sr.queue[1:]
	sr.cur = t
	t.record.Depart = s.at(now)
	store := t.offer.Store
	arrive := now + s.travel.TravelMinutes(sr.pos, store)
	sr.legFrom, sr.legTo, sr.legStart, sr.legEnd = sr.pos, store, now, arrive
	s.push(event{at: arrive, kind: evArriveStore, rider: sr, trip: t})
}

// arriveStore has rider sr reach the store of trip t at minute arrive.
func (s *Sim) arriveStore(sr *simRider, t *simTrip, arrive float64) {
	if t.withdrawn {
		return
	}
	sr.pos = t.offer.Store
	s.call(s.riderPool, sr.spec.ID, func() error { return s.eng.ArriveAtPickup(context.Background(), sr.spec.ID, t.offer.TripID) },
		func(err error) {
			s.fail(err)
			s.tryPickup(sr, t, arrive+s.travel.PickupMinutes()/2)
		})
}

// tryPickup picks the trip up at minute at, or when its last order is ready.
func (s *Sim) tryPickup(sr *simRider, t *simTrip, at float64) {
	for _, id := range t.offer.OrderIDs {
		if r, ok := s.ready[id]; !ok || r > at {
			when := at
			if ok {
				when = r
			} else if rec := s.records[id]; rec != nil {
				when = math.Max(at, s.min(rec.Ready))
			}
			if !ok && when <= s.now() {
				// Ready by the clock, but the store's word has not reached
				// the engine yet: look again in a moment.
				when = s.now() + readyPoll
			}
			s.schedule(when, evPickup, func() {
				if !t.withdrawn {
					s.tryPickup(sr, t, when)
				}
			})
			return
		}
	}
	s.schedule(at, evPickup, func() {
		if t.withdrawn {
			return
		}
		sr.cur = nil
		delete(s.live, t.offer.TripID)
		s.call(s.riderPool, sr.spec.ID, func() error { return s.eng.PickUp(context.Background(), sr.spec.ID, t.offer.TripID) },
			func(err error) {
				if err != nil {
					s.fail(err)
					return
				}
				t.record.Pickup = s.at(at)
				for _, id := range t.offer.OrderIDs {
					s.record(id).Pickup = s.at(at)
				}
				s.ride(sr, t, 0, at+s.travel.PickupMinutes()/2)
			})
	})
}

// ride takes the rider from where it is to the i-th drop-off, leaving at
// minute leave.
func (s *Sim) ride(sr *simRider, t *simTrip, i int, leave float64) {
	if i == len(t.offer.OrderIDs) {
		s.schedule(leave, evDepart, func() { s.start(sr, leave) })
		return
	}
	id := t.offer.OrderIDs[i]
	to := t.offer.Doors[i]
	arrive := leave + s.travel.TravelMinutes(sr.pos, to)
	sr.legFrom, sr.legTo, sr.legStart, sr.legEnd = sr.pos, to, leave, arrive
	s.schedule(arrive, evArriveDrop, func() {
		sr.pos = to
		s.call(s.riderPool, sr.spec.ID, func() error { return s.eng.ArriveAtDropoff(context.Background(), sr.spec.ID, id) }, s.fail)
	})
	drop := arrive + s.travel.DropoffMinutes()/2
	s.schedule(drop, evDrop, func() {
		d, ok := s.drops[id]
		if !ok {
			d.Handover = orders.HandoverDoor
		}
		s.call(s.riderPool, sr.spec.ID, func() error { return s.eng.DeliverWith(context.Background(), sr.spec.ID, id, d) },
			func(err error) {
				if err != nil {
					s.fail(err)
					return
				}
				delete(s.drops, id)
				if s.platform.Collect != nil && d.Handover.Contactless() && d.Handover != orders.HandoverDoor {
					s.schedule(drop+s.rng.ExpFloat64()*s.platform.CollectAfter.Minutes(), evDrop, func() {
						s.fail(s.platform.Collect(context.Background(), id))
					})
				}
				rec := s.record(id)
				rec.Dropoff, rec.Delivered = s.at(drop), true
				t.record.Dropoffs = append(t.record.Dropoffs, s.at(drop))
				s.open--
				s.ride(sr, t, i+1, drop+s.travel.DropoffMinutes()/2)
			})
	})
}

// RunLive plays a live simulation until ctx ends: it waits on the clock for
// each event, and takes orders, rounds and riders from Placed, Round and
// StartRider in between.
func (s *Sim) RunLive(ctx context.Context) error {
	if s.wake == nil {
		return fmt.Errorf("sim: RunLive needs a simulation made by NewLive")
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for _, w := range slices.Concat(s.riderPool, s.storePool) {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case fn := <-w:
					fn()
				}
			}
		}()
	}
	for {
		now := s.now()
		for s.q.Len() > 0 && s.q[0].at <= now {
			s.fire(s.q.pop())
		}
		wait := time.Hour
		if s.q.Len() > 0 {
			wait = dispatch.RealDuration(s.clock, time.Duration((s.q[0].at-now)*float64(time.Minute)))
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
			s.inMu.Lock()
			fns := s.inbox
			s.inbox = nil
			s.inMu.Unlock()
			for _, fn := range fns {
				fn()
			}
		case <-timer.C:
		}
	}
}

// Run plays the simulation until minute-exact time until, or until nothing
// is left to happen. progress, if set, is called after every round with the
// simulated time.
func (s *Sim) Run(ctx context.Context, until time.Time, progress func(now time.Time)) (Result, error) {
	if s.manual == nil {
		return Result{}, fmt.Errorf("sim: Run needs a simulation made by New; a live one runs with RunLive")
	}
	end := s.min(until)
	every := s.eng.Config().RoundEvery.Minutes()
	var round func(at float64)
	round = func(at float64) {
		s.schedule(at, evRound, func() {
			st, err := s.eng.Round(ctx)
			if err != nil {
				s.fail(err)
				return
			}
			s.onRound(st)
			if progress != nil {
				progress(st.At)
			}
			if s.q.Len() > 0 || s.open > 0 {
				round(at + every)
			}
		})
	}
	round(0)
	for n := 0; s.q.Len() > 0; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		ev := s.q.pop()
		if ev.at > end {
			break
		}
		s.manual.Set(s.at(ev.at))
		s.fire(ev)
		if s.err != nil {
			return Result{}, fmt.Errorf("simulation at %s: %w", s.at(ev.at).Format(time.RFC3339), s.err)
		}
	}
	res := Result{Rounds: s.rounds, Stats: s.eng.Stats()}
	for _, id := range s.order {
		res.Orders = append(res.Orders, *s.records[id])
	}
	for _, t := range s.trips {
		if !t.Withdrawn {
			res.Trips = append(res.Trips, *t)
		}
	}
	return res, nil
}
