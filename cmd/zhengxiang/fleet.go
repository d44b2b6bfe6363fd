package main

import (
	"time"

	"zhengxiang/dispatch"
	"zhengxiang/dispatch/sim"
)

// A seat of the simulated fleet that rides longer than a rider may work in
// a day (dispatch.DefaultWorkLimit, the demo's week) is ridden by a crew in
// turns: fleetCrew riders, each riding fleetStint and resting while the
// others ride, so that the seat is never empty and nobody works more than
// fleetStint in a day.
const (
	fleetCrew  = 3
	fleetStint = 8 * time.Hour
)

// fleetShifts returns the shifts that ride seat i of a fleet of n, whose
// first rider is seat: seat alone when its shift is within the working
// limit, else the crew's turns, the first rider's first. The crew's other
// riders are fleetRiderID(i+n, n), fleetRiderID(i+2n, n).
func fleetShifts(i, n int, seat sim.Rider) []sim.Rider {
	if seat.Off.Sub(seat.On) <= dispatch.DefaultWorkLimit {
		return []sim.Rider{seat}
	}
	var out []sim.Rider
	for k, on := 0, seat.On; on.Before(seat.Off); k, on = k+1, on.Add(fleetStint) {
		r := seat
		if m := k % fleetCrew; m > 0 {
			r.ID = fleetRiderID(i+m*n, n)
		}
		r.On, r.Off = on, on.Add(fleetStint)
		if r.Off.After(seat.Off) {
			r.Off = seat.Off
		}
		out = append(out, r)
	}
	return out
}
