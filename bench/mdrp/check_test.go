package mdrp

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

type wantViolation struct {
	rule string
	ids  []string
}

func violationKeys(vs []Violation) []string {
	var ks []string
	for _, v := range vs {
		ks = append(ks, v.Rule+" "+strings.Join(v.IDs, ","))
	}
	slices.Sort(ks)
	return ks
}

func wantKeys(ws []wantViolation) []string {
	var ks []string
	for _, w := range ws {
		ks = append(ks, w.rule+" "+strings.Join(w.ids, ","))
	}
	slices.Sort(ks)
	return ks
}

func TestCheckRules(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(in *Instance, s *Solution)
		retime bool // recompute claimed times after mutate
		want   []wantViolation
	}{
		{name: "feasible", mutate: func(*Instance, *Solution) {}},
		{name: "assignments in any order", mutate: func(_ *Instance, s *Solution) {
			slices.Reverse(s.Assignments)
		}},
		{name: "drop-offs after off_time are allowed", retime: true, mutate: func(_ *Instance, s *Solution) {
			// Depart 54: arrive 57, pickup 59 <= off 60, drop-offs 67 and 74.
			s.Assignments[0].Depart = 54
		}},
		{name: "solution of another instance", mutate: func(_ *Instance, s *Solution) {
			s.Instance = "other"
		}, want: []wantViolation{{RuleInstance, []string{"other"}}}},
		{name: "unknown courier", mutate: func(_ *Instance, s *Solution) {
			s.Assignments[0].Courier = "cX"
		}, want: []wantViolation{{RuleUnknownCourier, []string{"cX"}}}},
		{name: "unknown restaurant", mutate: func(_ *Instance, s *Solution) {
			s.Assignments[0].Restaurant = "rZ"
		}, want: []wantViolation{{RuleUnknownRestaurant, []string{"rZ"}}}},
		{name: "unknown order", mutate: func(_ *Instance, s *Solution) {
			a := &s.Assignments[2]
			a.Orders, a.Dropoffs = []string{"o5", "o9"}, []float64{57, 60}
		}, want: []wantViolation{{RuleUnknownOrder, []string{"o9"}}}},
		{name: "empty bundle", mutate: func(_ *Instance, s *Solution) {
			a := &s.Assignments[2]
			a.Orders, a.Dropoffs = nil, nil
		}, want: []wantViolation{{RuleMalformed, []string{"c2"}}}},
		{name: "drop-off count differs", mutate: func(_ *Instance, s *Solution) {
			s.Assignments[2].Dropoffs = nil
		}, want: []wantViolation{{RuleMalformed, []string{"o5", "c2"}}}},
		{name: "time not finite", mutate: func(_ *Instance, s *Solution) {
			s.Assignments[2].Pickup = math.NaN()
		}, want: []wantViolation{{RuleMalformed, []string{"o5", "c2"}}}},
		{name: "order in two assignments of two couriers", retime: true, mutate: func(_ *Instance, s *Solution) {
			s.Assignments = append(s.Assignments, Assignment{Time: 5, Courier: "c3", Restaurant: "rA", Orders: []string{"o2"}, Depart: 5})
		}, want: []wantViolation{{RuleDuplicateOrder, []string{"o2", "c1", "c3"}}}},
		{name: "order twice in one bundle", retime: true, mutate: func(_ *Instance, s *Solution) {
			a := &s.Assignments[0]
			a.Orders = []string{"o1", "o2", "o1"}
		}, want: []wantViolation{{RuleDuplicateOrder, []string{"o1", "c1"}}}},
		{name: "bundle mixes restaurants", retime: true, mutate: func(_ *Instance, s *Solution) {
			a := &s.Assignments[2]
			a.Orders = []string{"o5", "o6"}
		}, want: []wantViolation{{RuleWrongRestaurant, []string{"o6", "c2"}}}},
		{name: "assignment sent before an order is placed", mutate: func(_ *Instance, s *Solution) {
			s.Assignments[1].Time = 9 // o3 is placed at 10
		}, want: []wantViolation{{RuleLookahead, []string{"o3", "c2"}}}},
		{name: "departs before the assignment is sent", retime: true, mutate: func(_ *Instance, s *Solution) {
			s.Assignments[0].Depart = 4 // sent at 5
		}, want: []wantViolation{{RuleDepartBeforeAssignment, []string{"o1", "o2", "c1"}}}},
		{name: "departs before on_time", retime: true, mutate: func(_ *Instance, s *Solution) {
			s.Assignments[1].Depart = 14 // c2 is on at 15
		}, want: []wantViolation{{RuleDepartBeforeOnTime, []string{"o3", "c2"}}}},
		{name: "departs before the previous route ends", retime: true, mutate: func(_ *Instance, s *Solution) {
			a := &s.Assignments[2]
			a.Time, a.Depart = 35, 38 // the route to o3 ends at 39
		}, want: []wantViolation{{RuleCourierBusy, []string{"o5", "c2"}}}},
		{name: "claimed pickup differs", mutate: func(_ *Instance, s *Solution) {
			s.Assignments[1].Pickup = 31
		}, want: []wantViolation{{RulePickupTime, []string{"o3", "c2"}}}},
		{name: "claimed drop-off differs", mutate: func(_ *Instance, s *Solution) {
			s.Assignments[0].Dropoffs[1] = 26
		}, want: []wantViolation{{RuleDropoffTime, []string{"o2", "c1"}}}},
		{name: "claimed time within tolerance", mutate: func(_ *Instance, s *Solution) {
			s.Assignments[0].Dropoffs[1] += Tolerance / 2
			s.Assignments[1].Pickup -= Tolerance / 2
		}},
		{name: "claimed pickup before ready", mutate: func(_ *Instance, s *Solution) {
			s.Assignments[1].Pickup = 29 // o3 is ready at 30
		}, want: []wantViolation{{RulePickupBeforeReady, []string{"o3", "c2"}}, {RulePickupTime, []string{"o3", "c2"}}}},
		{name: "pickup after off_time", retime: true, mutate: func(_ *Instance, s *Solution) {
			s.Assignments[0].Depart = 56 // arrive 59, pickup 61, c1 is off at 60
		}, want: []wantViolation{{RulePickupAfterOffTime, []string{"o1", "o2", "c1"}}}},
		{name: "click-to-door over the maximum", retime: true, mutate: func(_ *Instance, s *Solution) {
			s.Assignments = append(s.Assignments, Assignment{Time: 100, Courier: "c3", Restaurant: "rA", Orders: []string{"o6"}, Depart: 100})
		}, want: []wantViolation{{RuleMaxClickToDoor, []string{"o6", "c3"}}}},
		{name: "route chains from the last drop-off", mutate: func(_ *Instance, s *Solution) {
			// Claims computed as if the second route of c2 started at its start point.
			s.Assignments[2].Pickup = 45
			s.Assignments[2].Dropoffs = []float64{56}
		}, want: []wantViolation{{RulePickupTime, []string{"o5", "c2"}}, {RuleDropoffTime, []string{"o5", "c2"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tiny(t)
			s := cloneSolution(tinySolution())
			tc.mutate(in, s)
			if tc.retime {
				retime(in, s)
			}
			r := Check(in, s)
			got, want := violationKeys(r.Violations), wantKeys(tc.want)
			if !slices.Equal(got, want) {
				t.Errorf("violations:\n got  %q\n want %q", got, want)
				for _, v := range r.Violations {
					t.Log(v)
				}
			}
			if r.Feasible != (len(tc.want) == 0) {
				t.Errorf("Feasible = %v with %d violations", r.Feasible, len(r.Violations))
			}
			for _, v := range r.Violations {
				if v.Detail == "" {
					t.Errorf("%s: empty detail", v.Rule)
				}
				if v.Assignment >= len(s.Assignments) {
					t.Errorf("%s: assignment index %d out of range", v.Rule, v.Assignment)
				}
			}
		})
	}
}

func TestCheckCounts(t *testing.T) {
	in := tiny(t)
	r := Check(in, tinySolution())
	if !r.Feasible || r.Delivered != 4 || r.Orders != 6 {
		t.Errorf("report = %+v, want feasible, 4 of 6 delivered", r)
	}
	r = Check(in, nil)
	if !r.Feasible || r.Delivered != 0 || r.Orders != 6 {
		t.Errorf("empty solution: report = %+v", r)
	}
	r = Check(nil, tinySolution())
	if r.Feasible || r.Count(RuleInstance) != 1 {
		t.Errorf("nil instance: report = %+v", r)
	}
}

func TestCheckSkipsBrokenAssignmentInChain(t *testing.T) {
	// The broken first route of c2 is left out of the timing checks, so the
	// second route is timed from the courier's start point.
	in := tiny(t)
	s := tinySolution()
	s.Assignments[1].Orders = []string{"o9"}
	r := Check(in, s)
	if got := violationKeys(r.Violations); !slices.Equal(got, []string{"dropoff-time o5,c2", "pickup-time o5,c2", "unknown-order o9"}) {
		t.Errorf("violations = %q", got)
	}
}

func TestRouteTiming(t *testing.T) {
	in := tiny(t)
	// The second route of c2 in tinySolution: from o3 at 39 to rB, then o5.
	rt, err := in.RouteTiming(1000, 500, 39, "rB", []string{"o5"})
	if err != nil {
		t.Fatal(err)
	}
	want := RouteTiming{Arrive: 44, Ready: 45, Pickup: 46, Dropoffs: []float64{57}, End: 58, EndX: 500, EndY: 500, Travel: 13}
	if !reflect.DeepEqual(rt, want) {
		t.Errorf("got %+v, want %+v", rt, want)
	}
	for _, bad := range []struct {
		rest   string
		orders []string
	}{{"rX", []string{"o5"}}, {"rB", nil}, {"rB", []string{"oX"}}} {
		if _, err := in.RouteTiming(0, 0, 0, bad.rest, bad.orders); err == nil {
			t.Errorf("RouteTiming(%s, %v): no error", bad.rest, bad.orders)
		}
	}
}
