package geo

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// EarthRadiusM is the mean Earth radius in metres used for great-circle
// distances.
const EarthRadiusM = 6371008.8

// ErrInvalidPoint is wrapped by every error about a coordinate that is not a
// valid latitude or longitude.
var ErrInvalidPoint = errors.New("geo: invalid point")

// ErrOutsideArea is wrapped by errors about a valid point that lies outside
// the service area.
var ErrOutsideArea = errors.New("geo: point outside the service area")

const degToRad = math.Pi / 180

// Point is a position in degrees of latitude and longitude, in the city's
// coordinate system (GCJ-02 for the Zhengzhou data).
type Point struct {
	Lat, Lng float64
}

// Validate reports whether p is a usable coordinate. The error wraps
// ErrInvalidPoint and names the field: lat must be finite and within
// [-90, 90], lng finite and within [-180, 180].
func (p Point) Validate() error {
	if err := checkCoord("lat", p.Lat, 90); err != nil {
		return err
	}
	return checkCoord("lng", p.Lng, 180)
}

// CoordError is the error of Validate: which coordinate is wrong and why.
// It wraps ErrInvalidPoint.
type CoordError struct {
	Field string  // "lat" or "lng"
	Value float64 // the value given
	Why   string  // "is not a coordinate", "is outside [-90, 90]"
}

func (e *CoordError) Error() string {
	return fmt.Sprintf("%v: %s: %v %s", ErrInvalidPoint, e.Field, e.Value, e.Why)
}

// Unwrap returns ErrInvalidPoint.
func (e *CoordError) Unwrap() error { return ErrInvalidPoint }

func checkCoord(field string, v, limit float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return &CoordError{Field: field, Value: v, Why: "is not a coordinate"}
	}
	if v < -limit || v > limit {
		return &CoordError{Field: field, Value: v, Why: fmt.Sprintf("is outside [%v, %v]", -limit, limit)}
	}
	return nil
}

// valid is Validate without building an error.
func (p Point) valid() bool {
	return p.Lat >= -90 && p.Lat <= 90 && p.Lng >= -180 && p.Lng <= 180
}

// String formats p as "(lat, lng)" with six decimals, about 0.1 m.
func (p Point) String() string {
	return "(" + strconv.FormatFloat(p.Lat, 'f', 6, 64) + ", " + strconv.FormatFloat(p.Lng, 'f', 6, 64) + ")"
}

// DistanceM returns the great-circle (haversine) distance between a and b in
// metres on a sphere of radius EarthRadiusM. It is NaN when a coordinate is
// NaN.
func DistanceM(a, b Point) float64 {
	la, lb := a.Lat*degToRad, b.Lat*degToRad
	h := haversineA(la, a.Lng*degToRad, math.Cos(la), lb, b.Lng*degToRad, math.Cos(lb))
	return haversineM(h)
}

// haversineA returns the haversine term a = sin²(Δlat/2) + cos lat1 cos lat2
// sin²(Δlng/2) for coordinates in radians. It grows with distance, so the
// rider index ranks by it and converts only the winners to metres.
func haversineA(lat1, lng1, cos1, lat2, lng2, cos2 float64) float64 {
	sl := math.Sin((lat2 - lat1) / 2)
	sg := math.Sin((lng2 - lng1) / 2)
	h := sl*sl + cos1*cos2*sg*sg
	if h > 1 {
		h = 1
	}
	return h
}

// haversineM converts a haversine term to metres.
func haversineM(h float64) float64 {
	return 2 * EarthRadiusM * math.Asin(math.Sqrt(h))
}

// haversineOf returns the haversine term of a distance in metres, the inverse
// of haversineM for distances up to half the circumference.
func haversineOf(m float64) float64 {
	if m <= 0 {
		return 0
	}
	if m >= math.Pi*EarthRadiusM {
		return 1
	}
	s := math.Sin(m / (2 * EarthRadiusM))
	return s * s
}
