package geo

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// DefaultStaleAfter is how long a rider stays matchable after the last
// position ping when IndexConfig.StaleAfter is zero.
const DefaultStaleAfter = 2 * time.Minute

// Limits of the rider index's search and caches.
const (
	// maxIndexRings is the farthest ring Nearest expands to before it
	// scans every rider.
	maxIndexRings = 48
	// firstRings is the number of rings measured for a new query cell.
	firstRings = 3
	// boundMarginM is subtracted from every distance bound to absorb
	// rounding; it is far larger than the errors involved.
	boundMarginM = 0.5
	// maxRingCells and maxGeoCells cap the caches; a full cache is cleared
	// and refilled on demand.
	maxRingCells = 1 << 21
	maxGeoCells  = 1 << 18
)

// Neighbor is a rider found by RiderIndex.Nearest.
type Neighbor[V any] struct {
	ID string
	// Value is what the rider carries in the index (RiderIndex.Put).
	Value V
	Point Point
	// DistanceM is the great-circle distance from the query point, equal to
	// DistanceM(query, Point).
	DistanceM float64
}

// IndexConfig configures a RiderIndex.
type IndexConfig struct {
	// Res is the H3 resolution of the index's buckets; zero means
	// PositionRes.
	Res int
	// StaleAfter is how long after its last ping a rider is skipped by
	// Nearest and removed by Sweep; zero means DefaultStaleAfter.
	StaleAfter time.Duration
}

// Validate reports a field that is out of range: Res must be within
// [0, 15] and StaleAfter must not be negative.
func (c IndexConfig) Validate() error {
	if c.Res < 0 || c.Res > 15 {
		return fmt.Errorf("index config: Res: %d is outside [0, 15]", c.Res)
	}
	if c.StaleAfter < 0 {
		return fmt.Errorf("index config: StaleAfter: %v is negative", c.StaleAfter)
	}
	return nil
}

// withDefaults fills zero fields and replaces invalid ones with defaults.
func (c IndexConfig) withDefaults() IndexConfig {
	if c.Res <= 0 || c.Res > 15 {
		c.Res = PositionRes
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = DefaultStaleAfter
	}
	return c
}

// member is a rider's record inside its cell's bucket, holding what the
// search reads: the position as a unit vector (for a quick chord test) and
// in radians with the cosine of the latitude (for the haversine term), and
// the last ping in Unix nanoseconds. Buckets keep their members side by
// side so that scanning a cell reads contiguous memory.
type member struct {
	u             vec3
	lat, lng, cos float64
	at            int64
	slot          int32
}

// riderInfo is a rider's slot: the rest of its state and where its member
// lives.
type riderInfo[V any] struct {
	id     string
	v      V
	p      Point
	at     time.Time
	bucket int32 // index in RiderIndex.buckets
	pos    int32 // index in the bucket's members
}

// bucket holds the riders in one cell. It carries a copy of the cell's
// edge normals so that an update that stays in the cell touches no other
// memory.
type bucket struct {
	cell    Cell
	geo     *cellGeo
	members []member
	convex  bool
	normals [6]vec3
}

// contains is cellGeo.contains on the bucket's copy of the normals.
func (b *bucket) contains(u vec3) bool {
	if !b.convex {
		return false
	}
	for i := range b.normals {
		if b.normals[i].dot(u) <= insideEps {
			return false
		}
	}
	return true
}

// ringSet is the cached neighbourhood of one query cell.
type ringSet struct {
	// rings[d] holds the cells at grid distance d.
	rings [][]Cell
	// geos[d][j] is the outline of rings[d][j] and faces[d][j] has bit i
	// set when edge i of that cell borders ring d+1; those edges make up
	// the boundary of the disk of radius d. Both are filled on demand.
	geos  [][]*cellGeo
	faces [][]uint16
}

// candidate is a rider under consideration, ranked by haversine term then
// ID.
type candidate struct {
	a    float64
	slot int32
}

// RiderIndex holds the live positions of riders in H3 buckets and finds the
// nearest ones to a point exactly. Positions are updated in place. Each
// rider carries a value of type V (Put), which comes back with it from
// Nearest and Move: the caller's own record of the rider, found without a
// second lookup by ID. It is not safe for concurrent use, and Nearest fills
// internal caches, so callers hold a lock around every method. The zero
// RiderIndex is an empty index with the default configuration.
type RiderIndex[V any] struct {
	res     int
	staleNs int64

	info []riderInfo[V] // dense slots
	byID map[string]int32

	buckets  []bucket
	byCell   map[Cell]int32
	freeBkts []int32

	atlas     *atlas
	rings     map[Cell]*ringSet
	ringCells int

	cand []candidate
}

// NewRiderIndex returns an empty index. Zero or invalid fields of cfg take
// their defaults (see IndexConfig).
func NewRiderIndex[V any](cfg IndexConfig) *RiderIndex[V] {
	cfg = cfg.withDefaults()
	return &RiderIndex[V]{
		res:     cfg.Res,
		staleNs: int64(cfg.StaleAfter),
		byID:    map[string]int32{},
		byCell:  map[Cell]int32{},
		atlas:   newAtlas(cfg.Res),
		rings:   map[Cell]*ringSet{},
	}
}

// unixNanos converts t to Unix nanoseconds, saturating outside the years
// 1678 to 2262.
func unixNanos(t time.Time) int64 {
	const lim = 9_000_000_000 // seconds, about the year 2255
	switch s := t.Unix(); {
	case s < -lim:
		return math.MinInt64
	case s > lim:
		return math.MaxInt64
	}
	return t.UnixNano()
}

// cutoff returns the Unix nanoseconds before which a ping is stale at now.
func (ix *RiderIndex[V]) cutoff(now time.Time) int64 {
	n := unixNanos(now)
	if n < math.MinInt64+ix.staleNs {
		return math.MinInt64
	}
	return n - ix.staleNs
}

// Len returns the number of riders in the index, stale ones included.
func (ix *RiderIndex[V]) Len() int { return len(ix.info) }

// Update records that rider id was at p at time at, keeping the value it
// carries (the zero V for a rider new to the index). A rider that stays in
// its cell is updated in place without allocating; one that crosses into
// another cell moves to that cell's bucket. Updates with an invalid point
// are ignored.
func (ix *RiderIndex[V]) Update(id string, p Point, at time.Time) {
	ix.update(id, p, at)
}

// Put is Update that also sets the value rider id carries, which Nearest
// hands back with it and Move returns.
func (ix *RiderIndex[V]) Put(id string, v V, p Point, at time.Time) {
	if i := ix.update(id, p, at); i >= 0 {
		ix.info[i].v = v
	}
}

// Move is Update for a rider already in the index: it returns the value
// the rider carries, and false, changing nothing, when id is not in the
// index or p is invalid. One lookup by ID serves both.
func (ix *RiderIndex[V]) Move(id string, p Point, at time.Time) (V, bool) {
	i, ok := ix.byID[id]
	if !ok || !p.valid() {
		var zero V
		return zero, false
	}
	ix.move(i, p, at)
	return ix.info[i].v, true
}

// update is Update; it returns the rider's slot, or -1 when p is invalid.
func (ix *RiderIndex[V]) update(id string, p Point, at time.Time) int32 {
	if !p.valid() {
		return -1
	}
	if ix.atlas == nil {
		*ix = *NewRiderIndex[V](IndexConfig{})
	}
	if i, ok := ix.byID[id]; ok {
		ix.move(i, p, at)
		return i
	}
	m := memberAt(p, at)
	i := int32(len(ix.info))
	ix.info = append(ix.info, riderInfo[V]{id: id, p: p, at: at})
	ix.byID[id] = i
	m.slot = i
	ix.attach(i, ix.atlas.locate(p, m.u), m)
	return i
}

// memberAt returns the member of a rider at the valid point p at time at,
// its slot not set.
func memberAt(p Point, at time.Time) member {
	lat, lng := p.Lat*degToRad, p.Lng*degToRad
	return member{u: unitOf(lat, lng), lat: lat, lng: lng, cos: math.Cos(lat), at: unixNanos(at)}
}

// move puts slot i at the valid point p at time at.
func (ix *RiderIndex[V]) move(i int32, p Point, at time.Time) {
	m := memberAt(p, at)
	m.slot = i
	inf := &ix.info[i]
	inf.p, inf.at = p, at
	b := &ix.buckets[inf.bucket]
	if b.contains(m.u) {
		b.members[inf.pos] = m
		return
	}
	// Most moves that leave a cell end in the neighbour across the edge
	// crossed; the atlas settles the rest.
	c := b.geo.step(m.u)
	if c == 0 || !ix.atlas.geo(c).contains(m.u) {
		c = ix.atlas.locate(p, m.u)
	}
	if c == b.cell {
		b.members[inf.pos] = m
		return
	}
	ix.detach(i)
	ix.attach(i, c, m)
}

// attach appends m, the member of slot i, to the bucket of cell c.
func (ix *RiderIndex[V]) attach(i int32, c Cell, m member) {
	bi, ok := ix.byCell[c]
	if !ok {
		if n := len(ix.freeBkts); n > 0 {
			bi = ix.freeBkts[n-1]
			ix.freeBkts = ix.freeBkts[:n-1]
		} else {
			bi = int32(len(ix.buckets))
			ix.buckets = append(ix.buckets, bucket{})
		}
		b := &ix.buckets[bi]
		b.cell, b.geo = c, ix.atlas.geo(c)
		if b.convex = b.geo.convex; b.convex {
			for i := range b.normals {
				b.normals[i] = b.geo.edges[i].n
			}
		}
		ix.byCell[c] = bi
	}
	b := &ix.buckets[bi]
	ix.info[i].bucket, ix.info[i].pos = bi, int32(len(b.members))
	b.members = append(b.members, m)
}

// detach takes slot i's member out of its bucket, freeing the bucket when
// it empties.
func (ix *RiderIndex[V]) detach(i int32) {
	inf := &ix.info[i]
	b := &ix.buckets[inf.bucket]
	last := len(b.members) - 1
	b.members[inf.pos] = b.members[last]
	ix.info[b.members[inf.pos].slot].pos = inf.pos
	b.members = b.members[:last]
	if last == 0 {
		delete(ix.byCell, b.cell)
		b.cell, b.geo = 0, nil
		ix.freeBkts = append(ix.freeBkts, inf.bucket)
	}
}

// Remove deletes rider id and reports whether it was present.
func (ix *RiderIndex[V]) Remove(id string) bool {
	i, ok := ix.byID[id]
	if !ok {
		return false
	}
	ix.removeSlot(i)
	return true
}

// removeSlot deletes slot i, moving the last slot into its place.
func (ix *RiderIndex[V]) removeSlot(i int32) {
	ix.detach(i)
	delete(ix.byID, ix.info[i].id)
	last := int32(len(ix.info) - 1)
	if i != last {
		ix.info[i] = ix.info[last]
		inf := &ix.info[i]
		ix.byID[inf.id] = i
		ix.buckets[inf.bucket].members[inf.pos].slot = i
	}
	ix.info[last] = riderInfo[V]{}
	ix.info = ix.info[:last]
}

// Position returns rider id's last position and ping time.
func (ix *RiderIndex[V]) Position(id string) (Point, time.Time, bool) {
	i, ok := ix.byID[id]
	if !ok {
		return Point{}, time.Time{}, false
	}
	return ix.info[i].p, ix.info[i].at, true
}

// Sweep removes the riders whose last ping is older than now minus
// StaleAfter and returns their IDs in ascending order.
func (ix *RiderIndex[V]) Sweep(now time.Time) []string {
	cut := ix.cutoff(now)
	var gone []string
	for i := int32(len(ix.info)) - 1; i >= 0; i-- {
		inf := &ix.info[i]
		if ix.buckets[inf.bucket].members[inf.pos].at < cut {
			gone = append(gone, inf.id)
			ix.removeSlot(i)
		}
	}
	slices.Sort(gone)
	return gone
}

// search is the state of one nearest-neighbour query.
type search[V any] struct {
	ix            *RiderIndex[V]
	k             int
	u             vec3
	lat, lng, cos float64
	cut           int64
	keep          func(id string, v V) bool
	// above is a squared chord beyond which a rider cannot beat the k-th
	// candidate; it is +Inf until there are k candidates.
	above float64
	// reach is the haversine term of a distance at least boundMarginM
	// beyond the k-th candidate, and reachSin and reachCos are the sine
	// and cosine of half its angle; reach is -1 until there are k
	// candidates. No rider farther than reach can enter the list.
	reach, reachSin, reachCos float64
}

func (ix *RiderIndex[V]) newSearch(p Point, k int, now time.Time, keep func(string, V) bool) search[V] {
	lat, lng := p.Lat*degToRad, p.Lng*degToRad
	ix.cand = ix.cand[:0]
	return search[V]{
		ix: ix, k: k, u: unitOf(lat, lng), lat: lat, lng: lng, cos: math.Cos(lat),
		cut: ix.cutoff(now), keep: keep, above: math.Inf(1), reach: -1,
	}
}

// scan offers the members of one bucket to the candidate list, which holds
// the best k riders so far in ascending (distance, ID) order.
func (s *search[V]) scan(ms []member) {
	for j := range ms {
		m := &ms[j]
		if m.at < s.cut {
			continue
		}
		// The squared chord over four is the haversine term too, but
		// cheaper and rounded differently, so it only rules riders out,
		// with a margin (in above) far wider than the rounding.
		if d := m.u.sub(s.u); d.dot(d) > s.above {
			continue
		}
		s.consider(m)
	}
}

func (s *search[V]) consider(m *member) {
	ix := s.ix
	a := haversineA(s.lat, s.lng, s.cos, m.lat, m.lng, m.cos)
	c := ix.cand
	n := len(c)
	if n == s.k {
		w := c[n-1]
		if a > w.a || a == w.a && ix.info[m.slot].id >= ix.info[w.slot].id {
			return
		}
	}
	if s.keep != nil && !s.keep(ix.info[m.slot].id, ix.info[m.slot].v) {
		return
	}
	// Binary search for the first candidate ranked after the new one.
	lo, hi := 0, n
	for lo < hi {
		h := int(uint(lo+hi) >> 1)
		if c[h].a < a || c[h].a == a && ix.info[c[h].slot].id < ix.info[m.slot].id {
			lo = h + 1
		} else {
			hi = h
		}
	}
	if n < s.k {
		c = append(c, candidate{})
	}
	copy(c[lo+1:], c[lo:])
	c[lo] = candidate{a: a, slot: m.slot}
	ix.cand = c
	if len(c) == s.k {
		// chord = 2 sin(θ/2) = 2√a; both terms are within about 1e-16 of
		// the true half-angle sine, the margin is 1e-13.
		w := math.Sqrt(c[len(c)-1].a)
		h := 2 * (w + 1e-13)
		s.above = h * h
		// sin((r+m)/2R) ≤ sin(r/2R) + m/2R, so the reach errs on the far
		// side.
		s.reachSin = min(w+boundMarginM/(2*EarthRadiusM), 1)
		s.reach = s.reachSin * s.reachSin
		s.reachCos = math.Sqrt(1 - s.reach)
	}
}

// far reports whether every point of the cell g lies beyond the reach:
// whether its centre is farther than reach plus the cell's radius.
func (s *search[V]) far(g *cellGeo) bool {
	if s.reach < 0 {
		return false
	}
	if s.reachCos*g.cosRho < s.reachSin*g.sinRho {
		return false // half the sum passes a right angle
	}
	// sin of half the sum of the two angles.
	t := s.reachSin*g.cosRho + s.reachCos*g.sinRho
	d := s.u.sub(g.center)
	return d.dot(d) > 4*t*t
}

// scanAll offers every rider.
func (s *search[V]) scanAll() {
	s.ix.cand = s.ix.cand[:0]
	s.above, s.reach = math.Inf(1), -1
	for bi := range s.ix.buckets {
		s.scan(s.ix.buckets[bi].members)
	}
}

// results appends the candidates to dst as neighbours.
func (s *search[V]) results(dst []Neighbor[V]) []Neighbor[V] {
	for _, c := range s.ix.cand {
		inf := &s.ix.info[c.slot]
		dst = append(dst, Neighbor[V]{ID: inf.id, Value: inf.v, Point: inf.p, DistanceM: haversineM(c.a)})
	}
	return dst
}

// Nearest returns up to k riders nearest to p by great-circle distance, and
// so by travel time under any model that grows with distance, nearest
// first, ties broken by ID. It skips riders whose last ping is older than
// now minus StaleAfter and riders for which keep(id, value) is false (keep
// may be nil and must not call the index). The result is appended to
// dst[:0].
// It is exact: it returns what BruteNearest returns.
//
// The search scans rings of cells around p's cell outwards, skipping cells
// whose outline lies wholly beyond the k-th rider found so far. After the
// cells within grid distance d, every rider not yet seen lies outside the
// boundary of those cells, so at least as far from p as the nearest edge of
// that boundary, measured on the cell outlines; the search stops once it
// holds k riders nearer than that. Past 48 rings, or when the rings would
// hold more cells than there are riders, it scans every rider instead.
func (ix *RiderIndex[V]) Nearest(p Point, k int, now time.Time, keep func(id string, v V) bool, dst []Neighbor[V]) []Neighbor[V] {
	dst = dst[:0]
	if k <= 0 || !p.valid() || len(ix.info) == 0 {
		return dst
	}
	s := ix.newSearch(p, k, now, keep)
	o := ix.atlas.locate(p, s.u)
	rs := ix.ringsOf(o)
	scanned := 0
	for d := 0; ; d++ {
		if d+1 >= len(rs.rings) && !ix.growRings(o, rs) {
			s.scanAll()
			break
		}
		for j, c := range rs.rings[d] {
			// Once the list is full, cells wholly beyond its reach are
			// skipped before the bucket lookup.
			if d > 0 && s.reach >= 0 {
				if d >= len(rs.geos) {
					ix.boundary(rs, d)
				}
				if s.far(rs.geos[d][j]) {
					continue
				}
			}
			if bi, ok := ix.byCell[c]; ok {
				s.scan(ix.buckets[bi].members)
			}
		}
		scanned += len(rs.rings[d])
		if s.reach >= 0 && ix.beyond(rs, d, s.u, s.reach) {
			break
		}
		if scanned+len(rs.rings[d+1]) > len(ix.info)+64 {
			s.scanAll()
			break
		}
	}
	return s.results(dst)
}

// beyond reports whether every boundary edge of the disk of radius d lies
// farther from u than the distance whose haversine term is t.
func (ix *RiderIndex[V]) beyond(rs *ringSet, d int, u vec3, t float64) bool {
	if t > 0.5 {
		return false // past a quarter of the globe, sines stop growing
	}
	if d >= len(rs.geos) {
		ix.boundary(rs, d)
	}
	sin2 := 4 * t * (1 - t)
	for j, g := range rs.geos[d] {
		for f, i := rs.faces[d][j], 0; f != 0; f, i = f>>1, i+1 {
			if f&1 != 0 && g.edges[i].within(u, t, sin2) {
				return false
			}
		}
	}
	return true
}

// BruteNearest returns what Nearest returns by looking at every rider. It
// is the reference for tests and benchmarks.
func (ix *RiderIndex[V]) BruteNearest(p Point, k int, now time.Time, keep func(id string, v V) bool) []Neighbor[V] {
	if k <= 0 || !p.valid() || len(ix.info) == 0 {
		return nil
	}
	s := ix.newSearch(p, k, now, keep)
	s.scanAll()
	return s.results(nil)
}

// ringsOf returns the cached rings around the valid cell o, measuring them
// when o is new.
func (ix *RiderIndex[V]) ringsOf(o Cell) *ringSet {
	if rs, ok := ix.rings[o]; ok {
		return rs
	}
	if ix.ringCells >= maxRingCells {
		clear(ix.rings)
		ix.ringCells = 0
	}
	rs := &ringSet{}
	ix.measure(o, rs, firstRings)
	ix.rings[o] = rs
	return rs
}

// growRings widens rs, doubling its radius up to maxIndexRings while the
// disk holds fewer cells than there are riders (beyond that a full scan is
// cheaper), and reports whether it grew.
func (ix *RiderIndex[V]) growRings(o Cell, rs *ringSet) bool {
	k := len(rs.rings) - 1
	n := min(2*k, maxIndexRings)
	for n > k && 3*n*(n+1)+1 > len(ix.info)+64 {
		n--
	}
	if n <= k {
		return false
	}
	ix.measure(o, rs, n)
	return true
}

// measure sets the rings of rs to those of o up to radius k, keeping the
// rings it already has (and their order, which geos follows).
func (ix *RiderIndex[V]) measure(o Cell, rs *ringSet, k int) {
	rings := gridRings(o, k)
	copy(rings, rs.rings)
	for _, r := range rings[len(rs.rings):] {
		ix.ringCells += len(r)
	}
	rs.rings = rings
}

// boundary fills rs.geos and rs.faces up to radius d, which must be below
// the radius of rs.
func (ix *RiderIndex[V]) boundary(rs *ringSet, d int) {
	for e := len(rs.geos); e <= d; e++ {
		next := slices.Clone(rs.rings[e+1])
		slices.Sort(next)
		geos := make([]*cellGeo, len(rs.rings[e]))
		faces := make([]uint16, len(rs.rings[e]))
		for j, c := range rs.rings[e] {
			g := ix.atlas.geo(c)
			geos[j] = g
			for i := range g.edges {
				nb := g.edges[i].across
				// An unknown neighbour counts as boundary, which can only
				// lower the bound.
				if _, out := slices.BinarySearch(next, nb); out || nb == 0 {
					faces[j] |= 1 << i
				}
			}
		}
		rs.geos = append(rs.geos, geos)
		rs.faces = append(rs.faces, faces)
	}
}
