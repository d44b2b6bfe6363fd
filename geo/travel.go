package geo

import (
	"fmt"
	"math"
)

// Travel is a travel-time model. Minutes are fractional.
type Travel interface {
	// TravelMinutes returns the time a rider spends moving from one point
	// to another, without service times.
	TravelMinutes(from, to Point) float64
	// PickupMinutes returns the service time at the store.
	PickupMinutes() float64
	// DropoffMinutes returns the service time at the customer's door.
	DropoffMinutes() float64
}

// RoadModel estimates travel on the road network as the great-circle
// distance times a detour factor, divided by the rider's speed.
type RoadModel struct {
	// SpeedMPerMin is the rider's average speed in metres per minute.
	SpeedMPerMin float64
	// Detour is the ratio of road distance to great-circle distance (at
	// least 1).
	Detour float64
	// PickupMin is the service time at the store in minutes.
	PickupMin float64
	// DropoffMin is the service time at the door in minutes.
	DropoffMin float64
}

// DefaultRoadModel returns the model for e-bike riders in Zhengzhou:
// 250 m/min (15 km/h), a detour factor of 1.3, and 3 minutes each for pickup
// and drop-off.
func DefaultRoadModel() RoadModel {
	return RoadModel{SpeedMPerMin: 250, Detour: 1.3, PickupMin: 3, DropoffMin: 3}
}

// Validate reports the first field of m that is out of range: the speed
// must be positive, the detour at least 1 and the service times
// non-negative, all finite.
func (m RoadModel) Validate() error {
	if err := positive("SpeedMPerMin", m.SpeedMPerMin); err != nil {
		return fmt.Errorf("road model: %w", err)
	}
	if !(m.Detour >= 1) || math.IsInf(m.Detour, 0) {
		return fmt.Errorf("road model: Detour: must be a finite number of at least 1, got %v", m.Detour)
	}
	if err := nonNegative("PickupMin", m.PickupMin); err != nil {
		return fmt.Errorf("road model: %w", err)
	}
	if err := nonNegative("DropoffMin", m.DropoffMin); err != nil {
		return fmt.Errorf("road model: %w", err)
	}
	return nil
}

// TravelMinutes returns DistanceM(from, to) × Detour ÷ SpeedMPerMin.
func (m RoadModel) TravelMinutes(from, to Point) float64 {
	return DistanceM(from, to) * m.Detour / m.SpeedMPerMin
}

// PickupMinutes returns PickupMin.
func (m RoadModel) PickupMinutes() float64 { return m.PickupMin }

// DropoffMinutes returns DropoffMin.
func (m RoadModel) DropoffMinutes() float64 { return m.DropoffMin }

func positive(field string, v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return fmt.Errorf("%s: must be a positive finite number, got %v", field, v)
	}
	return nil
}

func nonNegative(field string, v float64) error {
	if !(v >= 0) || math.IsInf(v, 0) {
		return fmt.Errorf("%s: must be a non-negative finite number, got %v", field, v)
	}
	return nil
}

// Plane maps a local metric plane (x east, y north, in metres) onto
// latitude and longitude around Origin, equirectangularly at the origin's
// latitude. Within 200 km of the origin, integer coordinates survive the
// round trip exactly: ToXY(ToPoint(x, y)) rounds back to (x, y). It is meant
// for planes away from the poles and the antimeridian.
type Plane struct {
	Origin Point
}

// ToPoint returns the point at x metres east and y metres north of the
// origin.
func (pl Plane) ToPoint(x, y float64) Point {
	ky, kx := pl.scales()
	return Point{Lat: pl.Origin.Lat + y/ky, Lng: pl.Origin.Lng + x/kx}
}

// ToXY returns p's coordinates on the plane in metres.
func (pl Plane) ToXY(p Point) (x, y float64) {
	ky, kx := pl.scales()
	return (p.Lng - pl.Origin.Lng) * kx, (p.Lat - pl.Origin.Lat) * ky
}

// scales returns metres per degree of latitude and of longitude.
func (pl Plane) scales() (ky, kx float64) {
	ky = EarthRadiusM * degToRad
	return ky, ky * math.Cos(pl.Origin.Lat*degToRad)
}

// Validate reports whether the plane's origin is a valid point away from
// the poles (|lat| < 85).
func (pl Plane) Validate() error {
	if err := pl.Origin.Validate(); err != nil {
		return fmt.Errorf("plane: Origin: %w", err)
	}
	if math.Abs(pl.Origin.Lat) >= 85 {
		return fmt.Errorf("plane: Origin: lat: %v is too close to a pole", pl.Origin.Lat)
	}
	return nil
}

// PlanarModel is the travel model of the Grubhub meal delivery routing
// problem (MDRP) instances: travel takes ceil(d / MetersPerMinute) whole
// minutes, where d is the Euclidean distance on Plane between the points'
// coordinates rounded to whole metres. Results are exact for points made
// from integer metre coordinates with Plane.ToPoint.
type PlanarModel struct {
	// Plane maps the instance's metre coordinates to points.
	Plane Plane
	// MetersPerMinute is the rider's speed (320 in the MDRP instances).
	MetersPerMinute float64
	// PickupMin is the service time at the store in minutes.
	PickupMin float64
	// DropoffMin is the service time at the door in minutes.
	DropoffMin float64
}

// Validate reports the first field of m that is out of range.
func (m PlanarModel) Validate() error {
	if err := m.Plane.Validate(); err != nil {
		return fmt.Errorf("planar model: %w", err)
	}
	if err := positive("MetersPerMinute", m.MetersPerMinute); err != nil {
		return fmt.Errorf("planar model: %w", err)
	}
	if err := nonNegative("PickupMin", m.PickupMin); err != nil {
		return fmt.Errorf("planar model: %w", err)
	}
	if err := nonNegative("DropoffMin", m.DropoffMin); err != nil {
		return fmt.Errorf("planar model: %w", err)
	}
	return nil
}

// TravelMinutes returns ceil(d / MetersPerMinute) for the Euclidean
// distance d between the whole-metre plane coordinates of from and to.
func (m PlanarModel) TravelMinutes(from, to Point) float64 {
	x1, y1 := m.Plane.ToXY(from)
	x2, y2 := m.Plane.ToXY(to)
	dx := math.Round(x2) - math.Round(x1)
	dy := math.Round(y2) - math.Round(y1)
	d2 := dx*dx + dy*dy
	v := m.MetersPerMinute
	t := math.Ceil(math.Sqrt(d2) / v)
	// With whole metres and a whole speed, settle ceil exactly in integers
	// (squares below 2^53 are exact), so 640 m at 320 m/min is 2 minutes
	// and 641 m is 3 whatever the rounding of the square root.
	if v == math.Trunc(v) && t < 1<<20 && d2 < 1<<52 {
		for t > 0 && (t-1)*v*(t-1)*v >= d2 {
			t--
		}
		for t*v*t*v < d2 {
			t++
		}
	}
	return t
}

// PickupMinutes returns PickupMin.
func (m PlanarModel) PickupMinutes() float64 { return m.PickupMin }

// DropoffMinutes returns DropoffMin.
func (m PlanarModel) DropoffMinutes() float64 { return m.DropoffMin }

// PromiseMinutes returns the delivery promise for an order from store to
// dest: preparation, pickup, travel and drop-off. It returns +Inf when t is
// nil.
func PromiseMinutes(t Travel, prepMin float64, store, dest Point) float64 {
	if t == nil {
		return math.Inf(1)
	}
	return prepMin + t.PickupMinutes() + t.TravelMinutes(store, dest) + t.DropoffMinutes()
}
