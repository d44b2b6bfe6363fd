package geo

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestRoadModel(t *testing.T) {
	m := DefaultRoadModel()
	if m != (RoadModel{SpeedMPerMin: 250, Detour: 1.3, PickupMin: 3, DropoffMin: 3}) {
		t.Fatalf("DefaultRoadModel() = %+v", m)
	}
	tests := []struct {
		name     string
		from, to Point
		want     float64
	}{
		{name: "standing still", from: erqiSquare, to: erqiSquare, want: 0},
		// 0.01° of latitude is 1111.9508 m; × 1.3 ÷ 250 m/min.
		{name: "a hundredth of a degree north", from: Point{34.75, 113.65}, to: Point{34.76, 113.65}, want: 5.782144},
		// 5523.0507 m × 1.3 ÷ 250.
		{name: "Erqi Square to Zhengdong CBD", from: erqiSquare, to: Point{34.7685, 113.7270}, want: 28.719864},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := m.TravelMinutes(tc.from, tc.to); math.Abs(got-tc.want) > 1e-6 {
				t.Errorf("TravelMinutes = %.6f, want %.6f", got, tc.want)
			}
		})
	}
	if m.PickupMinutes() != 3 || m.DropoffMinutes() != 3 {
		t.Errorf("service minutes = %v, %v", m.PickupMinutes(), m.DropoffMinutes())
	}
}

func TestRoadModelValidate(t *testing.T) {
	ok := DefaultRoadModel()
	tests := []struct {
		name  string
		edit  func(*RoadModel)
		field string
	}{
		{name: "default", edit: func(*RoadModel) {}},
		{name: "zero speed", edit: func(m *RoadModel) { m.SpeedMPerMin = 0 }, field: "SpeedMPerMin"},
		{name: "NaN speed", edit: func(m *RoadModel) { m.SpeedMPerMin = math.NaN() }, field: "SpeedMPerMin"},
		{name: "detour below one", edit: func(m *RoadModel) { m.Detour = 0.9 }, field: "Detour"},
		{name: "infinite detour", edit: func(m *RoadModel) { m.Detour = math.Inf(1) }, field: "Detour"},
		{name: "negative pickup", edit: func(m *RoadModel) { m.PickupMin = -1 }, field: "PickupMin"},
		{name: "NaN drop-off", edit: func(m *RoadModel) { m.DropoffMin = math.NaN() }, field: "DropoffMin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := ok
			tc.edit(&m)
			err := m.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.field+": ") {
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.field)
			}
		})
	}
}

func TestPlaneRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for _, origin := range []Point{erqiSquare, {Lat: 0, Lng: 0}, {Lat: -33.9, Lng: 151.2}, {Lat: 60, Lng: 10}} {
		pl := Plane{Origin: origin}
		for i := range 20000 {
			x, y := float64(r.IntN(400_000)-200_000), float64(r.IntN(400_000)-200_000)
			if i == 0 {
				x, y = 0, 0
			}
			p := pl.ToPoint(x, y)
			gx, gy := pl.ToXY(p)
			if math.Round(gx) != x || math.Round(gy) != y {
				t.Fatalf("origin %v: ToXY(ToPoint(%v, %v)) = %v, %v", origin, x, y, gx, gy)
			}
		}
	}
	// The plane is metric near the origin: 1 km east is 1 km away.
	pl := Plane{Origin: erqiSquare}
	if d := DistanceM(erqiSquare, pl.ToPoint(1000, 0)); math.Abs(d-1000) > 0.01 {
		t.Errorf("1 km east is %.3f m away", d)
	}
	if d := DistanceM(erqiSquare, pl.ToPoint(0, -1000)); math.Abs(d-1000) > 1e-6 {
		t.Errorf("1 km south is %.6f m away", d)
	}
}

func TestPlanarModel(t *testing.T) {
	pl := Plane{Origin: erqiSquare}
	m := PlanarModel{Plane: pl, MetersPerMinute: 320, PickupMin: 4, DropoffMin: 4}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		x1, y1, x2, y2 float64
		want           float64
	}{
		{name: "same place", x1: 5, y1: 5, x2: 5, y2: 5, want: 0},
		{name: "one metre", x2: 1, want: 1},
		{name: "exactly one minute", x2: 320, want: 1},
		{name: "just over one minute", x2: 321, want: 2},
		{name: "exactly two minutes", x2: 640, want: 2},
		{name: "just over two minutes", x2: 641, want: 3},
		{name: "diagonal 3-4-5 of 640 m", x2: 384, y2: 512, want: 2},
		{name: "diagonal just over", x2: 384, y2: 513, want: 3},
		{name: "westward and south", x1: 1000, y1: 1000, x2: 360, y2: 1000, want: 2},
		// √(3541² + 2583²) = 4383.0 m → 13.70 → 14 minutes.
		{name: "MDRP courier to restaurant", x1: 11491, y1: 2806, x2: 7950, y2: 223, want: 14},
		{name: "far, exact multiple", x2: 0, y2: 3200 * 32, want: 320},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := m.TravelMinutes(pl.ToPoint(tc.x1, tc.y1), pl.ToPoint(tc.x2, tc.y2))
			if got != tc.want {
				t.Errorf("TravelMinutes = %v, want %v", got, tc.want)
			}
		})
	}
	if got := PromiseMinutes(m, 10, pl.ToPoint(0, 0), pl.ToPoint(641, 0)); got != 10+4+3+4 {
		t.Errorf("PromiseMinutes = %v, want 21", got)
	}
}

func TestPlanarModelValidate(t *testing.T) {
	tests := []struct {
		name  string
		m     PlanarModel
		field string
	}{
		{name: "MDRP", m: PlanarModel{Plane: Plane{Origin: erqiSquare}, MetersPerMinute: 320, PickupMin: 4, DropoffMin: 4}},
		{name: "zero speed", m: PlanarModel{Plane: Plane{Origin: erqiSquare}}, field: "MetersPerMinute"},
		{name: "bad origin", m: PlanarModel{Plane: Plane{Origin: Point{Lat: math.NaN()}}, MetersPerMinute: 320}, field: "lat"},
		{name: "polar origin", m: PlanarModel{Plane: Plane{Origin: Point{Lat: 89}}, MetersPerMinute: 320}, field: "Origin"},
		{name: "negative pickup", m: PlanarModel{Plane: Plane{Origin: erqiSquare}, MetersPerMinute: 320, PickupMin: -4}, field: "PickupMin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.field+": ") {
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.field)
			}
		})
	}
}

func TestPromiseMinutes(t *testing.T) {
	m := DefaultRoadModel()
	dest := Plane{Origin: erqiSquare}.ToPoint(0, 2500)
	// 2500 m × 1.3 ÷ 250 = 13 minutes of riding.
	want := 12.0 + 3 + 13 + 3
	if got := PromiseMinutes(m, 12, erqiSquare, dest); math.Abs(got-want) > 1e-6 {
		t.Errorf("PromiseMinutes = %v, want %v", got, want)
	}
	if got := PromiseMinutes(nil, 12, erqiSquare, dest); !math.IsInf(got, 1) {
		t.Errorf("PromiseMinutes(nil) = %v, want +Inf", got)
	}
}
