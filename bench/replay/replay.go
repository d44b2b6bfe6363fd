// Package replay runs the Grubhub Meal Delivery Routing Problem instances
// online through the dispatcher: the engine sees each order only from its
// placement minute, couriers follow its trips exactly, and the result is an
// MDRP solution that the problem's own checker can judge.
package replay

import (
	"context"
	"fmt"
	"math"
	"time"

	"zhengxiang/bench/mdrp"
	"zhengxiang/dispatch"
	"zhengxiang/dispatch/sim"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/memory"
)

// Epoch is minute 0 of a replayed day: the first day of the 2020 festival.
var Epoch = time.Date(2020, 3, 15, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))

// Origin places an instance's metric plane on the map, at Zhengzhou's
// Erqi Square; only distances on the plane matter.
var Origin = geo.Point{Lat: 34.7566, Lng: 113.6683}

// Config returns the dispatcher's settings for an MDRP replay: rounds every
// minute, the instance's hard maximum click-to-door, no reassignment (the
// rules fix an assignment once sent) and riders that never go stale (the
// instances carry no pings).
func Config(algo dispatch.Algo, p mdrp.Params) dispatch.Config {
	return dispatch.Config{
		Algo:            algo,
		RoundEvery:      time.Minute,
		OfferTimeout:    time.Minute,
		MaxBundle:       4,
		Candidates:      20,
		CommitSlack:     time.Minute,
		MaxClickToDoor:  time.Duration(p.MaxCTD * float64(time.Minute)),
		StaleAfter:      7 * 24 * time.Hour,
		DefaultCapacity: 1000,
	}
}

// Travel is the instance's travel model on the plane.
func Travel(p mdrp.Params) geo.PlanarModel {
	return geo.PlanarModel{Plane: geo.Plane{Origin: Origin}, MetersPerMinute: p.MetersPerMinute, PickupMin: p.PickupService, DropoffMin: p.DropoffService}
}

// Run replays one instance with cfg and returns the solution in the
// problem's terms.
func Run(ctx context.Context, in *mdrp.Instance, cfg dispatch.Config) (*mdrp.Solution, error) {
	travel := Travel(in.Params)
	plane := travel.Plane
	clock := dispatch.NewManualClock(Epoch)
	eng, err := dispatch.New(cfg, memory.NewRepository(nil), travel, clock, nil)
	if err != nil {
		return nil, err
	}
	s := sim.New(eng, clock, travel, sim.Behaviour{})
	minute := func(m float64) time.Time { return Epoch.Add(time.Duration(m * float64(time.Minute))) }
	for _, r := range in.Restaurants {
		if err := s.AddStore(ctx, orders.Store{ID: r.ID, Name: r.ID, Section: orders.SectionFlavours, Point: plane.ToPoint(r.X, r.Y)}); err != nil {
			return nil, err
		}
	}
	last := 0.0
	for _, c := range in.Couriers {
		s.AddRider(sim.Rider{ID: c.ID, Start: plane.ToPoint(c.X, c.Y), On: minute(c.On), Off: minute(c.Off)})
		last = math.Max(last, c.Off)
	}
	for _, o := range in.Orders {
		s.AddOrder(sim.Order{Order: orders.Order{
			ID: o.ID, Platform: "mdrp", PlatformOrderID: o.ID, StoreID: o.Restaurant, Section: orders.SectionFlavours,
			Items:    []orders.Item{{SKU: "meal", Name: "meal", Qty: 1}},
			Dropoff:  plane.ToPoint(o.X, o.Y),
			PlacedAt: minute(o.Placement), ReadyAt: minute(o.Ready), PromiseAt: minute(o.Placement + in.Params.TargetCTD),
		}})
		last = math.Max(last, o.Placement)
	}
	res, err := s.Run(ctx, minute(last+in.Params.MaxCTD+120), nil)
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", in.Name, err)
	}
	sol := &mdrp.Solution{Instance: in.Name, Algo: string(cfg.Algo)}
	min := func(t time.Time) float64 { return t.Sub(Epoch).Minutes() }
	for _, t := range res.Trips {
		if len(t.Dropoffs) != len(t.OrderIDs) {
			return nil, fmt.Errorf("replay %s: trip %s of %s ended with %d of %d drop-offs", in.Name, t.ID, t.RiderID, len(t.Dropoffs), len(t.OrderIDs))
		}
		a := mdrp.Assignment{Time: min(t.Offered), Courier: t.RiderID, Restaurant: t.StoreID, Orders: t.OrderIDs, Depart: min(t.Depart), Pickup: min(t.Pickup)}
		for _, d := range t.Dropoffs {
			a.Dropoffs = append(a.Dropoffs, min(d))
		}
		sol.Assignments = append(sol.Assignments, a)
	}
	return sol, nil
}
