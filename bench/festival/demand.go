package festival

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"zhengxiang/dispatch"
	"zhengxiang/dispatch/sim"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// Shift is a kind of rider shift, in hours of the day. A shift whose end is
// before its start runs past midnight.
type Shift struct {
	Name       string
	Start, End float64 // hours of the day
	Share      float64 // share of the riders working it
}

// Shifts are the riders' shifts: a long morning one, short ones for the
// lunch and dinner peaks, an evening one and a few night riders, so that
// every hour has riders.
var Shifts = []Shift{
	{"morning", 7, 15, 0.20},
	{"lunch", 10.5, 14, 0.27},
	{"dinner", 16.5, 20.5, 0.27},
	{"evening", 14.5, 22.5, 0.19},
	{"night", 22, 7.5, 0.07},
}

// riderShifts gives each of n riders a shift, a start point near a store
// (busy stores draw more riders) and a capacity of 3 to 5 orders, and returns the shifts they ride within
// [from, to] minutes of the day (minute 0 is midnight of the festival day;
// the range may run into the following days). A rider working more than
// once in the range appears once per shift, with "#2", "#3" after its id.
func riderShifts(r *rand.Rand, area *geo.Area, stores []*store, n int, day time.Time, from, to float64) []sim.Rider {
	var out []sim.Rider
	for i := range n {
		sh, f := Shifts[0], (float64(i)+0.5)/float64(n)
		for _, s := range Shifts {
			if f < s.Share {
				sh = s
				break
			}
			f -= s.Share
		}
		start := area.RandomPointNear(r, pickStore(r, stores).Point, 1000)
		capacity := 3 + r.IntN(3)
		on := sh.Start*60 + (r.Float64()-0.5)*40
		off := sh.End*60 + (r.Float64()-0.5)*40
		if off <= on {
			off += 24 * 60
		}
		id := fmt.Sprintf("R%04d", i+1)
		k := 0
		for d := math.Floor(from/1440) - 1; d*1440 <= to; d++ {
			a, b := math.Max(on+d*1440, from), math.Min(off+d*1440, to)
			if b-a < 10 {
				continue
			}
			k++
			rid := id
			if k > 1 {
				rid = fmt.Sprintf("%s#%d", id, k)
			}
			out = append(out, sim.Rider{ID: rid, Start: start, On: at(day, a), Off: at(day, b), Capacity: capacity})
		}
	}
	return out
}

// at returns the time m minutes after day.
func at(day time.Time, m float64) time.Time {
	return day.Add(time.Duration(math.Round(m*60)) * time.Second)
}

// Intensity is the relative rate of orders at an hour of the day (0 to 24):
// low at night, rising through the morning, with a lunch peak from 11:00 to
// 13:00 and a dinner peak from 17:00 to 19:30.
func Intensity(hour float64) float64 {
	h := math.Mod(hour, 24)
	if h < 0 {
		h += 24
	}
	// A daily base: lowest around 04:00, highest in the afternoon.
	base := 1.1 - math.Cos((h-4)/24*2*math.Pi)
	return base + 4.5*plateau(h, 11, 13, 0.75) + 3.5*plateau(h, 17, 19.5, 0.75)
}

// plateau is 1 between from and to and falls to 0 over ramp hours on either
// side along a cosine.
func plateau(h, from, to, ramp float64) float64 {
	switch {
	case h >= from && h <= to:
		return 1
	case h < from && h > from-ramp:
		return 0.5 + 0.5*math.Cos((from-h)/ramp*math.Pi)
	case h > to && h < to+ramp:
		return 0.5 + 0.5*math.Cos((h-to)/ramp*math.Pi)
	}
	return 0
}

// placements draws the placement minutes of the orders in [from, to)
// minutes of the day, for a day of perDay orders spread by Intensity. The
// count is the day's share of the window, rounded; the result is sorted.
func placements(r *rand.Rand, perDay int, from, to float64) []float64 {
	day := 0.0
	for m := range 24 * 60 {
		day += Intensity((float64(m) + 0.5) / 60)
	}
	// Cumulative intensity over the window, minute by minute.
	var cum []float64
	total := 0.0
	for m := from; m < to; m++ {
		w := math.Min(1, to-m)
		total += w * Intensity((m+w/2)/60)
		cum = append(cum, total)
	}
	n := int(math.Round(float64(perDay) * total / day))
	out := make([]float64, 0, n)
	for range n {
		x := r.Float64() * total
		i, _ := slices.BinarySearch(cum, x)
		i = min(i, len(cum)-1)
		lo := 0.0
		if i > 0 {
			lo = cum[i-1]
		}
		frac := 0.0
		if cum[i] > lo {
			frac = (x - lo) / (cum[i] - lo)
		}
		out = append(out, math.Min(from+float64(i)+frac, to-1e-6))
	}
	slices.Sort(out)
	return out
}

// platforms are the festival's delivery platforms and their shares.
var platforms = []struct {
	id    string
	share float64
}{{"meituan", 0.55}, {"eleme", 0.30}, {"jddj", 0.10}, {"uupt", 0.05}}

// sectionWeight is how much a consumer favours a store of each section.
var sectionWeight = map[orders.Section]float64{
	orders.SectionFlavours: 1,
	orders.SectionDeals:    1,
	orders.SectionMade:     0.6,
}

// demand draws a consumer address near a hot spot or anywhere in the area,
// and a store among those whose circle covers it.
type demand struct {
	r       *rand.Rand
	area    *geo.Area
	hs      []HotSpot
	cov     *geo.Coverage
	byID    map[string]*store
	travel  geo.Travel
	service dispatch.Config // the promise of each section's service class
	day     time.Time
	sites   []orders.DropSite
}

// maxAddressTries bounds the draws of an address that some store serves.
const maxAddressTries = 50

// distanceScaleM is how fast a consumer's preference for a store falls with
// distance: a store this much farther is e times less likely.
const distanceScaleM = 1500

// order makes order number seq placed at minute m of the day.
func (d *demand) order(seq int, m float64) (sim.Order, string, error) {
	var addr geo.Point
	var ids []string
	for range maxAddressTries {
		if d.r.Float64() < 0.85 {
			addr = d.area.RandomPointNear(d.r, pickHotSpot(d.r, d.hs).Point, 3000)
		} else {
			addr = d.area.RandomPoint(d.r)
		}
		if ids = d.cov.Stores(addr); len(ids) > 0 {
			break
		}
	}
	if len(ids) == 0 {
		return sim.Order{}, "", fmt.Errorf("festival: no store serves any of %d addresses drawn", maxAddressTries)
	}
	ws := make([]float64, len(ids))
	total := 0.0
	for i, id := range ids {
		s := d.byID[id]
		ws[i] = s.popularity * sectionWeight[s.Section] * math.Exp(-geo.DistanceM(s.Point, addr)/distanceScaleM)
		total += ws[i]
	}
	x, pick := d.r.Float64()*total, len(ids)-1
	for i, w := range ws {
		if x -= w; x < 0 {
			pick = i
			break
		}
	}
	s := d.byID[ids[pick]]

	var items []orders.Item
	var subtotal int64
	perm := d.r.Perm(len(s.kind.items))
	for _, j := range perm[:1+d.r.IntN(min(3, len(perm)))] {
		it := s.kind.items[j]
		it.Qty = 1 + d.r.IntN(2)
		items = append(items, it)
		subtotal += int64(it.Qty) * it.PriceCents
	}

	x = d.r.Float64()
	plat := platforms[len(platforms)-1].id
	for _, p := range platforms {
		if x -= p.share; x < 0 {
			plat = p.id
			break
		}
	}
	// The consumer's drop-off: the door, a hand-over in person, or a
	// locker or drop point near by whose gate the store serves.
	method, site, drop := orders.HandoverDoor, "", addr
	switch x := d.r.Float64(); {
	case x < lockerShare:
		method = orders.HandoverLocker
	case x < lockerShare+dropPointShare:
		method = orders.HandoverDropPoint
	case x < lockerShare+dropPointShare+inPersonShare:
		method = orders.HandoverInPerson
	}
	if method == orders.HandoverLocker || method == orders.HandoverDropPoint {
		if st, ok := d.siteNear(method, addr, s.ID); ok {
			site, drop = st.ID, st.Gate
		} else {
			method = orders.HandoverDoor
		}
	}

	// Delivery fee: 3 yuan, 1 more per km past 3 km. The platforms ask
	// for free deliveries of restaurants' meals at placement (intake).
	dist := geo.DistanceM(s.Point, drop)
	fee := int64(300 + 100*math.Max(0, math.Ceil((dist-3000)/1000)))

	// Factory goods go out with the factory's collection wave, promised
	// by the wave day's deadline; the others within the 1-hour promise.
	prep := s.PrepMinutes * (0.85 + 0.3*d.r.Float64())
	placed := at(d.day, m)
	ready, promise := d.service.PromiseFor(s.Section, placed, prep, d.travel, s.Point, drop)
	ready = ready.Round(time.Second)
	// The store is a little late more often than early.
	noise := math.Max(-2, math.Min(6, 0.5+1.5*d.r.NormFloat64()))
	actual := ready.Add(time.Duration(noise * float64(time.Minute))).Round(time.Second)
	if earliest := placed.Add(time.Minute); actual.Before(earliest) {
		actual = earliest
	}
	dist2, _ := d.area.District(addr)
	id := fmt.Sprintf("O%06d", seq)
	o := orders.Order{
		ID: id, Platform: plat, PlatformOrderID: fmt.Sprintf("%s-%06d", plat, seq), StoreID: s.ID,
		Section: s.Section, Items: items, SubtotalCents: subtotal, DeliveryFeeCents: fee,
		Dropoff:  addr,
		Address:  fmt.Sprintf("%s %s, near %s", dist2.NameZH, dist2.Name, nearestHotSpot(d.hs, addr).Label),
		District: dist2.Name, DropoffMethod: method, DropoffSiteID: site,
		PlacedAt: placed, ReadyAt: ready, PromiseAt: promise,
	}
	return sim.Order{Order: o, ActualReady: actual}, dist2.Name, nil
}

// siteNear returns the site of kind nearest to addr, within siteRadiusM,
// whose gate the store serves.
func (d *demand) siteNear(kind orders.Handover, addr geo.Point, storeID string) (orders.DropSite, bool) {
	var best orders.DropSite
	bestD := float64(siteRadiusM)
	for _, st := range d.sites {
		if m := geo.DistanceM(st.Gate, addr); st.Kind == kind && m <= bestD && slices.Contains(d.cov.Stores(st.Gate), storeID) {
			best, bestD = st, m
		}
	}
	return best, best.ID != ""
}
