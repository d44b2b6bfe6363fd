package mdrp

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Assignment is one bundle sent to a courier: what the dispatcher decided and
// the times it claims.
type Assignment struct {
	Time       float64   // when the dispatcher sent the assignment
	Courier    string    // courier id
	Restaurant string    // restaurant id of every order of the bundle
	Orders     []string  // the bundle, in drop-off order
	Depart     float64   // when the courier leaves its origin (start point or last drop-off) for the restaurant
	Pickup     float64   // claimed pickup time
	Dropoffs   []float64 // claimed drop-off time of each order, same order as Orders
}

// Solution is a dispatcher's output for one instance.
type Solution struct {
	Instance    string // instance name; empty means "not stated"
	Algo        string // name of the algorithm that produced it
	Assignments []Assignment
}

// Tolerance is the slack, in minutes, allowed when Check compares times.
const Tolerance = 1e-6

// Rule names of the violations Check reports. Violation.IDs lists the
// offending orders followed by the courier, except where a rule says otherwise.
const (
	// RuleInstance reports a solution that names another instance; IDs holds
	// the solution's instance name.
	RuleInstance = "instance"
	// RuleMalformed reports an empty bundle, a Dropoffs slice whose length
	// differs from Orders, or a time that is not a finite number.
	RuleMalformed = "malformed"
	// RuleUnknownCourier reports a courier id not in the instance; IDs holds it.
	RuleUnknownCourier = "unknown-courier"
	// RuleUnknownRestaurant reports a restaurant id not in the instance; IDs holds it.
	RuleUnknownRestaurant = "unknown-restaurant"
	// RuleUnknownOrder reports order ids not in the instance; IDs holds them.
	RuleUnknownOrder = "unknown-order"
	// RuleDuplicateOrder reports an order in more than one assignment (or
	// twice in one); IDs holds the order, then the couriers of those assignments.
	RuleDuplicateOrder = "duplicate-order"
	// RuleWrongRestaurant reports bundle orders of another restaurant than the
	// assignment's.
	RuleWrongRestaurant = "wrong-restaurant"
	// RuleLookahead reports an assignment sent before one of its orders was
	// placed: the dispatcher used information it could not have had.
	RuleLookahead = "lookahead"
	// RuleDepartBeforeAssignment reports a courier leaving before its
	// assignment is sent.
	RuleDepartBeforeAssignment = "depart-before-assignment"
	// RuleDepartBeforeOnTime reports a courier leaving before its shift starts.
	RuleDepartBeforeOnTime = "depart-before-on-time"
	// RuleCourierBusy reports a courier leaving before the end of its previous
	// route (last drop-off plus half the drop-off service).
	RuleCourierBusy = "courier-busy"
	// RulePickupTime reports a claimed pickup that differs from the recomputed one.
	RulePickupTime = "pickup-time"
	// RuleDropoffTime reports claimed drop-offs that differ from the
	// recomputed ones; IDs names only the orders concerned.
	RuleDropoffTime = "dropoff-time"
	// RulePickupBeforeReady reports a claimed pickup before an order is ready.
	RulePickupBeforeReady = "pickup-before-ready"
	// RulePickupAfterOffTime reports a pickup (claimed or recomputed) after
	// the courier's off_time.
	RulePickupAfterOffTime = "pickup-after-off-time"
	// RuleMaxClickToDoor reports delivered orders whose click-to-door (claimed
	// or recomputed) exceeds the instance's maximum.
	RuleMaxClickToDoor = "max-click-to-door"
)

// Violation is one broken rule.
type Violation struct {
	Rule       string   // one of the Rule constants
	IDs        []string // the offending ids, as the rule's documentation says
	Detail     string   // human-readable explanation with the times involved
	Assignment int      // index in Solution.Assignments, -1 when the violation concerns no single assignment
}

// String formats the violation on one line.
func (v Violation) String() string {
	return fmt.Sprintf("%s [%s]: %s", v.Rule, strings.Join(v.IDs, " "), v.Detail)
}

// Report is the outcome of Check.
type Report struct {
	Feasible   bool
	Violations []Violation
	Delivered  int // distinct orders of the assignments that could be checked
	Orders     int // orders of the instance
}

// Count returns the number of violations of the given rule.
func (r Report) Count(rule string) int {
	n := 0
	for _, v := range r.Violations {
		if v.Rule == rule {
			n++
		}
	}
	return n
}

// Check verifies a solution against every rule of the problem (see the
// package documentation). It recomputes all times itself: the assignments of
// each courier are taken in order of Depart (ties keep solution order), the
// first route starts at the courier's start point and each next one at the
// previous route's last drop-off. Claimed Pickup and Dropoffs must equal the
// recomputed ones within Tolerance. Assignments with unknown ids or malformed
// fields are reported and left out of the timing checks. Undelivered orders
// are not violations; Report.Delivered and Report.Orders count them.
func Check(in *Instance, s *Solution) Report {
	return analyze(in, s).report
}

// analysis is what Check learns about a solution; Evaluate reuses it.
type analysis struct {
	report  Report
	usable  []bool      // per assignment: known ids and well-formed fields
	rest    []int       // per assignment: restaurant index (usable ones)
	orders  [][]int     // per assignment: order indices (usable ones)
	courier []int       // per assignment: courier index (usable ones)
	travel  []float64   // per assignment: minutes of travel of its route
	routes  [][]int     // per courier: its usable assignments in Depart order
	counted [][]bool    // per assignment: whether each order counts as delivered (first occurrence)
	recPU   []float64   // per assignment: recomputed pickup
	recDO   [][]float64 // per assignment: recomputed drop-offs
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func analyze(in *Instance, s *Solution) *analysis {
	an := &analysis{}
	rep := &an.report
	add := func(rule string, a int, ids []string, format string, args ...any) {
		rep.Violations = append(rep.Violations, Violation{Rule: rule, IDs: ids, Detail: fmt.Sprintf(format, args...), Assignment: a})
	}
	if in == nil {
		add(RuleInstance, -1, nil, "no instance")
		return an
	}
	rep.Orders = len(in.Orders)
	if s == nil {
		s = &Solution{}
	}
	if s.Instance != "" && s.Instance != in.Name {
		add(RuleInstance, -1, []string{s.Instance}, "solution for instance %q checked against %q", s.Instance, in.Name)
	}
	n := len(s.Assignments)
	an.usable = make([]bool, n)
	an.rest = make([]int, n)
	an.orders = make([][]int, n)
	an.courier = make([]int, n)
	an.travel = make([]float64, n)
	an.counted = make([][]bool, n)
	an.recPU = make([]float64, n)
	an.recDO = make([][]float64, n)
	an.routes = make([][]int, len(in.Couriers))

	// An order in more than one assignment.
	holders := make(map[string][]int)
	var orderSeq []string
	for i, a := range s.Assignments {
		for _, id := range a.Orders {
			if len(holders[id]) == 0 {
				orderSeq = append(orderSeq, id)
			}
			holders[id] = append(holders[id], i)
		}
	}
	for _, id := range orderSeq {
		hs := holders[id]
		if len(hs) < 2 {
			continue
		}
		ids := []string{id}
		for _, h := range hs {
			if c := s.Assignments[h].Courier; !slices.Contains(ids[1:], c) {
				ids = append(ids, c)
			}
		}
		add(RuleDuplicateOrder, hs[1], ids, "order %s is in %d assignments (indices %v)", id, len(hs), hs)
	}

	// Per-assignment checks that need no timing.
	for i, a := range s.Assignments {
		bundleAndCourier := append(slices.Clone(a.Orders), a.Courier)
		ok := true
		ci, known := in.CourierIndex[a.Courier]
		if !known {
			add(RuleUnknownCourier, i, []string{a.Courier}, "courier %q is not in the instance", a.Courier)
			ok = false
		}
		ri, restKnown := in.RestaurantIndex[a.Restaurant]
		if !restKnown {
			add(RuleUnknownRestaurant, i, []string{a.Restaurant}, "restaurant %q is not in the instance", a.Restaurant)
			ok = false
		}
		if len(a.Orders) == 0 {
			add(RuleMalformed, i, []string{a.Courier}, "empty bundle")
			ok = false
		}
		if len(a.Dropoffs) != len(a.Orders) {
			add(RuleMalformed, i, bundleAndCourier, "%d drop-off times for %d orders", len(a.Dropoffs), len(a.Orders))
			ok = false
		}
		if !finite(a.Time) || !finite(a.Depart) || !finite(a.Pickup) || slices.ContainsFunc(a.Dropoffs, func(v float64) bool { return !finite(v) }) {
			add(RuleMalformed, i, bundleAndCourier, "a time is not a finite number (time %v, depart %v, pickup %v, drop-offs %v)", a.Time, a.Depart, a.Pickup, a.Dropoffs)
			ok = false
		}
		var unknown, wrongRest, early []string
		ois := make([]int, 0, len(a.Orders))
		for _, id := range a.Orders {
			oi, known := in.OrderIndex[id]
			if !known {
				unknown = append(unknown, id)
				continue
			}
			ois = append(ois, oi)
			o := in.Orders[oi]
			if restKnown && o.Restaurant != a.Restaurant {
				wrongRest = append(wrongRest, id)
			}
			if a.Time < o.Placement-Tolerance {
				early = append(early, id)
			}
		}
		if len(unknown) > 0 {
			add(RuleUnknownOrder, i, unknown, "orders not in the instance")
			ok = false
		}
		if len(wrongRest) > 0 {
			add(RuleWrongRestaurant, i, append(wrongRest, a.Courier), "orders not of restaurant %s", a.Restaurant)
		}
		if len(early) > 0 {
			var ds []string
			for _, id := range early {
				o, _ := in.Order(id)
				ds = append(ds, fmt.Sprintf("%s placed at %s", id, num(o.Placement)))
			}
			add(RuleLookahead, i, append(early, a.Courier), "assignment sent at %s but %s", num(a.Time), strings.Join(ds, ", "))
		}
		if finite(a.Time) && finite(a.Depart) && a.Depart < a.Time-Tolerance {
			add(RuleDepartBeforeAssignment, i, bundleAndCourier, "departs at %s, before the assignment is sent at %s", num(a.Depart), num(a.Time))
		}
		if ok {
			an.usable[i] = true
			an.courier[i] = ci
			an.rest[i] = ri
			an.orders[i] = ois
			an.routes[ci] = append(an.routes[ci], i)
		}
	}

	// Orders counted as delivered: first occurrence in a usable assignment.
	counted := make(map[int]bool)
	for i := range s.Assignments {
		if !an.usable[i] {
			continue
		}
		an.counted[i] = make([]bool, len(an.orders[i]))
		for k, oi := range an.orders[i] {
			if !counted[oi] {
				counted[oi] = true
				an.counted[i][k] = true
			}
		}
	}
	rep.Delivered = len(counted)

	// Timing, courier by courier.
	p := in.Params
	for ci, route := range an.routes {
		slices.SortStableFunc(route, func(x, y int) int {
			return cmpFloat(s.Assignments[x].Depart, s.Assignments[y].Depart)
		})
		c := in.Couriers[ci]
		x, y := c.X, c.Y
		prevEnd := math.Inf(-1)
		var prev []string
		for _, i := range route {
			a := s.Assignments[i]
			bc := append(slices.Clone(a.Orders), a.Courier)
			if a.Depart < c.On-Tolerance {
				add(RuleDepartBeforeOnTime, i, bc, "departs at %s, before on_time %s", num(a.Depart), num(c.On))
			}
			if a.Depart < prevEnd-Tolerance {
				add(RuleCourierBusy, i, bc, "departs at %s, before its previous route (%s) ends at %s", num(a.Depart), strings.Join(prev, " "), num(prevEnd))
			}
			rt := in.routeTiming(x, y, a.Depart, an.rest[i], an.orders[i])
			pickup, drops, ready := rt.Pickup, rt.Dropoffs, rt.Ready
			an.travel[i] = rt.Travel
			an.recPU[i] = pickup
			an.recDO[i] = drops

			if math.Abs(a.Pickup-pickup) > Tolerance {
				add(RulePickupTime, i, bc, "claimed pickup %s, recomputed %s (depart %s, arrival %s, ready %s)", num(a.Pickup), num(pickup), num(a.Depart), num(rt.Arrive), num(ready))
			}
			var badDrop, notReady, late []string
			var dropDetail, readyDetail, lateDetail []string
			for k, oi := range an.orders[i] {
				o := in.Orders[oi]
				if math.Abs(a.Dropoffs[k]-drops[k]) > Tolerance {
					badDrop = append(badDrop, o.ID)
					dropDetail = append(dropDetail, fmt.Sprintf("%s claimed %s recomputed %s", o.ID, num(a.Dropoffs[k]), num(drops[k])))
				}
				if a.Pickup < o.Ready-Tolerance {
					notReady = append(notReady, o.ID)
					readyDetail = append(readyDetail, fmt.Sprintf("%s ready at %s", o.ID, num(o.Ready)))
				}
				if ctd := math.Max(a.Dropoffs[k], drops[k]) - o.Placement; ctd > p.MaxCTD+Tolerance {
					late = append(late, o.ID)
					lateDetail = append(lateDetail, fmt.Sprintf("%s %s", o.ID, num(ctd)))
				}
			}
			if len(badDrop) > 0 {
				add(RuleDropoffTime, i, append(badDrop, a.Courier), "%s", strings.Join(dropDetail, "; "))
			}
			if len(notReady) > 0 {
				add(RulePickupBeforeReady, i, append(notReady, a.Courier), "claimed pickup %s but %s", num(a.Pickup), strings.Join(readyDetail, ", "))
			}
			if pu := math.Max(a.Pickup, pickup); pu > c.Off+Tolerance {
				add(RulePickupAfterOffTime, i, bc, "pickup at %s, after off_time %s", num(pu), num(c.Off))
			}
			if len(late) > 0 {
				add(RuleMaxClickToDoor, i, append(late, a.Courier), "click-to-door over the maximum %s: %s", num(p.MaxCTD), strings.Join(lateDetail, ", "))
			}
			prevEnd, x, y, prev = rt.End, rt.EndX, rt.EndY, a.Orders
		}
	}
	rep.Feasible = len(rep.Violations) == 0
	return an
}

// RouteTiming is the schedule of one route under the problem's rules.
type RouteTiming struct {
	Arrive     float64   // arrival at the restaurant
	Ready      float64   // latest ready time of the bundle
	Pickup     float64   // max(Ready, Arrive + half the pickup service)
	Dropoffs   []float64 // drop-off time of each order, in bundle order
	End        float64   // last drop-off + half the drop-off service: the courier is free again
	EndX, EndY float64   // where the route ends (the last drop-off)
	Travel     float64   // minutes spent travelling, each leg rounded up to a whole minute
}

// RouteTiming computes the times of a route that leaves (fromX, fromY) at
// depart for the restaurant and drops the orders off in the given order,
// exactly as Check recomputes them. It fails on unknown ids or an empty bundle.
func (in *Instance) RouteTiming(fromX, fromY, depart float64, restaurant string, orders []string) (RouteTiming, error) {
	ri, ok := in.RestaurantIndex[restaurant]
	if !ok {
		return RouteTiming{}, fmt.Errorf("mdrp: unknown restaurant %q", restaurant)
	}
	if len(orders) == 0 {
		return RouteTiming{}, fmt.Errorf("mdrp: empty bundle")
	}
	ois := make([]int, len(orders))
	for k, id := range orders {
		oi, ok := in.OrderIndex[id]
		if !ok {
			return RouteTiming{}, fmt.Errorf("mdrp: unknown order %q", id)
		}
		ois[k] = oi
	}
	return in.routeTiming(fromX, fromY, depart, ri, ois), nil
}

func (in *Instance) routeTiming(x, y, depart float64, ri int, ois []int) RouteTiming {
	p := in.Params
	r := in.Restaurants[ri]
	rt := RouteTiming{Ready: math.Inf(-1)}
	rt.Travel = in.TravelMinutes(x, y, r.X, r.Y)
	rt.Arrive = depart + rt.Travel
	for _, oi := range ois {
		rt.Ready = math.Max(rt.Ready, in.Orders[oi].Ready)
	}
	rt.Pickup = math.Max(rt.Ready, rt.Arrive+p.PickupService/2)
	t := rt.Pickup + p.PickupService/2
	rt.EndX, rt.EndY = r.X, r.Y
	rt.Dropoffs = make([]float64, len(ois))
	for k, oi := range ois {
		o := in.Orders[oi]
		leg := in.TravelMinutes(rt.EndX, rt.EndY, o.X, o.Y)
		rt.Travel += leg
		rt.Dropoffs[k] = t + leg + p.DropoffService/2
		t = rt.Dropoffs[k] + p.DropoffService/2
		rt.EndX, rt.EndY = o.X, o.Y
	}
	rt.End = t
	return rt
}
