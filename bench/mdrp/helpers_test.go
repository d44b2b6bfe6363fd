package mdrp

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

// testInstanceName is the real instance copied into testdata.
const testInstanceName = "0r50t100s1p100"

func testInstanceDir() string { return filepath.Join("testdata", testInstanceName) }

// benchDir returns the shared benchmark folder or skips the test.
func benchDir(t testing.TB) string {
	t.Helper()
	d, err := DataDir()
	if errors.Is(err, ErrNoData) {
		t.Skipf("benchmark folder not found (set %s): %v", DataDirEnv, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// tiny returns a small hand-made instance:
//
//	restaurants rA (0,0), rB (1000,0); 100 m/min; pickup 4 min, drop-off 2 min
//	c1 starts (0,-250) on 0 off 60; c2 (1000,-100) 15-100; c3 (500,0) 0-200
//	o1 (0,500) rA placed 0 ready 10      o2 (0,1000) rA placed 5 ready 12
//	o3 (1000,500) rB placed 10 ready 30  o5 (500,500) rB placed 35 ready 45
//	o4 (0,300) rA placed 100 ready 110   o6 (200,200) rA placed 0 ready 5
func tiny(t testing.TB) *Instance {
	t.Helper()
	in, err := NewInstance("tiny",
		Params{MetersPerMinute: 100, PickupService: 4, DropoffService: 2, TargetCTD: 40, MaxCTD: 90, PayPerOrder: 10, PayPerHour: 15},
		[]Order{
			{ID: "o1", X: 0, Y: 500, Placement: 0, Ready: 10, Restaurant: "rA"},
			{ID: "o2", X: 0, Y: 1000, Placement: 5, Ready: 12, Restaurant: "rA"},
			{ID: "o3", X: 1000, Y: 500, Placement: 10, Ready: 30, Restaurant: "rB"},
			{ID: "o4", X: 0, Y: 300, Placement: 100, Ready: 110, Restaurant: "rA"},
			{ID: "o5", X: 500, Y: 500, Placement: 35, Ready: 45, Restaurant: "rB"},
			{ID: "o6", X: 200, Y: 200, Placement: 0, Ready: 5, Restaurant: "rA"},
		},
		[]Restaurant{{ID: "rA", X: 0, Y: 0}, {ID: "rB", X: 1000, Y: 0}},
		[]Courier{
			{ID: "c1", X: 0, Y: -250, On: 0, Off: 60},
			{ID: "c2", X: 1000, Y: -100, On: 15, Off: 100},
			{ID: "c3", X: 500, Y: 0, On: 0, Off: 200},
		})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// tinySolution is a feasible solution of tiny, timed by hand:
//
//	c1: depart 5, 3 min to rA, pickup max(12, 8+2)=12, o1 at 14+5+1=20, o2 at 21+5+1=27
//	c2: sent at 12 (before its on_time 15, which is allowed), depart 20, 1 min to rB,
//	    pickup max(30, 23)=30, o3 at 32+5+1=38, route ends 39
//	c2: depart 39 from o3, 5 min to rB, pickup max(45, 46)=46, o5 at 48+8+1=57
//
// o4 and o6 stay undelivered.
func tinySolution() *Solution {
	return &Solution{Instance: "tiny", Algo: "hand", Assignments: []Assignment{
		{Time: 5, Courier: "c1", Restaurant: "rA", Orders: []string{"o1", "o2"}, Depart: 5, Pickup: 12, Dropoffs: []float64{20, 27}},
		{Time: 12, Courier: "c2", Restaurant: "rB", Orders: []string{"o3"}, Depart: 20, Pickup: 30, Dropoffs: []float64{38}},
		{Time: 39, Courier: "c2", Restaurant: "rB", Orders: []string{"o5"}, Depart: 39, Pickup: 46, Dropoffs: []float64{57}},
	}}
}

// retime replaces the claimed times of every checkable assignment by the
// recomputed ones, so a test can change a solution's structure and see only
// the rule it aims at.
func retime(in *Instance, s *Solution) {
	for i := range s.Assignments {
		a := &s.Assignments[i]
		a.Dropoffs = make([]float64, len(a.Orders))
	}
	an := analyze(in, s)
	for i := range s.Assignments {
		if an.usable[i] {
			s.Assignments[i].Pickup = an.recPU[i]
			s.Assignments[i].Dropoffs = slices.Clone(an.recDO[i])
		}
	}
}

func cloneSolution(s *Solution) *Solution {
	c := *s
	c.Assignments = make([]Assignment, len(s.Assignments))
	for i, a := range s.Assignments {
		a.Orders = slices.Clone(a.Orders)
		a.Dropoffs = slices.Clone(a.Dropoffs)
		c.Assignments[i] = a
	}
	return &c
}
