package dispatch

import (
	"context"
	"math"
	"slices"
	"sort"
	"time"

	"zhengxiang/geo"
	"zhengxiang/orders"
)

// bundle is a candidate trip: orders of one store with their best drop-off
// order, priced from the earliest possible pickup.
type bundle struct {
	store  *storeState
	orders []*orderState
	ready  float64   // the latest ready time of its orders
	offs   []float64 // minutes from pickup to each drop-off
	prices []price   // a round's candidate riders' prices, by edge
}

// Round runs one dispatch round at the clock's time: offers that timed out
// come back, stale riders lose their unpicked orders, hopeless orders are
// cancelled, and pending orders are matched and offered.
func (e *Engine) Round(ctx context.Context) (RoundStats, error) {
	started := time.Now()
	nowT := e.clock.Now()
	var cards []orders.HealthCard
	newCards := false
	if e.cfg.RequireHealthCard {
		cards, newCards = e.newCards(ctx, nowT)
	}
	e.lock()
	defer e.unlock()
	now := e.min(nowT)
	st := RoundStats{At: nowT, Wait: time.Since(started)}
	mark := time.Now()
	if e.paused {
		return st, nil
	}

	if e.cfg.RequireHealthCard {
		if d := e.dayAt(now).day; d != e.cards.wholeDay() {
			e.readCards(ctx, nowT, d)
		} else if newCards {
			e.giveNewCards(cards, nowT)
		}
	}
	var expired []*trip
	open := e.offers[:0]
	for _, t := range e.offers {
		if t.rider.offer != t {
			continue // answered, withdrawn or not recorded
		}
		open = append(open, t) // dropped by the next round once expired
		if t.expires <= now && !t.busy {
			expired = append(expired, t)
		}
	}
	clear(e.offers[len(open):])
	e.offers = open
	e.expireAll(ctx, expired)
	st.Expired = len(expired)
	st.Cancelled = append(st.Cancelled, e.autoCancel(ctx, now)...)
	var stale []string
	if now-e.sweptAt >= sweepEvery.Minutes() || now < e.sweptAt {
		e.sweptAt = now
		e.pingMu.Lock()
		stale = e.idx.Sweep(nowT)
		e.pingMu.Unlock()
	}
	for _, id := range stale {
		if r := e.riders[id]; r != nil {
			r.stale = true
			e.touch(r)
			st.Reassigned += e.repair(ctx, r, "rider position stale", &st)
		}
	}

	// The riders' indexes follow every round, orders or none, so that the
	// first round of a peak does not index a whole city's riders at once.
	lap(&st.Phases.Repair, &mark)
	free, chained := e.roundIndex(now)
	lap(&st.Phases.Index, &mark)
	if e.cfg.Reassign && e.cfg.Algo == AlgoEngine {
		st.Reassigned += e.improve(ctx, now, free, &st)
	}
	lap(&st.Phases.Improve, &mark)

	e.releaseWaves(now)
	live := e.pending[:0]
	for _, o := range e.pending {
		if o.pending() {
			live = append(live, o)
		} else {
			o.queued = false
		}
	}
	e.pending = live
	sortOrders(live)
	if e.cfg.MaxClickToDoor > 0 {
		live = e.cancelHopeless(ctx, now, live, &st)
		e.pending = live // cancelHopeless compacts in place: keep no stale tail
	}
	st.Pending = len(live)

	switch e.cfg.Algo {
	case AlgoGreedy:
		e.greedy(ctx, now, live, free, &st)
	default:
		e.match(ctx, now, live, free, chained, &st)
	}
	e.stats.Rounds++
	e.stats.Reassigned += st.Reassigned
	st.Took = time.Since(started)
	return st, nil
}

// cancelHopeless cancels orders that cannot reach the door within the
// maximum click-to-door time even if a rider stood at the store now. A
// 郑享制造 order, outside the 1-hour promise, is never cancelled so.
func (e *Engine) cancelHopeless(ctx context.Context, now float64, live []*orderState, st *RoundStats) []*orderState {
	limit := e.cfg.MaxClickToDoor.Minutes()
	ps, ds := e.travel.PickupMinutes(), e.travel.DropoffMinutes()
	kept := live[:0]
	for _, o := range live {
		earliest := math.Max(o.ready, now+ps/2) + ps/2 + e.travel.TravelMinutes(o.store.point, o.drop) + ds/2
		if earliest-o.placed <= limit+1e-9 || o.made {
			kept = append(kept, o)
			continue
		}
		at := e.at(now)
		if err := e.update(ctx, o.id, func(x *orders.Order) (orders.Event, error) {
			return x.Cancel(at, "dispatch", "cannot be delivered within the maximum click-to-door time")
		}); err != nil {
			e.log.Error("cancel hopeless order", "order", o.id, "err", err)
			kept = append(kept, o)
			continue
		}
		o.ended, o.queued = true, false
		e.stats.Cancelled++
		st.Cancelled = append(st.Cancelled, o.id)
	}
	return kept
}

// available tells where and from when a rider can start its next trip,
// whether it may take one now, and until when that holds if nothing about
// the rider changes (+Inf: until something does).
func (e *Engine) available(r *riderState, now float64) (p geo.Point, from float64, ok bool, until float64) {
	never := math.Inf(1)
	if !r.onShift || r.stale || r.elsewhere || r.offer != nil || now >= r.shiftEnd {
		return geo.Point{}, 0, false, never
	}
	if now < r.shiftStart {
		return geo.Point{}, 0, false, r.shiftStart
	}
	if len(r.plan) == 0 {
		return r.pos, r.freeAt, true, r.shiftEnd
	}
	if len(r.plan) > e.cfg.ChainDepth {
		return geo.Point{}, 0, false, never
	}
	t := r.plan[len(r.plan)-1]
	end := t.end(e.travel)
	if h := e.cfg.Horizon.Minutes(); end > now+h {
		return geo.Point{}, 0, false, end - h
	}
	return t.lastPoint(), end, true, r.shiftEnd
}

// avail is available as the round's indexes have it: where and when a
// rider can set out on a trip of this round. A rider offered a trip in the
// round takes no other.
func (e *Engine) avail(r *riderState, now float64) (p geo.Point, free float64, ok bool) {
	if r.in == roundNone || r.offer != nil {
		return geo.Point{}, 0, false
	}
	return r.inAt, math.Max(now, r.inFrom), true
}

// price is what a rider costs a bundle: the objective, and the times.
type price struct {
	cost   float64
	depart float64
	arrive float64
	pickup float64
	wait   float64
}

// g is the cost of a click-to-door time against its target.
func (e *Engine) g(ctd, target float64) float64 {
	return ctd + e.cfg.LatenessWeight*math.Max(0, ctd-target)
}

// priceFor prices a bundle for a rider free at p from time free; ok is
// false when the rider cannot take it.
func (e *Engine) priceFor(b *bundle, r *riderState, p geo.Point, free float64) (price, bool) {
	if r.load()+len(b.orders) > r.capacity {
		return price{}, false
	}
	for _, o := range b.orders {
		if o.declined[r.id] {
			return price{}, false
		}
	}
	ps := e.travel.PickupMinutes()
	travel := e.travel.TravelMinutes(p, b.store.point)
	arrive := free + travel
	pickup := math.Max(b.ready, arrive+ps/2)
	if pickup > r.shiftEnd {
		return price{}, false
	}
	limit := e.cfg.MaxClickToDoor.Minutes()
	cost := 0.0
	for i, o := range b.orders {
		ctd := pickup + b.offs[i] - o.placed
		if limit > 0 && ctd > limit+1e-9 && !o.made {
			return price{}, false
		}
		cost += e.g(ctd, o.promise-o.placed)
	}
	wait := math.Max(0, b.ready-(arrive+ps/2))
	cost += e.cfg.WaitWeight*wait + e.cfg.TravelWeight*travel
	return price{cost: cost, depart: free, arrive: arrive, pickup: pickup, wait: wait}, true
}

// sequence finds the drop-off order of a bundle that costs least when
// picked up at pickup, and returns it with the minutes from pickup to each
// drop-off.
func (e *Engine) sequence(os []*orderState, store geo.Point, pickup float64) ([]*orderState, []float64, float64) {
	ps, ds := e.travel.PickupMinutes(), e.travel.DropoffMinutes()
	best := math.Inf(1)
	var bestSeq []*orderState
	var bestOffs []float64
	perm := append([]*orderState(nil), os...)
	offs := make([]float64, len(os))
	var try func(k int)
	eval := func() {
		cost, from, t := 0.0, store, ps/2
		for i, o := range perm {
			t += e.travel.TravelMinutes(from, o.drop)
			offs[i] = t + ds/2
			t += ds
			from = o.drop
			cost += e.g(pickup+offs[i]-o.placed, o.promise-o.placed)
		}
		if cost < best-1e-9 {
			best = cost
			bestSeq = append(bestSeq[:0], perm...)
			bestOffs = append(bestOffs[:0], offs...)
		}
	}
	try = func(k int) {
		if k == len(perm) {
			eval()
			return
		}
		for i := k; i < len(perm); i++ {
			perm[k], perm[i] = perm[i], perm[k]
			try(k + 1)
			perm[k], perm[i] = perm[i], perm[k]
		}
	}
	try(0)
	return bestSeq, bestOffs, best
}

func (e *Engine) newBundle(store *storeState, os []*orderState, now float64) *bundle {
	ready := math.Inf(-1)
	for _, o := range os {
		ready = math.Max(ready, o.ready)
	}
	pickup := math.Max(ready, now+e.travel.PickupMinutes()/2)
	seq, offs, _ := e.sequence(os, store.point, pickup)
	return &bundle{store: store, orders: seq, ready: ready, offs: offs}
}

// bundleCost is the summed order cost of a bundle picked up as early as
// possible.
func (e *Engine) bundleCost(b *bundle, now float64) float64 {
	pickup := math.Max(b.ready, now+e.travel.PickupMinutes()/2)
	c := 0.0
	for i, o := range b.orders {
		c += e.g(pickup+b.offs[i]-o.placed, o.promise-o.placed)
	}
	return c
}

// bundles groups the due orders of each store. Orders join a bundle when
// their ready times are close and carrying them together delays the others
// little; the delay allowed grows with the ratio of due orders to free
// riders, since a bundle then saves a trip no free rider could make.
func (e *Engine) bundles(now float64, due []*orderState, supply int) []*bundle {
	byStore := map[*storeState][]*orderState{}
	var stores []*storeState
	for _, o := range due {
		if _, ok := byStore[o.store]; !ok {
			stores = append(stores, o.store)
		}
		byStore[o.store] = append(byStore[o.store], o)
	}
	allowed := e.cfg.BundleDelay.Minutes()
	if ratio := float64(len(due)) / float64(max(supply, 1)); ratio > 1 {
		allowed *= math.Min(ratio, e.cfg.ShortageStretch)
	}
	var out []*bundle
	for _, s := range stores {
		os := byStore[s]
		sort.SliceStable(os, func(i, j int) bool { return os[i].ready < os[j].ready })
		if os[0].made {
			out = e.madeBundles(out, s, os, now)
			continue
		}
		var cur *bundle
		for _, o := range os {
			single := e.newBundle(s, []*orderState{o}, now)
			if cur != nil && len(cur.orders) < e.cfg.MaxBundle && o.ready-cur.orders[0].ready <= e.cfg.BundleGap.Minutes() {
				joined := e.newBundle(s, append(append([]*orderState(nil), cur.orders...), o), now)
				extra := e.bundleCost(joined, now) - e.bundleCost(cur, now) - e.bundleCost(single, now)
				if e.feasibleAlone(joined, now) && extra <= allowed {
					cur = joined
					out[len(out)-1] = cur
					continue
				}
			}
			cur = single
			out = append(out, cur)
		}
	}
	return out
}

// feasibleAlone tells whether a bundle picked up as early as possible keeps
// every order within the maximum click-to-door time.
func (e *Engine) feasibleAlone(b *bundle, now float64) bool {
	limit := e.cfg.MaxClickToDoor.Minutes()
	if limit <= 0 {
		return true
	}
	pickup := math.Max(b.ready, now+e.travel.PickupMinutes()/2)
	for i, o := range b.orders {
		if pickup+b.offs[i]-o.placed > limit+1e-9 {
			return false
		}
	}
	return true
}

// match is the engine's round: bundle the due orders, price each bundle for
// its nearest riders, solve a min-cost matching in which a bundle may also
// wait for a later round, and offer the pairs whose rider should set out now.
func (e *Engine) match(ctx context.Context, now float64, live []*orderState, free, chained *geo.RiderIndex[*riderState], st *RoundStats) {
	horizon := e.cfg.Horizon.Minutes()
	var due []*orderState
	for _, o := range live {
		if len(due) == e.cfg.RoundOrders {
			break
		}
		if o.ready-now <= horizon {
			due = append(due, o)
		}
	}
	if len(due) == 0 {
		return
	}
	if free.Len()+chained.Len() == 0 {
		return
	}
	mark := time.Now()
	bs := e.bundles(now, due, free.Len())
	st.Bundles = len(bs)
	lap(&st.Phases.Bundle, &mark)

	// Candidate riders for each bundle: the nearest idle ones, and the
	// nearest of those about to finish a trip, by where they will be.
	col := map[*riderState]int{}
	var cols []*riderState
	rows := make([][]edge, len(bs))
	wait := make([]float64, len(bs))
	e.candidates(bs, free, chained, now, func(i int, cs []candidate) {
		b := bs[i]
		rows[i] = slices.Grow(rows[i], len(cs))
		b.prices = slices.Grow(b.prices, len(cs))
		best := math.Inf(1)
		for _, c := range cs {
			j, seen := col[c.r]
			if !seen {
				j = len(cols)
				col[c.r] = j
				cols = append(cols, c.r)
			}
			rows[i] = append(rows[i], edge{j, c.p.cost})
			b.prices = append(b.prices, c.p)
			best = math.Min(best, c.p.cost)
		}
		if math.IsInf(best, 1) {
			best = 0
		}
		// Waiting for a later round costs the best offer now and the delay.
		wait[i] = best + e.deferCost(b, now)
	})
	lap(&st.Phases.Candidates, &mark)
	var planned []*trip
	slack := e.cfg.CommitSlack.Minutes()
	matched := assign(rows, wait, len(cols))
	lap(&st.Phases.Assign, &mark)
	for i, j := range matched {
		if j < 0 {
			continue
		}
		var pr price
		for x, ed := range rows[i] {
			if ed.col == j {
				pr = bs[i].prices[x]
			}
		}
		// Hold the pair while the rider would only wait: a later round can
		// still make the same choice, or a better one.
		if pr.wait > slack || pr.depart-now > slack {
			continue
		}
		planned = append(planned, e.offer(cols[j], bs[i], pr, now))
	}
	e.commitOffers(ctx, planned, now, st)
	lap(&st.Phases.Commit, &mark)
}

// deferCost is what leaving a bundle for a later round adds to its cost:
// each order waits DeferMinutes, a late one pays its lateness weight, and an
// order that a later pickup could push past the maximum click-to-door time
// risks being lost, which costs most of all.
func (e *Engine) deferCost(b *bundle, now float64) float64 {
	pickup := math.Max(b.ready, now+e.travel.PickupMinutes()/2)
	limit := e.cfg.MaxClickToDoor.Minutes()
	c := 0.0
	for i, o := range b.orders {
		ctd := pickup + b.offs[i] - o.placed
		c += e.g(ctd+e.cfg.DeferMinutes, o.promise-o.placed) - e.g(ctd, o.promise-o.placed)
		if limit > 0 && ctd+riskMargin > limitOf(o, limit) {
			c += lossCost
		}
	}
	return c
}

// riskMargin and lossCost weigh orders near the maximum click-to-door time:
// within riskMargin minutes of it, deferring one costs lossCost.
const (
	riskMargin = 20.0
	lossCost   = 500.0
)

// candidate is a rider priced for a bundle.
type candidate struct {
	r *riderState
	p price
}

// roundIndex returns the riders that may take a trip now, in two indexes
// by where they can set out from: free holds the idle ones, at their
// position; chained those finishing a trip, at its last drop-off. The
// indexes live as long as the engine, so that the geometry of their cells
// is worked out once. The first round looks at every rider; the others at
// the riders changed since the last round (touch) and those whose turn
// came with time alone (a shift's start or end, a trip ending within the
// horizon).
func (e *Engine) roundIndex(now float64) (free, chained *geo.RiderIndex[*riderState]) {
	at := e.at(now)
	if e.freeIdx == nil {
		cfg := geo.IndexConfig{StaleAfter: 100 * 365 * 24 * time.Hour}
		e.freeIdx, e.chainIdx = geo.NewRiderIndex[*riderState](cfg), geo.NewRiderIndex[*riderState](cfg)
		for _, r := range e.rlist {
			r.in, r.recheck, r.moved = roundNone, 0, false
			e.reindex(r, now, at)
		}
	} else {
		for _, r := range e.touched {
			e.reindex(r, now, at)
		}
		for {
			due, r, ok := e.rechecks.pop(now)
			if !ok {
				break
			}
			if r.recheck == due {
				e.reindex(r, now, at)
			}
		}
	}
	clear(e.touched)
	e.touched = e.touched[:0]
	return e.freeIdx, e.chainIdx
}

// touch marks a rider changed, for the next round's indexes.
func (e *Engine) touch(r *riderState) {
	r.moved = false
	if !r.touched {
		r.touched = true
		e.touched = append(e.touched, r)
	}
}

// touchMoved marks a rider that moved, for the next round's indexes.
func (e *Engine) touchMoved(r *riderState) {
	if !r.touched {
		r.touched, r.moved = true, true
		e.touched = append(e.touched, r)
	}
}

// reindex puts a rider where it belongs in the round's indexes.
func (e *Engine) reindex(r *riderState, now float64, at time.Time) {
	r.touched = false
	if r.moved {
		// Only its position changed: that moves an idle rider, and no
		// other, in the index.
		r.moved = false
		if r.in != roundFree || geo.DistanceM(r.pos, r.inAt) < jitterM {
			return
		}
	}
	p, from, ok, until := e.eligible(r, now)
	if !math.IsInf(until, 1) {
		// Looked at again in the first round at or after until, never in
		// this one again.
		until = math.Max(until, math.Nextafter(now, math.Inf(1)))
		if until != r.recheck {
			e.rechecks.push(until, r)
		}
	}
	r.recheck = until
	r.inFrom = from
	in := roundNone
	switch {
	case !ok:
	case len(r.plan) == 0:
		in = roundFree
	default:
		in = roundChained
	}
	if in == r.in && (in == roundNone || p == r.inAt || in == roundFree && geo.DistanceM(p, r.inAt) < jitterM) {
		return // as it was in the last round
	}
	if in != r.in {
		switch r.in {
		case roundFree:
			e.freeIdx.Remove(r.id)
		case roundChained:
			e.chainIdx.Remove(r.id)
		}
	}
	switch in { // a rider already in the index moves within it
	case roundFree:
		e.freeIdx.Put(r.id, r, p, at)
	case roundChained:
		e.chainIdx.Put(r.id, r, p, at)
	}
	r.in, r.inAt = in, p
}

// sweepEvery is how often a round looks for riders whose position went
// stale: a look goes through a whole city's riders, and a rider is stale
// only after minutes (Config.StaleAfter).
const sweepEvery = 5 * time.Second

// jitterM is how far an idle rider's reported position may wander from
// where the round's index has it before the index moves it: positions
// within it are a phone's GPS noise more than a move, and moving a whole
// city's idle riders in the index for them, ping after ping, would cost
// a round more than it gains in the pricing of a trip (50 m is some ten
// seconds of a ride).
const jitterM = 50

// Where roundIndex last put a rider.
const (
	roundNone = iota
	roundFree
	roundChained
)

// nearest returns up to k riders of ix that can take the bundle, nearest
// to its store first, each with its price.
func (e *Engine) nearest(ix *geo.RiderIndex[*riderState], b *bundle, now float64, k int) []candidate {
	if ix.Len() == 0 {
		return nil
	}
	e.priced = e.priced[:0]
	e.scratch = ix.Nearest(b.store.point, k, e.at(now), func(_ string, r *riderState) bool {
		p, free, ok := e.avail(r, now)
		if !ok {
			return false
		}
		pr, ok := e.priceFor(b, r, p, free)
		if ok {
			e.priced = append(e.priced, candidate{r, pr})
		}
		return ok
	}, e.scratch)
	out := make([]candidate, len(e.scratch))
	for i, nb := range e.scratch {
		for _, c := range e.priced {
			if c.r == nb.Value {
				out[i] = c
				break
			}
		}
	}
	return out
}

// maxStoreRiders caps the riders looked up around one store in a round.
const maxStoreRiders = 4096

// candidates hands each bundle's candidate riders, priced, to add. The
// riders around each store are looked up once a round, in each index, as
// many as the store's bundles need: Candidates for its first bundle and
// one more for each further bundle. The store's bundles, in the order
// bundles made them (earliest ready first), each price a window of
// Candidates riders that slides along that list, nearest first: the
// first Candidates bundles all see the nearest riders, and the bundles of
// a busy store are not left to compete for the same few, so a round can
// offer every bundle of a store that has riders enough around it.
func (e *Engine) candidates(bs []*bundle, free, chained *geo.RiderIndex[*riderState], now float64, add func(i int, cs []candidate)) {
	k := e.cfg.Candidates
	var cs []candidate
	// bundles makes the bundles of each store one after another.
	for first := 0; first < len(bs); {
		s := bs[first].store
		last := first + 1
		for last < len(bs) && bs[last].store == s {
			last++
		}
		n := min(last-first+2*k-1, maxStoreRiders)
		near := [2][]*riderState{e.around(free, s.point, n, now), e.around(chained, s.point, n, now)}
		for i := first; i < last; i++ {
			cs = cs[:0]
			for _, rs := range near {
				cs = e.window(cs, bs[i], rs, max(0, i-first-k+1), k, now)
			}
			add(i, cs)
		}
		first = last
	}
}

// around returns up to n riders of ix, nearest to p first. The round's
// indexes hold exactly the riders that may take a trip until the round
// makes its offers, and around is asked before.
func (e *Engine) around(ix *geo.RiderIndex[*riderState], p geo.Point, n int, now float64) []*riderState {
	if ix.Len() == 0 {
		return nil
	}
	e.scratch = ix.Nearest(p, n, e.at(now), nil, e.scratch)
	out := make([]*riderState, len(e.scratch))
	for i, nb := range e.scratch {
		out[i] = nb.Value
	}
	return out
}

// window appends to cs up to k riders of rs, from index from on, that can
// take bundle b, each with its price.
func (e *Engine) window(cs []candidate, b *bundle, rs []*riderState, from, k int, now float64) []candidate {
	n := 0
	for _, r := range rs[min(from, len(rs)):] {
		if n == k {
			break
		}
		p, free, _ := e.avail(r, now)
		if pr, ok := e.priceFor(b, r, p, free); ok {
			cs = append(cs, candidate{r, pr})
			n++
		}
	}
	return cs
}

// greedy is the baseline: each pending order, oldest first, goes alone to
// the nearest idle rider that can take it.
func (e *Engine) greedy(ctx context.Context, now float64, live []*orderState, free *geo.RiderIndex[*riderState], st *RoundStats) {
	var planned []*trip
	for _, o := range live {
		b := e.newBundle(o.store, []*orderState{o}, now)
		if c := e.nearest(free, b, now, 1); len(c) == 1 {
			planned = append(planned, e.offer(c[0].r, b, c[0].p, now))
		}
	}
	e.commitOffers(ctx, planned, now, st)
}

// offer plans an offer of bundle b to rider r: the rider and the orders
// are taken at once, so that the rest of the round sees them taken; the
// offers of a round are recorded together by commitOffers, which also sets
// when they expire.
func (e *Engine) offer(r *riderState, b *bundle, pr price, now float64) *trip {
	t := newTrip(b.orders)
	t.id, t.rider, t.store, t.state = e.newTripID(), r, b.store, tripOffered
	t.offeredAt, t.depart, t.arrived, t.pickup = now, pr.depart, math.NaN(), pr.pickup
	for i := range b.orders {
		t.drops[i] = pr.pickup + b.offs[i]
		b.orders[i].trip = t
	}
	r.offer = t
	e.touch(r)
	return t
}

// commitOffers records the planned offers of a round in one batch. A trip
// whose orders could not all be offered is undone: the orders that were
// offered are taken back, and all go back to the pending pool.
func (e *Engine) commitOffers(ctx context.Context, ts []*trip, now float64, st *RoundStats) {
	if len(ts) == 0 {
		return
	}
	at := e.at(now)
	// A rider has the whole timeout to answer from the moment the offer is
	// made, however long the round took to find it.
	expires := math.Max(now, e.min(e.clock.Now())) + e.cfg.OfferTimeout.Minutes()
	e.offers = append(e.offers, ts...)
	for _, t := range ts {
		t.expires = expires
		// Held while written: a rider who answers before the write is
		// finished is told to try again, and no round or operator takes
		// the trip back meanwhile.
		t.busy = true
		e.trips[t.id] = t
	}
	// The write goes without the engine's lock: riders' steps, positions
	// and the next round's planning go on meanwhile. The riders and orders
	// of the trips are taken (r.offer, o.trip), so no round offers them
	// again.
	e.writing.Add(1)
	e.unlock()
	began := time.Now()
	// A stop that comes while the offers are written lets the write finish:
	// the offers are then recorded and published like any others, rather
	// than rolled back half-way and reported as failed. offerWriteGrace
	// bounds the write, stop or no stop.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), offerWriteGrace)
	defer cancel()
	ids, byOrder, errs := e.updateTrips(wctx, ts, func(t *trip, x *orders.Order) (orders.Event, error) {
		return x.Offer(at, t.rider.id, e.at(t.expires))
	})
	st.Write += time.Since(began)
	e.lock()
	defer e.writing.Done()
	for _, t := range ts {
		t.busy = false
	}
	failed := map[*trip]bool{}
	offered := map[string]bool{}
	for i, err := range errs {
		if err != nil {
			e.log.Error("offer", "order", ids[i], "rider", byOrder[ids[i]].rider.id, "err", err)
			failed[byOrder[ids[i]]] = true
		} else {
			offered[ids[i]] = true
		}
	}
	for _, t := range ts {
		if failed[t] {
			for _, o := range t.orders {
				if offered[o.id] {
					_ = e.update(wctx, o.id, func(x *orders.Order) (orders.Event, error) { return x.Reassign(at, "offer could not be recorded") })
				}
				o.trip = nil
				e.requeue(o)
			}
			t.rider.offer = nil
			e.touch(t.rider)
			delete(e.trips, t.id)
			continue
		}
		e.stats.Offers++
		st.Offers = append(st.Offers, e.describe(t))
	}
}

// offerWriteGrace bounds a round's offer write: the write goes on when the
// engine is told to stop during it, for up to this long from its start; one
// that takes longer fails, and its orders go back to the pending pool.
const offerWriteGrace = 10 * time.Second

// updateTrips applies one transition to every order of the trips, in one
// batch, and returns the orders' ids, their trips and the error of each.
func (e *Engine) updateTrips(ctx context.Context, ts []*trip, step func(t *trip, x *orders.Order) (orders.Event, error)) ([]string, map[string]*trip, []error) {
	byOrder := map[string]*trip{}
	var ids []string
	for _, t := range ts {
		for _, o := range t.orders {
			byOrder[o.id] = t
			ids = append(ids, o.id)
		}
	}
	errs := e.updateMany(ctx, ids, oneEvent(func(x *orders.Order) (orders.Event, error) {
		return step(byOrder[x.ID], x)
	}))
	return ids, byOrder, errs
}

// updateMany applies fn to the orders of ids, in one batch when the
// repository can, and returns the error of each.
func (e *Engine) updateMany(ctx context.Context, ids []string, fn func(x *orders.Order) ([]orders.Event, error)) []error {
	if bu, ok := e.repo.(orders.BatchUpdater); ok {
		errs, err := bu.UpdateOrders(ctx, ids, fn)
		if err == nil {
			return errs
		}
		if ctx.Err() != nil {
			return errsOf(len(ids), err)
		}
		e.log.Warn("batch update failed; order by order", "orders", len(ids), "err", err)
	}
	errs := make([]error, len(ids))
	for i, id := range ids {
		_, errs[i] = e.repo.UpdateOrder(ctx, id, fn)
	}
	return errs
}

// repair takes back every order a rider has not picked up yet, with the
// reason, and returns how many went back to the pending pool.
func (e *Engine) repair(ctx context.Context, r *riderState, reason string, st *RoundStats) int {
	n := 0
	if r.offer != nil && !r.offer.busy {
		st.Withdrawn = append(st.Withdrawn, r.offer.id)
		n += len(r.offer.orders)
		e.withdraw(ctx, r.offer, reason)
	}
	kept := r.plan[:0]
	for _, t := range r.plan {
		if t.state == tripPickedUp || t.busy {
			// Picked up, or a step of it on its way: the rider keeps it.
			kept = append(kept, t)
			continue
		}
		at := e.clock.Now()
		for _, o := range e.releaseEach(ctx, t.orders, "reassign", func(x *orders.Order) (orders.Event, error) { return x.Reassign(at, reason) }) {
			o.trip = nil
			e.requeue(o)
			n++
		}
		t.state = tripDone
		delete(e.trips, t.id)
		st.Withdrawn = append(st.Withdrawn, t.id)
	}
	r.plan = kept
	e.replan(r)
	return n
}

// improve takes back trips whose rider will reach the store late when an
// idle rider could be there ReassignGain sooner; the round then offers them
// again. Only trips not yet reached are moved, and the reason is recorded.
func (e *Engine) improve(ctx context.Context, now float64, free *geo.RiderIndex[*riderState], st *RoundStats) int {
	gain := e.cfg.ReassignGain.Minutes()
	nowT := e.at(now)
	n := 0
	var busy []*trip
	for {
		_, t, ok := e.toImprove.pop(now)
		if !ok {
			break
		}
		if t.state != tripAssigned {
			continue // reached, picked up, finished or taken back
		}
		if t.busy {
			busy = append(busy, t) // looked at in the next round
			continue
		}
		// Only a rider's last trip may move: one before it leads to the
		// trips after it. The trip is looked at again a minute on, when
		// it may be the last.
		r := t.rider
		e.improveLater(t, now+improveEvery)
		if r.plan[len(r.plan)-1] != t || t.pickup <= tripReady(t)+gain || movedBefore(t) {
			continue
		}
		b := &bundle{store: t.store, orders: t.orders, ready: tripReady(t), offs: make([]float64, len(t.orders))}
		for i := range t.orders {
			b.offs[i] = t.drops[i] - t.pickup
		}
		if c := e.nearest(free, b, now, 1); len(c) == 0 || c[0].p.pickup+gain >= t.pickup {
			continue
		}
		for _, o := range e.releaseEach(ctx, t.orders, "reassign", func(x *orders.Order) (orders.Event, error) { return x.Reassign(nowT, "a closer rider is free") }) {
			o.trip, o.moved = nil, true
			e.requeue(o)
			n++
		}
		r.plan = r.plan[:len(r.plan)-1]
		t.state = tripDone
		delete(e.trips, t.id)
		st.Withdrawn = append(st.Withdrawn, t.id)
		e.replan(r)
		e.reindex(r, now, nowT)
	}
	for _, t := range busy {
		e.improveLater(t, now)
	}
	return n
}

// improveEvery is how often, in minutes, improve looks at a trip, and
// looks for a better rider for it.
const improveEvery = 1.0

// improveLater has improve look at an accepted trip in the first round at
// or after minute at. Only the engine's own rounds look (Config.Reassign
// with AlgoEngine); otherwise nothing is kept.
func (e *Engine) improveLater(t *trip, at float64) {
	if !e.cfg.Reassign || e.cfg.Algo != AlgoEngine {
		return
	}
	e.toImprove.push(at, t)
}

// movedBefore tells whether a trip holds an order that was already moved to
// a better rider once: an order is moved at most once, so riders are not
// passed an order back and forth.
func movedBefore(t *trip) bool {
	for _, o := range t.orders {
		if o.moved {
			return true
		}
	}
	return false
}

// Reassign takes an order away from its rider before pickup, with a reason;
// it goes back to the next round.
func (e *Engine) Reassign(ctx context.Context, orderID, reason string) error {
	if reason == "" {
		return orders.Invalid("reason", "a reassignment needs a reason")
	}
	now := e.clock.Now()
	e.lock()
	defer e.unlock()
	o := e.orders[orderID]
	if o == nil {
		return orders.NotFound("order", orderID)
	}
	t := o.trip
	if t == nil || t.state == tripPickedUp || o.ended {
		return orders.Conflict("order %s has no rider to take it from before pickup", orderID)
	}
	if t.busy {
		return busy("order %s", orderID)
	}
	if err := e.update(ctx, orderID, func(x *orders.Order) (orders.Event, error) { return x.Reassign(now, reason) }); err != nil {
		return err
	}
	e.dropFromTrip(o)
	e.requeue(o)
	e.replan(t.rider)
	e.stats.Reassigned++
	return nil
}
