package mdrp

import (
	"bytes"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestEvaluateTiny(t *testing.T) {
	in := tiny(t)
	m := Evaluate(in, tinySolution())
	// Click-to-door: o1 20-0, o2 27-5, o3 38-10, o5 57-35 = 20, 22, 28, 22.
	// Ready-to-pickup: 12-10, 12-12, 30-30, 46-45. Ready-to-door: 10, 15, 8, 12.
	// Pay: c1 max(20, 15), c2 max(20, 21.25), c3 max(0, 50).
	// Utilization: c1 (3+5+5 travel + 4 + 2×2)/60, c2 (1+5 + 5+8 + 2×4 + 2×2)/85, c3 0.
	want := Metrics{
		Instance: "tiny", Algo: "hand", Orders: 6, Delivered: 4, Feasible: true,
		CTDMean: 23, CTDP50: 22, CTDP90: 26.2, CTDMax: 28,
		R2PMean: 0.75, R2PP90: 1.7, R2DMean: 11.25,
		CourierHours: 5.75, OrdersPerCourierHour: 4 / 5.75,
		TotalPay: 91.25, CostPerOrder: 91.25 / 4, FracCouriersGuarantee: 2.0 / 3,
		OrdersPerBundleMean: 4.0 / 3, UtilizationMean: (21.0/60 + 31.0/85) / 3,
	}
	if !metricsNear(m, want) {
		t.Errorf("got  %+v\nwant %+v", m, want)
	}

	// One order late: shares over 40/60/90 and the overage.
	s := tinySolution()
	s.Assignments = append(s.Assignments, Assignment{Time: 60, Courier: "c3", Restaurant: "rA", Orders: []string{"o6"}, Depart: 60})
	retime(in, s)
	m = Evaluate(in, s)
	// c3: 5 min to rA, pickup 67, leaves 69, 3 min to o6, drop-off 73: click-to-door 73.
	if m.Delivered != 5 || !near(m.CTDMax, 73) || !near(m.PctCTDGt40, 20) || !near(m.PctCTDGt60, 20) || m.PctCTDGt90 != 0 || !near(m.CTDOverageMean, 33.0/5) {
		t.Errorf("late order: %+v", m)
	}
}

func metricsNear(a, b Metrics) bool {
	fa, fb := metricsFloats(&a), metricsFloats(&b)
	for i := range fa {
		if !near(*fa[i].v, *fb[i].v) {
			return false
		}
	}
	return a.Instance == b.Instance && a.Algo == b.Algo && a.Orders == b.Orders && a.Delivered == b.Delivered && a.Feasible == b.Feasible
}

func TestEvaluateEdgeCases(t *testing.T) {
	in := tiny(t)
	m := Evaluate(in, nil)
	if m.Delivered != 0 || m.Orders != 6 || !m.Feasible || m.CostPerOrder != 0 || m.TotalPay != 15+15*85.0/60+50 {
		t.Errorf("empty solution: %+v", m)
	}
	if m := Evaluate(nil, tinySolution()); m.Feasible || m.Delivered != 0 {
		t.Errorf("nil instance: %+v", m)
	}
	// An order held twice counts once, at its first assignment.
	s := tinySolution()
	s.Assignments = append(s.Assignments, Assignment{Time: 60, Courier: "c3", Restaurant: "rA", Orders: []string{"o1"}, Depart: 60})
	retime(in, s)
	if m := Evaluate(in, s); m.Feasible || m.Delivered != 4 || !near(m.CTDMax, 28) {
		t.Errorf("duplicate order: %+v", m)
	}
}

func TestPercentile(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		p    float64
		want float64
	}{
		{nil, 0.5, 0},
		{[]float64{7}, 0.9, 7},
		{[]float64{4, 1, 3, 2}, 0.5, 2.5},
		{[]float64{4, 1, 3, 2}, 0.9, 3.7},
		{[]float64{4, 1, 3, 2}, 0, 1},
		{[]float64{4, 1, 3, 2}, 1, 4},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 0.9, 10},
	} {
		if got := Percentile(tc.xs, tc.p); !near(got, tc.want) {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tc.xs, tc.p, got, tc.want)
		}
	}
}

func TestMetricsCSVRoundTrip(t *testing.T) {
	m := Evaluate(tiny(t), tinySolution())
	var b bytes.Buffer
	if err := WriteMetricsCSV(&b, []Metrics{m}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || lines[0] != strings.Join(MetricsColumns, ",") {
		t.Fatalf("csv:\n%s", b.String())
	}
	if want := "tiny,hand,FEASIBLE,4,6,91.25,0.67,23.0,22.0,26.2,28.0,0.0,0.0,0.0,0.0,0.75,1.7,11.25,5.75,0.696,22.813,1.33,0.24"; lines[1] != want {
		t.Errorf("row\n got  %s\n want %s", lines[1], want)
	}
	refs, err := ReadReference(&b, "metrics.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || !metricsNear(refs[0].Metrics(), m.Rounded()) {
		t.Errorf("read back %+v", refs)
	}
}

func TestReadReferenceErrors(t *testing.T) {
	head := strings.Join(MetricsColumns, ",") + "\n"
	row := "i,MDRP,FEASIBLE,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20\n"
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "ref.csv: empty file, no header line"},
		{"missing column", "instance,algo\n", `ref.csv line 1: missing column "feasible" in header`},
		{"bad number", head + strings.Replace(row, ",7,", ",x,", 1), `ref.csv line 2: ctd_p90: "x" is not a number`},
		{"bad feasible", head + strings.Replace(row, "FEASIBLE", "yes", 1), `ref.csv line 2: feasible: "yes" is neither FEASIBLE nor INFEASIBLE`},
		{"bad count", head + strings.Replace(row, ",1,", ",-1,", 1), `ref.csv line 2: delivered: "-1" is not a count`},
		{"short row", head + "i,MDRP\n", "ref.csv line 2: 2 fields, the header has 23"},
		{"bad quoting", head + "i,\"MDRP\n", "ref.csv line 2: extraneous or missing \" in quoted-field"},
		{"duplicate row", head + row + row, "ref.csv line 3: duplicate row for i MDRP (first on line 2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadReference(strings.NewReader(tc.in), "ref.csv")
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %s", err, tc.want)
			}
		})
	}
}

// TestLoadReference reads reference_dev.csv and checks it against the
// averages its README states.
func TestLoadReference(t *testing.T) {
	refs, err := LoadReference(filepath.Join(benchDir(t), "reference_dev.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 144 {
		t.Errorf("%d rows, want 144", len(refs))
	}
	stated := map[string][2]float64{"MDRP": {33.36, 10.84}, "FM": {32.34, 10.58}} // mean click-to-door, cost per order
	for algo, want := range stated {
		var ctd, cost float64
		n := 0
		for _, r := range refs {
			if r.Algo == algo {
				ctd += r.CTDMean
				cost += r.CostPerOrder
				n++
			}
		}
		if n != 72 || math.Abs(ctd/float64(n)-want[0]) > 0.006 || math.Abs(cost/float64(n)-want[1]) > 0.006 {
			t.Errorf("%s: %d rows, mean click-to-door %.3f, cost per order %.3f; README states %v", algo, n, ctd/float64(n), cost/float64(n), want)
		}
	}
	if _, ok := FindReference(refs, testInstanceName, "FM"); !ok {
		t.Errorf("no FM row for %s", testInstanceName)
	}
}
