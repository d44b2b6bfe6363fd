package mdrp

import (
	"math"
	"sort"
)

// Retime returns the solution's assignments with their times recomputed on
// in, which may time legs differently (see WithLegUnit): each courier keeps
// its routes, their order and the minute each was sent, and leaves for each
// as soon as it is sent, on shift and free. Assignments with unknown ids
// are left out.
func Retime(in *Instance, s *Solution) *Solution {
	out := &Solution{Instance: s.Instance, Algo: s.Algo}
	byCourier := map[string][]Assignment{}
	var couriers []string
	for _, a := range s.Assignments {
		if _, ok := byCourier[a.Courier]; !ok {
			couriers = append(couriers, a.Courier)
		}
		byCourier[a.Courier] = append(byCourier[a.Courier], a)
	}
	for _, id := range couriers {
		ci, ok := in.CourierIndex[id]
		if !ok {
			continue
		}
		c := in.Couriers[ci]
		routes := byCourier[id]
		sort.SliceStable(routes, func(i, j int) bool { return routes[i].Depart < routes[j].Depart })
		x, y, free := c.X, c.Y, c.On
		for _, a := range routes {
			depart := math.Max(a.Time, free)
			rt, err := in.RouteTiming(x, y, depart, a.Restaurant, a.Orders)
			if err != nil {
				continue
			}
			out.Assignments = append(out.Assignments, Assignment{
				Time: a.Time, Courier: id, Restaurant: a.Restaurant, Orders: a.Orders,
				Depart: depart, Pickup: rt.Pickup, Dropoffs: rt.Dropoffs,
			})
			x, y, free = rt.EndX, rt.EndY, rt.End
		}
	}
	return out
}
