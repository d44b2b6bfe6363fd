package mdrp

import (
	"math"
	"testing"
)

func TestRetime(t *testing.T) {
	in, err := Load("testdata/0r50t100s1p100")
	if err != nil {
		t.Fatal(err)
	}
	// One courier takes two orders one after the other.
	c := in.Couriers[0]
	o1, o2 := in.Orders[0], in.Orders[1]
	t1 := math.Max(c.On, math.Max(o1.Placement, o2.Placement))
	r1, _ := in.RouteTiming(c.X, c.Y, t1, o1.Restaurant, []string{o1.ID})
	r2, _ := in.RouteTiming(r1.EndX, r1.EndY, r1.End, o2.Restaurant, []string{o2.ID})
	sol := &Solution{Assignments: []Assignment{
		{Time: t1, Courier: c.ID, Restaurant: o1.Restaurant, Orders: []string{o1.ID}, Depart: t1, Pickup: r1.Pickup, Dropoffs: r1.Dropoffs},
		{Time: t1, Courier: c.ID, Restaurant: o2.Restaurant, Orders: []string{o2.ID}, Depart: r1.End, Pickup: r2.Pickup, Dropoffs: r2.Dropoffs},
	}}

	same := Retime(in, sol)
	for i, a := range same.Assignments {
		if a.Pickup != sol.Assignments[i].Pickup || a.Dropoffs[0] != sol.Assignments[i].Dropoffs[0] || a.Depart != sol.Assignments[i].Depart {
			t.Fatalf("retimed on the same rules, route %d changed: %+v vs %+v", i, a, sol.Assignments[i])
		}
	}

	sec := in.WithLegUnit(1.0 / 60)
	fast := Retime(sec, sol)
	if len(fast.Assignments) != 2 {
		t.Fatalf("%d routes", len(fast.Assignments))
	}
	for i, a := range fast.Assignments {
		if a.Dropoffs[0] > sol.Assignments[i].Dropoffs[0]+1e-9 {
			t.Errorf("route %d: timed to the second, drop-off %.4f is later than %.4f in whole minutes", i, a.Dropoffs[0], sol.Assignments[i].Dropoffs[0])
		}
	}
	if d := sec.TravelMinutes(0, 0, 3200, 0); d != 10 {
		t.Errorf("3200 m at 320 m/min timed to the second: %v, want 10", d)
	}
	if d := sec.TravelMinutes(0, 0, 3201, 0); math.Abs(d-(10+1.0/60)) > 1e-9 {
		t.Errorf("3201 m at 320 m/min timed to the second: %v, want 10 min 1 s", d)
	}
	if rep := Check(sec, fast); !rep.Feasible {
		t.Errorf("retimed solution breaks the rules timed to the second: %v", rep.Violations)
	}
}
