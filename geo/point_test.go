package geo

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestPointValidate(t *testing.T) {
	tests := []struct {
		name  string
		p     Point
		field string // "" when valid
	}{
		{name: "Erqi Square", p: Point{Lat: 34.7566, Lng: 113.6683}},
		{name: "corners", p: Point{Lat: -90, Lng: 180}},
		{name: "NaN lat", p: Point{Lat: math.NaN(), Lng: 113}, field: "lat"},
		{name: "infinite lat", p: Point{Lat: math.Inf(1), Lng: 113}, field: "lat"},
		{name: "lat above 90", p: Point{Lat: 90.5, Lng: 113}, field: "lat"},
		{name: "NaN lng", p: Point{Lat: 34, Lng: math.NaN()}, field: "lng"},
		{name: "lng below -180", p: Point{Lat: 34, Lng: -180.01}, field: "lng"},
		{name: "lng infinite", p: Point{Lat: 34, Lng: math.Inf(-1)}, field: "lng"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidPoint) {
				t.Fatalf("Validate() = %v, want an error wrapping ErrInvalidPoint", err)
			}
			if !strings.Contains(err.Error(), tc.field+": ") {
				t.Errorf("Validate() = %q, want it to name %q", err, tc.field)
			}
		})
	}
}

func TestDistanceM(t *testing.T) {
	tests := []struct {
		name string
		a, b Point
		want float64 // hand-computed: R·Δσ with R = 6371008.8 m
		tol  float64
	}{
		{name: "same point", a: Point{34.75, 113.65}, b: Point{34.75, 113.65}, want: 0},
		// One degree of latitude is R·π/180.
		{name: "one degree of latitude", a: Point{0, 0}, b: Point{1, 0}, want: 111195.08, tol: 0.01},
		{name: "one degree of longitude at the equator", a: Point{0, 10}, b: Point{0, 11}, want: 111195.08, tol: 0.01},
		{name: "a hundredth of a degree north in Zhengzhou", a: Point{34.75, 113.65}, b: Point{34.76, 113.65}, want: 1111.9508, tol: 1e-4},
		// Half the circumference, π·R.
		{name: "antipodes", a: Point{0, 0}, b: Point{0, 180}, want: 20015114.44, tol: 0.01},
		{name: "Erqi Square to Zhengdong CBD", a: Point{34.7566, 113.6683}, b: Point{34.7685, 113.7270}, want: 5523.0507, tol: 1e-3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DistanceM(tc.a, tc.b)
			if math.Abs(got-tc.want) > tc.tol {
				t.Errorf("DistanceM = %.4f, want %.4f", got, tc.want)
			}
			if back := DistanceM(tc.b, tc.a); back != got {
				t.Errorf("DistanceM is not symmetric: %v and %v", got, back)
			}
		})
	}
}

func TestHaversineOfInvertsHaversineM(t *testing.T) {
	for _, m := range []float64{0.001, 1, 150, 2500, 1e6, 1e7} {
		if got := haversineM(haversineOf(m)); math.Abs(got-m) > 1e-6*math.Max(1, m) {
			t.Errorf("haversineM(haversineOf(%v)) = %v", m, got)
		}
	}
}
