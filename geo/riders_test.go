package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// hotSpots are busy places in Zhengzhou used to make rider layouts uneven.
var hotSpots = []Point{
	{Lat: 34.7566, Lng: 113.6683}, // Erqi Square
	{Lat: 34.7685, Lng: 113.7270}, // Zhengdong CBD
	{Lat: 34.8080, Lng: 113.5530}, // High-tech zone
	{Lat: 34.7459, Lng: 113.6580}, // Railway station
}

// testPoint draws a point over Zhengzhou, near a hot spot half of the time.
func testPoint(r *rand.Rand, a *Area) Point {
	if r.IntN(2) == 0 {
		return a.RandomPointNear(r, hotSpots[r.IntN(len(hotSpots))], 300+r.Float64()*2000)
	}
	return a.RandomPoint(r)
}

// sortedNearest is the plainest possible reference: sort everyone.
func sortedNearest[V any](ix *RiderIndex[V], p Point, k int, now time.Time, keep func(string, V) bool) []Neighbor[V] {
	cut := now.Add(-ix.staleAfter())
	var all []Neighbor[V]
	for i := range ix.info {
		inf := ix.info[i]
		if inf.at.Before(cut) || keep != nil && !keep(inf.id, inf.v) {
			continue
		}
		all = append(all, Neighbor[V]{ID: inf.id, Value: inf.v, Point: inf.p, DistanceM: DistanceM(p, inf.p)})
	}
	slices.SortFunc(all, func(a, b Neighbor[V]) int {
		if a.DistanceM != b.DistanceM {
			if a.DistanceM < b.DistanceM {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	return all[:min(k, len(all))]
}

func (ix *RiderIndex[V]) staleAfter() time.Duration { return time.Duration(ix.staleNs) }

func TestRiderIndexNearestMatchesBrute(t *testing.T) {
	area := Zhengzhou()
	tests := []struct {
		name    string
		riders  int
		res     int
		queries int
	}{
		{name: "sparse", riders: 40, queries: 300},
		{name: "city", riders: 3000, queries: 600},
		{name: "crowded", riders: 20000, queries: 200},
		{name: "dense coarse cells", riders: 3000, res: 8, queries: 300},
		{name: "fine cells", riders: 2000, res: 10, queries: 300},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tc.riders), uint64(tc.res)))
			// Each rider carries its number, which must come back with it
			// whatever the index did to its slot.
			ix := NewRiderIndex[int](IndexConfig{Res: tc.res, StaleAfter: time.Minute})
			t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
			ids := make([]string, tc.riders)
			num := make(map[string]int, tc.riders)
			for i := range ids {
				ids[i] = fmt.Sprintf("r%04d", i)
				num[ids[i]] = i
				ix.Put(ids[i], i, testPoint(r, area), t0.Add(-time.Duration(r.IntN(90))*time.Second))
			}
			var dst []Neighbor[int]
			for q := range tc.queries {
				// Move some riders, some by a step and some across town;
				// a rider swept or removed comes back through Put.
				for range 20 {
					i := r.IntN(len(ids))
					id := ids[i]
					at := t0.Add(time.Duration(q) * time.Second)
					p, _, ok := ix.Position(id)
					if !ok || r.IntN(4) == 0 {
						p = testPoint(r, area)
					} else {
						p = Plane{Origin: p}.ToPoint(r.NormFloat64()*60, r.NormFloat64()*60)
					}
					switch v, moved := ix.Move(id, p, at); {
					case moved != ok:
						t.Fatalf("Move(%s) = %v, but Position found it: %v", id, moved, ok)
					case moved && v != i:
						t.Fatalf("Move(%s) returned %d, want %d", id, v, i)
					case !moved:
						ix.Put(id, i, p, at)
					}
				}
				now := t0.Add(time.Duration(q) * time.Second)
				switch q % 97 {
				case 13:
					ix.Sweep(now.Add(-20 * time.Second))
				case 42:
					for range 10 {
						ix.Remove(ids[r.IntN(len(ids))])
					}
				}
				p := testPoint(r, area)
				if q%10 == 0 {
					p = Point{Lat: 34.95 + r.Float64()*0.2, Lng: 113.3 + r.Float64()}
				}
				k := 1 + r.IntN(25)
				var keep func(string, int) bool
				if q%3 == 0 {
					mod := 2 + r.IntN(5)
					keep = func(id string, v int) bool {
						if v != num[id] {
							t.Fatalf("keep(%s) was given %d, want %d", id, v, num[id])
						}
						return v%mod != 0
					}
				}
				dst = ix.Nearest(p, k, now, keep, dst)
				want := ix.BruteNearest(p, k, now, keep)
				if !slices.Equal(dst, want) {
					t.Fatalf("query %d at %v k=%d:\n got %v\nwant %v", q, p, k, dst, want)
				}
				for _, nb := range dst {
					if nb.Value != num[nb.ID] {
						t.Fatalf("query %d: %s came back with %d, want %d", q, nb.ID, nb.Value, num[nb.ID])
					}
				}
				if ref := sortedNearest(ix, p, k, now, keep); !slices.Equal(want, ref) {
					t.Fatalf("query %d: BruteNearest %v, sorted reference %v", q, want, ref)
				}
			}
		})
	}
}

func TestRiderIndexBasics(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ix := NewRiderIndex[struct{}](IndexConfig{StaleAfter: time.Minute})
	pl := Plane{Origin: erqiSquare}
	ix.Update("b", pl.ToPoint(100, 0), t0)
	ix.Update("a", pl.ToPoint(-100, 0), t0) // as far as b
	ix.Update("c", pl.ToPoint(0, 50), t0.Add(-50*time.Second))
	ix.Update("d", pl.ToPoint(0, 3000), t0.Add(-2*time.Minute)) // stale at t0
	ix.Update("bad", Point{Lat: math.NaN(), Lng: 1}, t0)        // ignored
	if ix.Len() != 4 {
		t.Fatalf("Len = %d, want 4", ix.Len())
	}
	tests := []struct {
		name string
		k    int
		now  time.Time
		keep func(string, struct{}) bool
		want []string
	}{
		{name: "nearest first, ties by ID", k: 3, now: t0, want: []string{"c", "a", "b"}},
		{name: "k larger than the riders", k: 10, now: t0, want: []string{"c", "a", "b"}},
		{name: "k=1", k: 1, now: t0, want: []string{"c"}},
		{name: "k=0", k: 0, now: t0},
		{name: "c goes stale", k: 5, now: t0.Add(11 * time.Second), want: []string{"a", "b"}},
		{name: "earlier, d is fresh", k: 5, now: t0.Add(-time.Minute), want: []string{"c", "a", "b", "d"}},
		{name: "keep drops a", k: 2, now: t0, keep: func(id string, _ struct{}) bool { return id != "a" }, want: []string{"c", "b"}},
		{name: "keep drops all", k: 2, now: t0, keep: func(string, struct{}) bool { return false }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ix.Nearest(erqiSquare, tc.k, tc.now, tc.keep, nil)
			var ids []string
			for _, n := range got {
				ids = append(ids, n.ID)
				if n.DistanceM != DistanceM(erqiSquare, n.Point) {
					t.Errorf("%s: DistanceM %v, want %v", n.ID, n.DistanceM, DistanceM(erqiSquare, n.Point))
				}
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("Nearest = %v, want %v", ids, tc.want)
			}
		})
	}

	if got := ix.Nearest(Point{Lat: math.NaN()}, 3, t0, nil, nil); len(got) != 0 {
		t.Errorf("Nearest(NaN) = %v", got)
	}
	p, at, ok := ix.Position("c")
	if !ok || p != pl.ToPoint(0, 50) || !at.Equal(t0.Add(-50*time.Second)) {
		t.Errorf("Position(c) = %v, %v, %v", p, at, ok)
	}
	if _, _, ok := ix.Position("bad"); ok {
		t.Error("an invalid point was indexed")
	}
	if gone := ix.Sweep(t0.Add(15 * time.Second)); !slices.Equal(gone, []string{"c", "d"}) {
		t.Errorf("Sweep = %v, want [c d]", gone)
	}
	if !ix.Remove("a") || ix.Remove("a") {
		t.Error("Remove(a) should succeed once")
	}
	if ix.Len() != 1 {
		t.Errorf("Len = %d, want 1", ix.Len())
	}
	got := ix.Nearest(erqiSquare, 5, t0, nil, nil)
	if len(got) != 1 || got[0].ID != "b" {
		t.Errorf("Nearest after removals = %v", got)
	}
}

func TestRiderIndexUpdateInPlace(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ix := NewRiderIndex[*string](IndexConfig{})
	c := CellOf(erqiSquare, PositionRes).Center()
	ix.Update("r1", c, t0)
	pl := Plane{Origin: c}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		ix.Update("r1", pl.ToPoint(float64(i%40), 0), t0.Add(time.Duration(i)*time.Second))
		ix.Move("r1", pl.ToPoint(float64(i%40), 1), t0.Add(time.Duration(i)*time.Second))
	})
	if allocs != 0 {
		t.Errorf("Update and Move within a cell allocate %v times", allocs)
	}
	// Crossing into another cell moves the rider between buckets.
	far := pl.ToPoint(2000, 0)
	ix.Update("r1", far, t0)
	if got := ix.Nearest(far, 1, t0, nil, nil); len(got) != 1 || got[0].Point != far {
		t.Errorf("after a move, Nearest = %v", got)
	}
	if len(ix.byCell) != 1 {
		t.Errorf("%d buckets hold one rider", len(ix.byCell))
	}
}

func TestRiderIndexValues(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	pl := Plane{Origin: erqiSquare}
	ix := NewRiderIndex[string](IndexConfig{})
	value := func(id string) (string, bool) {
		for _, nb := range ix.BruteNearest(erqiSquare, ix.Len(), t0, nil) {
			if nb.ID == id {
				return nb.Value, true
			}
		}
		return "", false
	}
	ix.Update("new", pl.ToPoint(10, 0), t0)
	if v, ok := value("new"); !ok || v != "" {
		t.Errorf("a rider new through Update carries %q, %v; want the zero value", v, ok)
	}
	ix.Put("a", "first", pl.ToPoint(20, 0), t0)
	ix.Update("a", pl.ToPoint(3000, 0), t0) // another cell
	if v, _ := value("a"); v != "first" {
		t.Errorf("after Update, a carries %q, want first", v)
	}
	ix.Put("a", "second", pl.ToPoint(30, 0), t0)
	if v, ok := ix.Move("a", pl.ToPoint(-3000, 0), t0); !ok || v != "second" {
		t.Errorf("Move(a) = %q, %v; want second, true", v, ok)
	}
	if p, _, _ := ix.Position("a"); p != pl.ToPoint(-3000, 0) {
		t.Errorf("Move left a at %v", p)
	}
	if v, ok := ix.Move("a", Point{Lat: math.NaN()}, t0); ok || v != "" {
		t.Errorf("Move(a) to an invalid point = %q, %v; want nothing", v, ok)
	}
	if v, ok := ix.Move("absent", pl.ToPoint(0, 0), t0); ok || v != "" || ix.Len() != 2 {
		t.Errorf("Move(absent) = %q, %v and Len %d; want nothing done", v, ok, ix.Len())
	}
	// Removing a rider moves the last slot into its place, with its value.
	ix.Put("b", "of b", pl.ToPoint(40, 0), t0)
	ix.Remove("new")
	if v, ok := ix.Move("b", pl.ToPoint(50, 0), t0); !ok || v != "of b" {
		t.Errorf("after a removal, Move(b) = %q, %v; want of b", v, ok)
	}
	if v, _ := value("a"); v != "second" {
		t.Errorf("after a removal, a carries %q, want second", v)
	}
}

func TestIndexConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     IndexConfig
		wantErr string
	}{
		{name: "defaults", cfg: IndexConfig{}},
		{name: "explicit", cfg: IndexConfig{Res: 10, StaleAfter: time.Minute}},
		{name: "resolution too fine", cfg: IndexConfig{Res: 16}, wantErr: "Res: "},
		{name: "negative staleness", cfg: IndexConfig{StaleAfter: -time.Second}, wantErr: "StaleAfter: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("Validate = %v, want %q", err, tc.wantErr)
			}
			// Invalid configs still make a working index with defaults.
			ix := NewRiderIndex[struct{}](tc.cfg)
			ix.Update("r", erqiSquare, time.Now())
			if len(ix.Nearest(erqiSquare, 1, time.Now(), nil, nil)) != 1 {
				t.Error("index does not work")
			}
		})
	}
}

func TestRiderIndexSameSpot(t *testing.T) {
	// Many riders on one spot: the ranking is by ID alone.
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ix := NewRiderIndex[struct{}](IndexConfig{})
	for i := range 50 {
		ix.Update(fmt.Sprintf("r%02d", 49-i), erqiSquare, t0)
	}
	got := ix.Nearest(erqiSquare, 5, t0, nil, nil)
	if want := ix.BruteNearest(erqiSquare, 5, t0, nil); !slices.Equal(got, want) || got[0].ID != "r00" || got[4].ID != "r04" {
		t.Errorf("Nearest = %v", got)
	}
}

func TestRiderIndexZeroValue(t *testing.T) {
	var ix RiderIndex[int]
	if got := ix.Nearest(erqiSquare, 3, time.Now(), nil, nil); len(got) != 0 || ix.Len() != 0 || ix.Remove("x") {
		t.Fatal("zero index is not empty")
	}
	ix.Update("r", erqiSquare, time.Now())
	if got := ix.Nearest(erqiSquare, 3, time.Now(), nil, nil); len(got) != 1 {
		t.Fatalf("Nearest = %v", got)
	}
	if gone := ix.Sweep(time.Now().Add(time.Hour)); len(gone) != 1 || ix.Len() != 0 {
		t.Fatalf("Sweep = %v, Len = %d", gone, ix.Len())
	}
}

// TestRiderIndexWorldwide runs the search with coarse cells over the whole
// globe, where neighbours can be thousands of kilometres away.
func TestRiderIndexWorldwide(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 13))
	anywhere := func() Point {
		return Point{Lat: math.Asin(2*r.Float64()-1) / degToRad, Lng: 360*r.Float64() - 180}
	}
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		res    int
		riders int
	}{
		{name: "res 1, few riders", res: 1, riders: 30},
		{name: "res 2", res: 2, riders: 3000},
		{name: "res 4", res: 4, riders: 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix := NewRiderIndex[struct{}](IndexConfig{Res: tc.res})
			for i := range tc.riders {
				ix.Update(fmt.Sprintf("w%04d", i), anywhere(), t0)
			}
			var dst []Neighbor[struct{}]
			for q := range 150 {
				p, k := anywhere(), 1+r.IntN(20)
				dst = ix.Nearest(p, k, t0, nil, dst)
				if want := ix.BruteNearest(p, k, t0, nil); !slices.Equal(dst, want) {
					t.Fatalf("query %d at %v: got %v, want %v", q, p, dst, want)
				}
			}
		})
	}
}
