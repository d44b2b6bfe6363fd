package mdrp

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestPyFloat(t *testing.T) {
	for v, want := range map[float64]string{
		5:                  "5.0",
		0:                  "0.0",
		-3:                 "-3.0",
		32.43333333333333:  "32.43333333333333",
		71.86666666666666:  "71.86666666666666",
		0.1:                "0.1",
		674.8333333333334:  "674.8333333333334",
		1234567:            "1234567.0",
		-0.5:               "-0.5",
		145.51666666666668: "145.51666666666668",
	} {
		if got := pyFloat(v); got != want {
			t.Errorf("pyFloat(%v) = %q, want %q", v, got, want)
		}
	}
}

// sortedByCourier returns the assignments ordered as the solution files hold them.
func sortedByCourier(as []Assignment) []Assignment {
	out := slices.Clone(as)
	slices.SortStableFunc(out, func(a, b Assignment) int {
		if c := strings.Compare(a.Courier, b.Courier); c != 0 {
			return c
		}
		return cmpFloat(a.Depart, b.Depart)
	})
	return out
}

func TestSolutionRoundTrip(t *testing.T) {
	in := tiny(t)
	s := tinySolution()
	// Fractional times and an assignment listed out of order survive too.
	s.Assignments[0].Time = 4.333333333333333
	slices.Reverse(s.Assignments)
	dir := t.TempDir()
	if err := WriteSolution(dir, in, s); err != nil {
		t.Fatal(err)
	}
	back, err := ReadSolution(dir, in)
	if err != nil {
		t.Fatal(err)
	}
	if back.Instance != in.Name || back.Algo != "" {
		t.Errorf("instance %q algo %q", back.Instance, back.Algo)
	}
	if got, want := back.Assignments, sortedByCourier(s.Assignments); !reflect.DeepEqual(got, want) {
		t.Errorf("assignments\n got  %+v\n want %+v", got, want)
	}
	files := map[string]string{
		AssignmentsFile: "assignment_time pickup_time courier_id order_list\n" +
			"4.333333333333333 12.0 c1 o1 o2\n" +
			"12.0 30.0 c2 o3\n" +
			"39.0 46.0 c2 o5\n",
		SolutionOrdersFile: " order placement_time ready_time pickup_time dropoff_time courier\n" +
			"0 o1 0.0 10.0 12.0 20.0 c1\n" +
			"1 o2 5.0 12.0 12.0 27.0 c1\n" +
			"2 o3 10.0 30.0 30.0 38.0 c2\n" +
			"3 o5 35.0 45.0 46.0 57.0 c2\n",
		SolutionCouriersFile: "courier_id dept_time origin destination\n" +
			"c1 5.0 0 rA\n" +
			"c1 14.0 rA o1\n" +
			"c1 21.0 o1 o2\n" +
			"c2 20.0 0 rB\n" +
			"c2 32.0 rB o3\n" +
			"c2 39.0 o3 rB\n" +
			"c2 48.0 rB o5\n",
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s:\n%s\nwant:\n%s", name, got, want)
		}
	}
}

func TestWriteSolutionErrors(t *testing.T) {
	in := tiny(t)
	for _, tc := range []struct {
		name   string
		mutate func(s *Solution)
		want   string
	}{
		{"unknown courier", func(s *Solution) { s.Assignments[0].Courier = "cX" }, "unknown courier"},
		{"unknown restaurant", func(s *Solution) { s.Assignments[0].Restaurant = "rX" }, `unknown restaurant "rX"`},
		{"unknown order", func(s *Solution) { s.Assignments[0].Orders[1] = "oX" }, `unknown order "oX"`},
		{"drop-off count", func(s *Solution) { s.Assignments[0].Dropoffs = nil }, "2 orders and 0 drop-off times"},
		{"not finite", func(s *Solution) { s.Assignments[1].Depart = nanValue() }, "not a finite number"},
		{"duplicate order", func(s *Solution) { s.Assignments[2].Orders[0] = "o3" }, "order o3 is in more than one assignment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := cloneSolution(tinySolution())
			tc.mutate(s)
			err := WriteSolution(t.TempDir(), in, s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if err := WriteSolution(t.TempDir(), nil, tinySolution()); err == nil {
		t.Error("nil instance: no error")
	}
}

func TestReadSolutionErrors(t *testing.T) {
	in := tiny(t)
	good := t.TempDir()
	if err := WriteSolution(good, in, tinySolution()); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(good, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tc := range []struct {
		name, file, old, new, want string
	}{
		{"bad header", AssignmentsFile, "courier_id", "courier", `solution_info_assignments.txt line 1: header "assignment_time pickup_time courier order_list", want "assignment_time pickup_time courier_id order_list"`},
		{"short assignment", AssignmentsFile, "12.0 30.0 c2 o3", "12.0 30.0 c2", "solution_info_assignments.txt line 3: 3 fields, want at least 4"},
		{"bad time", AssignmentsFile, "12.0 30.0 c2 o3", "x 30.0 c2 o3", `solution_info_assignments.txt line 3: assignment_time: "x" is not a number`},
		{"unknown courier", AssignmentsFile, "12.0 30.0 c2 o3", "12.0 30.0 c9 o3", `solution_info_assignments.txt line 3: courier_id: unknown courier "c9"`},
		{"unknown order", AssignmentsFile, "12.0 30.0 c2 o3", "12.0 30.0 c2 o9", `solution_info_assignments.txt line 3: order_list: unknown order "o9"`},
		{"placement differs", SolutionOrdersFile, "o3 10.0", "o3 11.0", "solution_info_orders.txt line 4: placement_time: 11 differs from the instance's 10"},
		{"courier differs", SolutionOrdersFile, "38.0 c2", "38.0 c1", "solution_info_orders.txt line 4: courier: c1, but solution_info_assignments.txt line 3 assigns order o3 to c2"},
		{"pickup differs", SolutionOrdersFile, "30.0 30.0 38.0", "30.0 31.0 38.0", "solution_info_orders.txt line 4: pickup_time: 31, but solution_info_assignments.txt line 3 has 30"},
		{"no drop-off", SolutionOrdersFile, "2 o3 10.0 30.0 30.0 38.0 c2\n", "", "solution_info_orders.txt: order o3 of the assignment on solution_info_assignments.txt line 3 has no drop-off"},
		{"duplicate order row", SolutionOrdersFile, "2 o3", "2 o2", `solution_info_orders.txt line 4: order: duplicate order "o2" (first on line 3)`},
		{"bad order row", SolutionOrdersFile, "2 o3 10.0 30.0 30.0 38.0 c2", "2 o3 10.0 30.0 30.0", "solution_info_orders.txt line 4: 5 fields, want 6 or 7 (with a row number)"},
		{"unknown place", SolutionCouriersFile, "c2 20.0 0 rB", "c2 20.0 0 rQ", `solution_info_couriers.txt line 5: destination: unknown place "rQ"`},
		{"no move to restaurant", SolutionCouriersFile, "c2 39.0 o3 rB", "c2 39.0 o3 o5", "solution_info_couriers.txt: no move of courier c2 to a restaurant for the assignment on solution_info_assignments.txt line 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range []string{AssignmentsFile, SolutionOrdersFile, SolutionCouriersFile} {
				text := read(name)
				if name == tc.file {
					if !strings.Contains(text, tc.old) {
						t.Fatalf("%s lacks %q", name, tc.old)
					}
					text = strings.Replace(text, tc.old, tc.new, 1)
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := ReadSolution(dir, in)
			if want := dir + ": " + tc.want; err == nil || err.Error() != want {
				t.Errorf("error\n got  %v\n want %s", err, want)
			}
		})
	}
}

func TestReadSolutionUndelivered(t *testing.T) {
	// Rows of undelivered orders, as pandas writes them (empty or nan
	// fields), are skipped.
	in := tiny(t)
	dir := t.TempDir()
	if err := WriteSolution(dir, in, tinySolution()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, SolutionOrdersFile)
	b, _ := os.ReadFile(path)
	b = append(b, "4 o4 100.0 110.0   \n5 o6 0.0 5.0 nan nan nan\n"...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := ReadSolution(dir, in)
	if err != nil {
		t.Fatal(err)
	}
	if r := Check(in, s); !r.Feasible || r.Delivered != 4 {
		t.Errorf("report %+v", r)
	}
}

// TestExampleSolution reads the benchmark's example solution, checks it and
// compares its metrics with the MDRP row of reference_dev.csv. The example
// uses travel times rounded up to whole seconds, not whole minutes, so Check
// finds its times inconsistent with the benchmark's rule; its metrics, taken
// from its claimed times, match the reference row to the reference's rounding.
func TestExampleSolution(t *testing.T) {
	d := benchDir(t)
	in, err := Load(filepath.Join(d, "0o100t100s1p100"))
	if err != nil {
		t.Fatal(err)
	}
	ex := filepath.Join(d, "example_solution")
	s, err := ReadSolution(ex, in)
	if err != nil {
		t.Fatal(err)
	}
	s.Algo = "MDRP"
	if len(s.Assignments) != 489 {
		t.Errorf("%d assignments, want 489", len(s.Assignments))
	}

	r := Check(in, s)
	counts := map[string]int{}
	for _, v := range r.Violations {
		counts[v.Rule]++
	}
	t.Logf("example solution: feasible %v, %d of %d delivered, violations by rule %v", r.Feasible, r.Delivered, r.Orders, counts)
	if r.Delivered != 505 || r.Orders != 505 {
		t.Errorf("delivered %d of %d", r.Delivered, r.Orders)
	}
	// The structure of the example is sound; only timing rules can fail.
	for rule := range counts {
		switch rule {
		case RulePickupTime, RuleDropoffTime, RuleCourierBusy, RuleDepartBeforeAssignment:
		default:
			t.Errorf("unexpected violations of %s", rule)
		}
	}

	m := Evaluate(in, s).Rounded()
	refs, err := LoadReference(filepath.Join(d, "reference_dev.csv"))
	if err != nil {
		t.Fatal(err)
	}
	ref, ok := FindReference(refs, in.Name, "MDRP")
	if !ok {
		t.Fatal("no MDRP row")
	}
	want := ref.Metrics()
	want.Feasible = m.Feasible // the reference evaluator accepted it; Check does not
	if !metricsNear(m, want) {
		t.Errorf("metrics of the example differ from the reference row\n got  %+v\n want %+v", m, want)
	}

	// Writing the example back reproduces its three files byte for byte.
	out := t.TempDir()
	if err := WriteSolution(out, in, s); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{AssignmentsFile, SolutionOrdersFile, SolutionCouriersFile} {
		a, _ := os.ReadFile(filepath.Join(ex, name))
		b, _ := os.ReadFile(filepath.Join(out, name))
		if string(a) != string(b) {
			t.Errorf("%s: rewritten file differs from the example", name)
		}
	}
}

// TestReadSolutionTruncatedLines cuts each line of each solution file after
// every field and makes sure ReadSolution reports an error or a solution,
// never a panic.
func TestReadSolutionTruncatedLines(t *testing.T) {
	in := tiny(t)
	good := t.TempDir()
	if err := WriteSolution(good, in, tinySolution()); err != nil {
		t.Fatal(err)
	}
	names := []string{AssignmentsFile, SolutionOrdersFile, SolutionCouriersFile}
	texts := map[string]string{}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(good, name))
		if err != nil {
			t.Fatal(err)
		}
		texts[name] = string(b)
	}
	dir := t.TempDir()
	for _, target := range names {
		lines := strings.Split(texts[target], "\n")
		for li, line := range lines {
			fields := strings.Fields(line)
			for k := 0; k < len(fields); k++ {
				mutated := slices.Clone(lines)
				mutated[li] = strings.Join(fields[:k], " ")
				for _, name := range names {
					text := texts[name]
					if name == target {
						text = strings.Join(mutated, "\n")
					}
					if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if s, err := ReadSolution(dir, in); err == nil {
					Check(in, s)
					Evaluate(in, s)
				}
			}
		}
	}
}
