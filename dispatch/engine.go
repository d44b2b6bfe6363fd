// Package dispatch is the dispatcher: it keeps the live picture of pending
// orders and riders, and in rounds matches bundles of orders to riders,
// offers them, and follows each trip from acceptance to the last drop-off.
//
// The engine runs on a Clock it is given and on minutes it computes from a
// geo.Travel model, so one code path serves live dispatch and replays.
package dispatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"zhengxiang/geo"
	"zhengxiang/orders"
)

// Offer is a trip proposed to a rider: the orders of one store, picked up
// together and dropped off in the given order.
type Offer struct {
	TripID    string
	RiderID   string
	StoreID   string
	Store     geo.Point
	OrderIDs  []string
	Doors     []geo.Point // drop-off of each order
	ExpiresAt time.Time
	// Depart, Pickup and Dropoffs are the plan the offer was priced on.
	Depart   time.Time
	Pickup   time.Time
	Dropoffs []time.Time
	// PickedUp and Next tell, for a trip under way (see Trips), whether
	// the rider holds the goods and which order is dropped off next.
	PickedUp bool
	Next     int
}

// RoundStats describes one dispatch round.
type RoundStats struct {
	At         time.Time
	Pending    int
	Bundles    int
	Offers     []Offer
	Cancelled  []string
	Expired    int
	Reassigned int
	// Withdrawn lists the trips taken back from their riders this round
	// (stale position, a better rider); their orders are pending again.
	Withdrawn []string
	Took      time.Duration
	// Wait is the part of Took spent waiting for the engine's lock, and
	// Write the part spent recording the round's offers.
	Wait, Write time.Duration
	// Phases splits Took by the round's steps, to tell which one a slow
	// round spent its time in.
	Phases RoundPhases
}

// RoundPhases is the time a round spent in each of its steps: Repair takes
// back expired offers and stale riders' trips, Index follows the riders,
// Improve looks for better riders for offered trips, Bundle groups the due
// orders, Candidates prices riders for the bundles, Assign solves the
// matching, and Commit records the offers (its write, without the engine's
// lock, is Write).
type RoundPhases struct {
	Repair, Index, Improve, Bundle, Candidates, Assign, Commit time.Duration
}

// lap adds the time since *mark to d and moves *mark to now.
func lap(d *time.Duration, mark *time.Time) {
	now := time.Now()
	*d += now.Sub(*mark)
	*mark = now
}

// Stats are the engine's running totals.
type Stats struct {
	Rounds, Offers, Accepted, Declined, Expired, Reassigned, Cancelled int
	Pending, Riders, ActiveTrips                                       int
}

type tripState int

const (
	tripOffered tripState = iota + 1
	tripAssigned
	tripAtStore
	tripPickedUp
	tripDone
)

type storeState struct {
	id        string
	point     geo.Point
	suspended bool
	stops     map[string]stop // suspensions in force by SKU, "" the store's (suspend.go)
}

type orderState struct {
	id        string
	store     *storeState
	drop      geo.Point
	placed    float64 // minutes since the engine's epoch
	ready     float64 // expected ready time
	readyAt   float64 // when marked ready; NaN until then
	promise   float64
	trip      *trip
	delivered bool
	ended     bool
	declined  map[string]bool
	queued    bool // in the engine's pending list
	moved     bool // already taken from a rider for a better one
	made      bool // 郑享制造: held until its wave (made.go)
	skus      []string
	inSKUs    [3]string // skus, when they fit (setSKUs): most orders need no slice of their own
	locker    string    // the locker it takes a slot of at acceptance (locker.go)
	waitSlot  bool      // waiting for a slot of its full locker (Engine.waiting)
}

func (o *orderState) pending() bool { return !o.ended && o.trip == nil && !o.waitSlot }

type trip struct {
	id         string
	rider      *riderState
	store      *storeState
	orders     []*orderState // drop-off order
	state      tripState
	offeredAt  float64
	expires    float64
	acceptedAt float64
	origin     geo.Point // where the rider sets out from
	depart     float64
	arrived    float64 // at the store; NaN until then
	pickup     float64 // planned, or actual once picked up
	drops      []float64
	nextDrop   int  // index of the next order to drop
	busy       bool // a rider's step on it is being recorded: it stays as it is
	// inOrders and inDrops hold orders and drops when there are no more
	// than tripInline (newTrip): a city's trips in flight are then one
	// object each for the collector, not three.
	inOrders [tripInline]*orderState
	inDrops  [tripInline]float64
}

// tripInline is the most orders a trip holds in itself.
const tripInline = 3

// newTrip returns a trip of the orders os, in drop-off order, with room for
// their drop-off times; it holds both itself when they fit.
func newTrip(os []*orderState) *trip {
	t := &trip{}
	if len(os) <= tripInline {
		t.orders, t.drops = append(t.inOrders[:0], os...), t.inDrops[:len(os)]
		return t
	}
	t.orders, t.drops = os, make([]float64, len(os))
	return t
}

// end is the planned time the rider is free again, after the last drop-off.
func (t *trip) end(tr geo.Travel) float64 {
	return t.drops[len(t.drops)-1] + tr.DropoffMinutes()/2
}

func (t *trip) lastPoint() geo.Point { return t.orders[len(t.orders)-1].drop }

func (t *trip) orderIDs() []string {
	ids := make([]string, len(t.orders))
	for i, o := range t.orders {
		ids[i] = o.id
	}
	return ids
}

type riderState struct {
	id string
	// elsewhere: the rider belongs to an area this engine does not own
	// and is here only for the trips of its orders, or belongs here but
	// holds orders of an area it does not own; either way it gets no new
	// offer from this engine until ownership changes again.
	elsewhere  bool
	capacity   int
	shiftStart float64
	shiftEnd   float64
	onShift    bool
	stale      bool
	pos        geo.Point
	freeAt     float64 // when the last trip's final drop-off service ends
	plan       []*trip // accepted trips, current first
	offer      *trip
	in         int       // the round index that holds the rider (roundFree...)
	inAt       geo.Point // and where
	inFrom     float64   // and from when it can set out from there
	// touched: changed since the round's indexes last looked at it (see
	// touch); recheck: when its place in them changes with time alone.
	touched bool
	// moved tells that the rider's only change since the last round is
	// its position (touchMoved).
	moved   bool
	recheck float64
	// cardFor is the day the rider's card lets it take trips on (its
	// day, when the card is valid for dispatch), checked at every reindex.
	cardFor orders.Day
	// prot is the rider's health card and working time (protect.go).
	prot protection
	// ping is the last position PingMany took for the rider, and pinged
	// that the rider waits in Engine.pinged for the engine to take it;
	// both are guarded by Engine.pingMu.
	ping   geo.Point
	pinged bool
}

// riderMove is a position a rider reported, on its way to the rider's
// state.
type riderMove struct {
	r *riderState
	p geo.Point
}

func (r *riderState) load() int {
	n := 0
	for _, t := range r.plan {
		n += len(t.orders) - t.nextDrop
	}
	return n
}

// Engine is the dispatcher. Its methods are safe for concurrent use.
type Engine struct {
	// mu guards the dispatch state below; storesMu guards the stores map
	// and each store's fields too, so that the intake can check a store
	// without waiting for a round; inMu guards the inbox of new orders,
	// which the next holder of mu admits.
	mu       sync.Mutex
	storesMu sync.RWMutex
	inMu     sync.Mutex
	inbox    []*orderState
	steps    []*step // riders' steps waiting for the lock
	written  []*step // steps written, waiting for the lock to finish
	// riderLane and storeLane hold the changes waiting for a grouped write
	// (see grouped).
	riderLane, storeLane lane
	// creations holds the new orders waiting for a grouped write.
	creations batcher[*createReq]
	// pingMu guards the rider index idx, which follows every position as
	// it comes; the riders pinged since mu was last taken (pinged, each
	// with its last position in riderState.ping), for the riders' states;
	// the riders whose positions are taken; and readies. moves is where
	// admit, under mu, takes the positions of pinged over.
	pingMu  sync.Mutex
	pinged  []*riderState
	moves   []riderMove
	known   map[string]*riderState
	readies map[string]time.Time // orders marked ready since mu was last taken
	cfg     Config
	repo    orders.Repository
	travel  geo.Travel
	clock   Clock
	log     *slog.Logger
	epoch   time.Time

	idx     *geo.RiderIndex[*riderState]
	sweptAt float64 // the minute of the last look for stale riders
	// cards is what the engine has read of the record's health cards.
	cards   cardLooks
	stores  map[string]*storeState
	riders  map[string]*riderState
	rlist   []*riderState
	onShift int // riders of rlist on shift
	orders  map[string]*orderState
	pending []*orderState
	trips   map[string]*trip
	tripPfx string
	nextID  int
	stats   Stats
	scratch []geo.Neighbor[*riderState]
	priced  []candidate // nearest's riders priced so far
	// owns, when set, limits the engine to the areas it is true for (see
	// Own); paused stops the rounds while ownership is changing hands.
	owns   func(geo.Point) bool
	paused bool
	// freeIdx and chainIdx are the riders a round may offer a trip to; see
	// roundIndex. touched lists the riders changed since, rechecks those
	// whose place in them changes with time.
	freeIdx, chainIdx *geo.RiderIndex[*riderState]
	touched           []*riderState
	rechecks          dueQueue[*riderState]
	// offers holds the trips offered and not yet answered, in the order
	// they were offered (with ones answered since, dropped by the next
	// round); toImprove the accepted trips by when improve looks at them
	// next. A round goes through these, not through every rider.
	offers    []*trip
	toImprove dueQueue[*trip]
	// writing counts the rounds writing their offers, without the lock.
	writing sync.WaitGroup
	// lastDay is the day of China Standard Time last asked for (dayAt).
	lastDay atomic.Pointer[dayMinutes]
	// acks holds the tickets waiting for their store's answer (ack.go).
	acks ackState
	// held holds the 郑享制造 orders waiting for their wave (made.go).
	held madeHold
	// waiting holds the orders waiting for a slot of a full locker (locker.go).
	waiting []waitingOrder
}

// New returns an engine that records every change in repo, prices routes
// with travel and reads the time from clock.
func New(cfg Config, repo orders.Repository, travel geo.Travel, clock Clock, log *slog.Logger) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if repo == nil || travel == nil || clock == nil {
		return nil, fmt.Errorf("dispatch: repository, travel model and clock are required")
	}
	if err := requireCards(cfg, repo); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{
		cfg:     cfg,
		repo:    repo,
		travel:  travel,
		clock:   clock,
		log:     log,
		epoch:   clock.Now(),
		idx:     geo.NewRiderIndex[*riderState](geo.IndexConfig{StaleAfter: cfg.StaleAfter}),
		stores:  map[string]*storeState{},
		riders:  map[string]*riderState{},
		orders:  map[string]*orderState{},
		trips:   map[string]*trip{},
		known:   map[string]*riderState{},
		readies: map[string]time.Time{},
		// Trip ids stay unique across restarts of a dispatcher.
		tripPfx: "T" + strconv.FormatInt(time.Now().UnixNano()%(36*36*36*36*36), 36) + "-",
	}, nil
}

// Config returns the engine's configuration with its defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

func (e *Engine) min(t time.Time) float64 { return t.Sub(e.epoch).Minutes() }

func (e *Engine) at(m float64) time.Time {
	return e.epoch.Add(time.Duration(math.Round(m * float64(time.Minute))))
}

// Run dispatches a round every RoundEvery until ctx ends, handing each
// round's offers to notify. A round writes its offers without the engine's
// lock, so the next may plan while the last writes: at most roundsAtOnce
// are at work, and a tick that finds them busy is skipped.
func (e *Engine) Run(ctx context.Context, notify func(RoundStats)) error {
	tick := time.NewTicker(RealDuration(e.clock, e.cfg.RoundEvery))
	defer tick.Stop()
	sum := roundSummary{since: time.Now()}
	done := make(chan RoundStats, roundsAtOnce)
	busy := 0
	finished := func(st RoundStats) {
		busy--
		sum.add(st)
		if time.Since(sum.since) >= summaryEvery {
			e.logSummary(sum, st)
			sum = roundSummary{since: time.Now()}
		}
		if notify != nil {
			notify(st)
		}
	}
	for {
		select {
		case <-ctx.Done():
			for busy > 0 {
				finished(<-done)
			}
			return nil
		case st := <-done:
			finished(st)
		case <-tick.C:
			if busy == roundsAtOnce {
				continue
			}
			busy++
			go func() {
				st, err := e.Round(ctx)
				if err != nil {
					e.log.Error("dispatch round", "err", err)
				}
				done <- st
			}()
		}
	}
}

// roundsAtOnce is how many rounds Run lets work at once: one planning,
// under the lock, while one writes its offers.
const roundsAtOnce = 2

// logSummary logs what the rounds of sum did; st is the last.
func (e *Engine) logSummary(sum roundSummary, st RoundStats) {
	if sum.rounds == 0 {
		return
	}
	e.log.Info("dispatch", "rounds", sum.rounds, "offers", sum.offers, "accepted_total", e.Stats().Accepted, "pending", st.Pending,
		"bundles", sum.bundles, "expired", sum.expired, "reassigned", sum.reassigned,
		"round_avg", (sum.took / time.Duration(sum.rounds)).Round(time.Millisecond),
		"round_max", sum.max.Round(time.Millisecond),
		"wait_avg", (sum.wait / time.Duration(sum.rounds)).Round(time.Millisecond),
		"write_avg", (sum.write / time.Duration(sum.rounds)).Round(time.Millisecond),
		"slowest", sum.slowest.String())
}

// String lists the phases in milliseconds.
func (p RoundPhases) String() string {
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	return fmt.Sprintf("repair=%d index=%d improve=%d bundle=%d candidates=%d assign=%d commit=%d",
		ms(p.Repair), ms(p.Index), ms(p.Improve), ms(p.Bundle), ms(p.Candidates), ms(p.Assign), ms(p.Commit))
}

// Own makes the engine dispatch only the areas for which owns is true, as
// one of several dispatchers that split a city's areas between them (nil:
// every area). Orders belong to the area of their drop-off and riders to the
// area where they started their shift. The engine forgets what it knew and
// reads back from the record the stores, its riders and its areas' active
// orders, as Restore does; a rider of its areas that holds another area's
// orders, or one of another area that holds orders of its own, gets no new
// offer from it. The rounds, paused by Pause, go on.
func (e *Engine) Own(ctx context.Context, owns func(geo.Point) bool) error {
	// No round starts; those writing their offers finish first.
	e.Pause(true)
	e.writing.Wait()
	e.lock()
	e.owns = owns
	e.orders, e.pending, e.trips, e.held = map[string]*orderState{}, nil, map[string]*trip{}, madeHold{}
	e.waiting = nil
	e.riders, e.rlist, e.onShift = map[string]*riderState{}, nil, 0
	e.freeIdx, e.chainIdx, e.touched = nil, nil, nil
	e.rechecks, e.offers, e.toImprove = dueQueue[*riderState]{}, nil, dueQueue[*trip]{}
	e.unlock()
	e.pingMu.Lock()
	e.known, e.pinged = map[string]*riderState{}, nil
	e.idx = geo.NewRiderIndex[*riderState](geo.IndexConfig{StaleAfter: e.cfg.StaleAfter})
	e.pingMu.Unlock()
	if err := e.Restore(ctx); err != nil {
		return err
	}
	e.Pause(false)
	return nil
}

// Pause stops the dispatch rounds, or lets them go on: a dispatcher whose
// areas are being handed over to another stops offering until it knows
// which areas are its own.
func (e *Engine) Pause(paused bool) {
	e.lock()
	e.paused = paused
	e.unlock()
}

// summaryEvery is how often Run logs what its rounds did.
const summaryEvery = 10 * time.Second

// roundSummary adds up the rounds between two of Run's log lines.
type roundSummary struct {
	since                                        time.Time
	rounds, offers, bundles, expired, reassigned int
	took, max, wait, write                       time.Duration
	slowest                                      RoundPhases
}

func (s *roundSummary) add(st RoundStats) {
	if s.since.IsZero() {
		s.since = time.Now()
	}
	s.rounds++
	s.offers += len(st.Offers)
	s.bundles += st.Bundles
	s.expired += st.Expired
	s.reassigned += st.Reassigned
	s.took += st.Took
	s.write += st.Write
	s.wait += st.Wait
	if st.Took > s.max {
		s.max, s.slowest = st.Took, st.Phases
	}
}

// AddStore registers a store, or updates its position and suspension.
func (e *Engine) AddStore(ctx context.Context, s orders.Store) error {
	if err := e.repo.PutStore(ctx, s); err != nil {
		return fmt.Errorf("add store %s: %w", s.ID, err)
	}
	e.lock()
	defer e.unlock()
	e.storesMu.Lock()
	defer e.storesMu.Unlock()
	st := e.stores[s.ID]
	if st == nil {
		st = &storeState{id: s.ID}
		e.stores[s.ID] = st
	}
	st.point, st.suspended = s.Point, s.Suspended
	return nil
}

// lock takes the engine's lock and admits the orders submitted since it
// was last taken.
func (e *Engine) lock() {
	e.mu.Lock()
	e.admit()
}

// admit takes in, under the engine's lock, what was handed to the engine
// without it: new orders, positions, readiness, and riders' steps.
func (e *Engine) admit() {
	e.inMu.Lock()
	in := e.inbox
	e.inbox = nil
	steps, written := e.steps, e.written
	e.steps, e.written = nil, nil
	e.inMu.Unlock()
	for _, o := range in {
		if e.owns != nil && !e.owns(o.drop) {
			continue // another dispatcher's area now: it reads the order back from the record
		}
		if e.orders[o.id] == nil {
			e.orders[o.id] = o
			if e.admitted(o) {
				e.requeue(o)
			}
		}
	}
	e.pingMu.Lock()
	moves := e.moves[:0]
	for _, r := range e.pinged {
		moves = append(moves, riderMove{r, r.ping})
		r.pinged = false
	}
	clear(e.pinged)
	e.pinged = e.pinged[:0]
	var readies map[string]time.Time
	if len(e.readies) > 0 {
		readies, e.readies = e.readies, map[string]time.Time{}
	}
	e.pingMu.Unlock()
	for id, at := range readies {
		if o := e.orders[id]; o != nil {
			o.readyAt = e.min(at)
			o.ready = math.Max(o.ready, o.readyAt)
		}
	}
	for _, m := range moves {
		r := m.r
		if r.stale {
			r.stale = false
			e.touch(r)
		}
		r.pos = m.p
		e.touchMoved(r)
	}
	clear(moves)
	e.moves = moves[:0]
	e.settleSteps(written)
	e.wake()
	e.takeSteps(steps)
}

// StartShift puts a rider on shift at its position.
func (e *Engine) StartShift(ctx context.Context, r orders.Rider) error {
	if r.ID == "" {
		return orders.Invalid("rider.id", "must not be empty")
	}
	if err := r.Point.Validate(); err != nil {
		return orders.Invalid("rider.point", "%v", err)
	}
	if r.Capacity == 0 {
		r.Capacity = e.cfg.DefaultCapacity
	}
	if r.Capacity < 0 {
		return orders.Invalid("rider.capacity", "%d is negative", r.Capacity)
	}
	now := e.clock.Now()
	r.OnShift, r.LastPing = true, now
	if r.ShiftStart.IsZero() {
		r.ShiftStart = now // a restart counts the rider's working time from it
	}
	card, hasCard, err := e.cardOfToday(ctx, r.ID, now)
	if err != nil {
		return fmt.Errorf("start shift of %s: %w", r.ID, err)
	}
	if err := e.repo.PutRider(ctx, r); err != nil {
		return fmt.Errorf("start shift of %s: %w", r.ID, err)
	}
	e.lock()
	defer e.unlock()
	rs := e.riders[r.ID]
	if rs == nil {
		rs = &riderState{id: r.ID}
		e.riders[r.ID] = rs
		e.rlist = append(e.rlist, rs)
	}
	e.clockIn(rs, e.min(now), card, hasCard)
	if !rs.onShift {
		e.onShift++
	}
	rs.capacity, rs.onShift, rs.stale, rs.pos = r.Capacity, true, false, r.Point
	rs.shiftStart, rs.shiftEnd = e.min(now), math.Inf(1)
	if !r.ShiftEnd.IsZero() {
		rs.shiftEnd = e.min(r.ShiftEnd)
	}
	e.touch(rs)
	e.know(rs, r.Point, now)
	return nil
}

// EndShift takes a rider out of matching. Trips it has accepted go on; an
// open offer is withdrawn.
func (e *Engine) EndShift(ctx context.Context, riderID string) error {
	e.lock()
	defer e.unlock()
	r := e.riders[riderID]
	if r == nil {
		return orders.NotFound("rider", riderID)
	}
	if r.onShift {
		e.onShift--
	}
	e.clockOut(r, e.min(e.clock.Now()))
	r.onShift = false
	e.touch(r)
	if r.offer != nil && !r.offer.busy {
		e.withdraw(ctx, r.offer, "rider ended shift")
	}
	return nil
}

// Ping records a rider's position.
func (e *Engine) Ping(riderID string, p geo.Point) error {
	return e.PingMany([]string{riderID}, []geo.Point{p})[0]
}

// PingMany records many riders' positions, as the intake of
// riders.locations hands them over; errs[i] is what Ping would have
// returned for ids[i]. It does not wait for a dispatch round: the latest
// position of each rider is kept aside and goes into the rider index the
// next time the engine's lock is taken, at the latest by the next round.
// The positions go into the rider index at once, without the engine's lock.
func (e *Engine) PingMany(ids []string, ps []geo.Point) (errs []error) {
	errs = make([]error, len(ids))
	now := e.clock.Now()
	e.pingMu.Lock()
	defer e.pingMu.Unlock()
	for i, id := range ids {
		if err := ps[i].Validate(); err != nil {
			errs[i] = orders.Invalid("location", "%v", err)
			continue
		}
		r, ok := e.idx.Move(id, ps[i], now)
		if !ok {
			// Swept from the index as stale, or not known at all.
			if r = e.known[id]; r == nil {
				errs[i] = orders.NotFound("rider", id)
				continue
			}
			e.idx.Put(id, r, ps[i], now)
		}
		r.ping = ps[i]
		if !r.pinged {
			r.pinged = true
			e.pinged = append(e.pinged, r)
		}
	}
	return errs
}

// know lets PingMany take the pings of a rider, last seen at p at time at.
func (e *Engine) know(r *riderState, p geo.Point, at time.Time) {
	e.pingMu.Lock()
	e.known[r.id] = r
	e.idx.Put(r.id, r, p, at)
	e.pingMu.Unlock()
}

// NewOrderID returns a fresh order id: "O" and 16 random hex digits.
func NewOrderID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "O" + hex.EncodeToString(b[:])
}

// Submit takes a new order: it is recorded (idempotently by its platform
// key), its ticket goes to the store, and it waits for the next round. A
// repeated submission returns the order as stored. An order without an id
// gets a new one.
func (e *Engine) Submit(ctx context.Context, o orders.Order) (orders.Order, error) {
	out, errs := e.SubmitBatch(ctx, []orders.Order{o})
	return out[0], errs[0]
}

// SubmitBatch takes many new orders at once, as Submit takes one: the new
// ones are recorded with their tickets in one write when the repository is
// an orders.BatchCreator. out[i] and errs[i] are what Submit would have
// returned for list[i]. It waits for no dispatch round: the orders join the
// pending pool when the engine's lock is next taken.
func (e *Engine) SubmitBatch(ctx context.Context, list []orders.Order) (out []orders.Order, errs []error) {
	out, errs = make([]orders.Order, len(list)), make([]error, len(list))
	now := e.clock.Now()
	ps := make([]orders.Placement, 0, len(list))
	firsts := make([]orders.Order, 0, len(list)) // each order as created, before its ticket
	at := make([]int, 0, len(list))              // list index of ps[k]
	for i, o := range list {
		if err := e.admits(o); err != nil {
			errs[i] = err
			continue
		}
		if o.PlacedAt.IsZero() {
			o.PlacedAt = now
		}
		if o.ID == "" {
			o.ID = NewOrderID()
		}
		created, ev, err := orders.NewOrder(o)
		if err != nil {
			errs[i] = err
			continue
		}
		ticketed := created
		tev, err := ticketed.SendTicket(now)
		if err != nil {
			errs[i] = err
			continue
		}
		ps = append(ps, orders.Placement{Order: ticketed, Events: []orders.Event{ev, tev}})
		firsts = append(firsts, created)
		at = append(at, i)
	}
	if len(ps) == 0 {
		return out, errs
	}
	var admit []*orderState
	for k, c := range e.place(ctx, ps, firsts) {
		i := at[k]
		out[i], errs[i] = c.Order, c.Err
		if c.Err != nil {
			continue
		}
		if !c.New {
			if c.Order.Status != orders.StatusCreated {
				continue // recorded and ticketed before: restored or already taken
			}
			// Recorded, but the ticket was not: a crash between the two
			// writes of an older version. Send it now.
			stored, err := e.repo.UpdateOrder(ctx, c.Order.ID, func(o *orders.Order) ([]orders.Event, error) {
				ev, err := o.SendTicket(now)
				return []orders.Event{ev}, err
			})
			if err != nil {
				errs[i] = fmt.Errorf("send ticket of %s: %w", c.Order.ID, err)
				continue
			}
			out[i] = stored
		}
		e.storesMu.RLock()
		st := e.stores[out[i].StoreID]
		e.storesMu.RUnlock()
		os := &orderState{
			id:      out[i].ID,
			store:   st,
			drop:    out[i].Dropoff,
			placed:  e.min(out[i].PlacedAt),
			ready:   e.min(out[i].ReadyAt),
			readyAt: math.NaN(),
			promise: e.min(out[i].PromiseAt),
			made:    out[i].Section == orders.SectionMade,
			locker:  lockerOf(out[i]),
		}
		os.setSKUs(out[i])
		admit = append(admit, os)
	}
	e.inMu.Lock()
	e.inbox = append(e.inbox, admit...)
	e.inMu.Unlock()
	return out, errs
}

// admissible tells whether a store takes new orders.
func (e *Engine) admissible(storeID string) error {
	e.storesMu.RLock()
	defer e.storesMu.RUnlock()
	st := e.stores[storeID]
	if st == nil {
		return orders.Invalid("store_id", "unknown store %q", storeID)
	}
	if st.suspended {
		return orders.Conflict("store %s is suspended: it takes no orders", storeID)
	}
	return nil
}

// place records new orders: in one batch when the repository can, else
// one by one, each created as firsts[i] and then taken through the rest of
// its events.
func (e *Engine) place(ctx context.Context, ps []orders.Placement, firsts []orders.Order) []orders.Created {
	if bc, ok := e.repo.(orders.BatchCreator); ok {
		out, err := e.createGrouped(ctx, bc, ps)
		if err == nil {
			return out
		}
		// A failure of the whole batch (a deadlock with another batch, a
		// lost connection) is no order's fault: each may be tried again.
		err = orders.Unavailable("record %d orders: %v", len(ps), err)
		out = make([]orders.Created, len(ps))
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	out := make([]orders.Created, len(ps))
	for i, p := range ps {
		first := firsts[i]
		out[i].Order, out[i].New, out[i].Err = e.repo.CreateOrder(ctx, first, p.Events[0])
		if out[i].Err != nil || !out[i].New || len(p.Events) == 1 {
			continue
		}
		rest := p.Events[1:]
		out[i].Order, out[i].Err = e.repo.UpdateOrder(ctx, first.ID, func(o *orders.Order) ([]orders.Event, error) {
			*o = p.Order
			return rest, nil
		})
	}
	return out
}

// update applies one transition to an order in the repository.
func (e *Engine) update(ctx context.Context, id string, fn func(o *orders.Order) (orders.Event, error)) error {
	_, err := e.repo.UpdateOrder(ctx, id, oneEvent(fn))
	return err
}

// oneEvent adapts a transition of one event to the repository's form.
func oneEvent(fn func(x *orders.Order) (orders.Event, error)) func(x *orders.Order) ([]orders.Event, error) {
	return func(x *orders.Order) ([]orders.Event, error) {
		ev, err := fn(x)
		if err != nil {
			return nil, err
		}
		return []orders.Event{ev}, nil
	}
}

// releaseEach applies a transition that hands orders back to the pending pool
// (decline, expiry, reassignment) to each of them; an order the repository
// refuses is logged and the others go on.
func (e *Engine) releaseEach(ctx context.Context, os []*orderState, what string, fn func(x *orders.Order) (orders.Event, error)) []*orderState {
	done := os[:0:0]
	for _, o := range os {
		if err := e.update(ctx, o.id, fn); err != nil {
			e.log.Error(what, "order", o.id, "err", err)
			continue
		}
		done = append(done, o)
	}
	return done
}

// MerchantAccept records that the store took the ticket.
func (e *Engine) MerchantAccept(ctx context.Context, orderID string) error {
	now := e.clock.Now()
	if err := e.updateGrouped(ctx, orderID, oneEvent(func(o *orders.Order) (orders.Event, error) { return o.MerchantAccept(now) })); err != nil {
		return err
	}
	e.noteAccepted(orderID)
	return nil
}

// MarkReady records that the store has the order ready for pickup.
func (e *Engine) MarkReady(ctx context.Context, orderID string) error {
	now := e.clock.Now()
	if err := e.updateGrouped(ctx, orderID, oneEvent(func(o *orders.Order) (orders.Event, error) { return o.MarkReady(now) })); err != nil {
		return err
	}
	e.noteReady(orderID, now)
	return nil
}

// MerchantAcceptReady records that the store took the order and has it
// ready already, as a store with packed goods does, in one write.
func (e *Engine) MerchantAcceptReady(ctx context.Context, orderID string) error {
	now := e.clock.Now()
	if err := e.updateGrouped(ctx, orderID, func(o *orders.Order) ([]orders.Event, error) {
		acc, err := o.MerchantAccept(now)
		if err != nil {
			return nil, err
		}
		ready, err := o.MarkReady(now)
		if err != nil {
			return nil, err
		}
		return []orders.Event{acc, ready}, nil
	}); err != nil {
		return err
	}
	e.noteReady(orderID, now)
	return nil
}

// noteReady keeps aside that an order is ready, for the next holder of the
// engine's lock: a store's word does not wait for a round.
func (e *Engine) noteReady(orderID string, at time.Time) {
	e.pingMu.Lock()
	e.readies[orderID] = at
	e.pingMu.Unlock()
}

// Cancel cancels an order that has not been picked up.
func (e *Engine) Cancel(ctx context.Context, orderID, actor, reason string) error {
	now := e.clock.Now()
	return e.end(ctx, orderID, func(o *orders.Order) (orders.Event, error) { return o.Cancel(now, actor, reason) })
}

// dropFromTrip takes a cancelled order out of its trip, if any.
func (e *Engine) dropFromTrip(o *orderState) {
	t := o.trip
	if t == nil {
		return
	}
	o.trip = nil
	e.touch(t.rider)
	for i, x := range t.orders {
		if x == o {
			t.orders = append(t.orders[:i:i], t.orders[i+1:]...)
			t.drops = append(t.drops[:i:i], t.drops[i+1:]...)
			if i < t.nextDrop {
				t.nextDrop--
			}
			break
		}
	}
	if len(t.orders) == 0 {
		e.finishTrip(t)
	}
}

func (e *Engine) trip(riderID, tripID string) (*trip, error) {
	t := e.trips[tripID]
	if t == nil {
		return nil, orders.NotFound("trip", tripID)
	}
	if t.rider.id != riderID {
		return nil, orders.Forbidden("trip %s is not offered to rider %s", tripID, riderID)
	}
	return t, nil
}

// TripOf returns the trip that carries an order, so that a rider's app that
// knows only the order can act on the trip.
func (e *Engine) TripOf(orderID string) (string, error) {
	e.lock()
	defer e.unlock()
	o := e.orders[orderID]
	if o == nil {
		return "", orders.NotFound("order", orderID)
	}
	if o.trip == nil {
		return "", orders.Conflict("order %s has no rider", orderID)
	}
	return o.trip.id, nil
}

// Trips returns the trips a rider has accepted and not finished, in the
// order it rides them: what its app shows after a restart.
func (e *Engine) Trips(riderID string) []Offer {
	e.lock()
	defer e.unlock()
	r := e.riders[riderID]
	if r == nil {
		return nil
	}
	out := make([]Offer, 0, len(r.plan))
	for _, t := range r.plan {
		out = append(out, e.describe(t))
	}
	return out
}

// describe returns a trip as an Offer.
func (e *Engine) describe(t *trip) Offer {
	off := Offer{
		TripID: t.id, RiderID: t.rider.id, StoreID: t.store.id, Store: t.store.point, OrderIDs: t.orderIDs(),
		ExpiresAt: e.at(t.expires), Depart: e.at(t.depart), Pickup: e.at(t.pickup),
		PickedUp: t.state == tripPickedUp, Next: t.nextDrop,
		Dropoffs: make([]time.Time, len(t.drops)), Doors: make([]geo.Point, len(t.drops)),
	}
	for i, d := range t.drops {
		off.Dropoffs[i], off.Doors[i] = e.at(d), t.orders[i].drop
	}
	return off
}

// release returns an offered trip's orders to the pending pool.
func (e *Engine) release(t *trip) {
	for _, o := range t.orders {
		if o.declined == nil {
			o.declined = map[string]bool{}
		}
		o.declined[t.rider.id] = true
		o.trip = nil
		e.requeue(o)
	}
	if t.rider.offer == t {
		t.rider.offer = nil
	}
	e.touch(t.rider)
	t.state = tripDone
	delete(e.trips, t.id)
}

func (e *Engine) expire(ctx context.Context, t *trip) { e.expireAll(ctx, []*trip{t}) }

// expireAll takes back offers whose time ran out, in one batch.
func (e *Engine) expireAll(ctx context.Context, ts []*trip) {
	if len(ts) == 0 {
		return
	}
	ids, _, errs := e.updateTrips(ctx, ts, func(t *trip, x *orders.Order) (orders.Event, error) {
		return x.ExpireOffer(e.at(t.expires))
	})
	for i, err := range errs {
		if err != nil {
			e.log.Error("expire offer", "order", ids[i], "err", err)
		}
	}
	for _, t := range ts {
		e.release(t)
		e.stats.Expired++
	}
}

// withdraw takes back an open offer before it expires.
func (e *Engine) withdraw(ctx context.Context, t *trip, reason string) {
	now := e.clock.Now()
	e.releaseEach(ctx, t.orders, "withdraw offer", func(x *orders.Order) (orders.Event, error) { return x.Reassign(now, reason) })
	e.release(t)
}

func (e *Engine) finishTrip(t *trip) {
	t.state = tripDone
	r := t.rider
	e.touch(r)
	for i, x := range r.plan {
		if x == t {
			r.plan = append(r.plan[:i:i], r.plan[i+1:]...)
			break
		}
	}
	if r.offer == t {
		r.offer = nil
	}
	delete(e.trips, t.id)
	if len(t.orders) > 0 {
		r.freeAt = t.end(e.travel)
	}
	if len(r.plan) > 0 && r.plan[0].state == tripAssigned && len(t.orders) > 0 {
		next := r.plan[0]
		next.origin = t.lastPoint()
		next.depart = math.Max(next.acceptedAt, t.end(e.travel))
	}
}

// replan refreshes the planned times of a rider's trips: a trip queued
// behind another starts where and when that one ends.
func (e *Engine) replan(r *riderState) {
	e.touch(r)
	ps, ds := e.travel.PickupMinutes(), e.travel.DropoffMinutes()
	var prev *trip
	for _, t := range r.plan {
		if prev != nil {
			t.origin = prev.lastPoint()
			t.depart = math.Max(t.acceptedAt, prev.end(e.travel))
		}
		switch t.state {
		case tripAssigned, tripAtStore:
			arrive := t.arrived
			if math.IsNaN(arrive) {
				arrive = t.depart + e.travel.TravelMinutes(t.origin, t.store.point)
			}
			t.pickup = math.Max(tripReady(t), arrive+ps/2)
			e.planDrops(t, t.pickup+ps/2, t.store.point, 0)
		case tripPickedUp:
			from, leave := t.store.point, t.pickup+ps/2
			if t.nextDrop > 0 {
				from = t.orders[t.nextDrop-1].drop
				leave = t.drops[t.nextDrop-1] + ds/2
			}
			e.planDrops(t, leave, from, t.nextDrop)
		}
		prev = t
	}
}

func (e *Engine) planDrops(t *trip, leave float64, from geo.Point, start int) {
	for i := start; i < len(t.orders); i++ {
		arrive := leave + e.travel.TravelMinutes(from, t.orders[i].drop)
		t.drops[i] = arrive + e.travel.DropoffMinutes()/2
		leave = arrive + e.travel.DropoffMinutes()
		from = t.orders[i].drop
	}
}

func tripReady(t *trip) float64 {
	r := math.Inf(-1)
	for _, o := range t.orders {
		r = math.Max(r, o.ready)
	}
	return r
}

// Stats returns the engine's running totals.
func (e *Engine) Stats() Stats {
	e.lock()
	defer e.unlock()
	s := e.stats
	s.Riders, s.ActiveTrips = e.onShift, len(e.trips)
	s.Pending = e.held.pending()
	for _, o := range e.pending {
		if o.pending() {
			s.Pending++
		}
	}
	return s
}

func (e *Engine) newTripID() string {
	e.nextID++
	return e.tripPfx + strconv.Itoa(e.nextID)
}

// sortOrders orders a slice by placement, then id, so rounds are repeatable.
func sortOrders(os []*orderState) {
	sort.Slice(os, func(i, j int) bool {
		if os[i].placed != os[j].placed {
			return os[i].placed < os[j].placed
		}
		return os[i].id < os[j].id
	})
}

// requeue puts an order without a rider back in the pending list, or a
// 郑享制造 order in the hold of its wave.
func (e *Engine) requeue(o *orderState) {
	if !o.queued && o.pending() {
		o.queued = true
		if o.made {
			e.held.add(o)
			return
		}
		e.pending = append(e.pending, o)
	}
}
