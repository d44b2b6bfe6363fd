package mdrp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Solution file names of the public MDRP evaluator.
const (
	AssignmentsFile      = "solution_info_assignments.txt"
	SolutionOrdersFile   = "solution_info_orders.txt"
	SolutionCouriersFile = "solution_info_couriers.txt"
)

var (
	assignmentsHeader = []string{"assignment_time", "pickup_time", "courier_id", "order_list"}
	solOrdersHeader   = []string{"order", "placement_time", "ready_time", "pickup_time", "dropoff_time", "courier"}
	solCouriersHeader = []string{"courier_id", "dept_time", "origin", "destination"}
)

// pyFloat formats v as Python's str(float) does for ordinary values: the
// shortest decimal that reads back exactly, with ".0" for whole numbers.
func pyFloat(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eEnN") {
		s += ".0"
	}
	return s
}

// WriteSolution writes the solution into dir (created if needed) as the three
// space-separated files of the public evaluator, in the format of the
// benchmark's example solution:
//
//   - solution_info_assignments.txt: assignment_time pickup_time courier_id
//     order_id..., one line per assignment, by courier id then departure;
//   - solution_info_orders.txt: a row number, then order placement_time
//     ready_time pickup_time dropoff_time courier, one line per delivered
//     order in instance order (undelivered orders are left out);
//   - solution_info_couriers.txt: courier_id dept_time origin destination, one
//     line per move (start point or last drop-off to restaurant, restaurant to
//     first order, order to order), by courier id then route; origin 0 is the
//     courier's start point.
//
// Times are the solution's claimed ones; a move leaves the restaurant half a
// pickup service after the pickup and a customer half a drop-off service after
// the drop-off. The solution need not be feasible, but its ids must be known,
// its fields well formed and each order in at most one assignment.
func WriteSolution(dir string, in *Instance, s *Solution) error {
	if in == nil || s == nil {
		return errors.New("mdrp: WriteSolution: nil instance or solution")
	}
	held := make(map[string]bool)
	for i, a := range s.Assignments {
		fail := func(format string, args ...any) error {
			return fmt.Errorf("mdrp: WriteSolution: assignment %d (courier %s): %s", i, a.Courier, fmt.Sprintf(format, args...))
		}
		if _, ok := in.CourierIndex[a.Courier]; !ok {
			return fail("unknown courier")
		}
		if _, ok := in.RestaurantIndex[a.Restaurant]; !ok {
			return fail("unknown restaurant %q", a.Restaurant)
		}
		if len(a.Orders) == 0 || len(a.Dropoffs) != len(a.Orders) {
			return fail("%d orders and %d drop-off times", len(a.Orders), len(a.Dropoffs))
		}
		if !finite(a.Time) || !finite(a.Depart) || !finite(a.Pickup) || slices.ContainsFunc(a.Dropoffs, func(v float64) bool { return !finite(v) }) {
			return fail("a time is not a finite number")
		}
		for _, id := range a.Orders {
			if _, ok := in.OrderIndex[id]; !ok {
				return fail("unknown order %q", id)
			}
			if held[id] {
				return fail("order %s is in more than one assignment", id)
			}
			held[id] = true
		}
	}
	order := make([]int, len(s.Assignments))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int {
		ax, ay := &s.Assignments[x], &s.Assignments[y]
		if c := strings.Compare(ax.Courier, ay.Courier); c != 0 {
			return c
		}
		switch {
		case ax.Depart < ay.Depart:
			return -1
		case ax.Depart > ay.Depart:
			return 1
		}
		return 0
	})

	var ab, ob, cb bytes.Buffer
	ab.WriteString(strings.Join(assignmentsHeader, " ") + "\n")
	cb.WriteString(strings.Join(solCouriersHeader, " ") + "\n")
	type delivery struct {
		pickup, dropoff float64
		courier         string
	}
	delivered := make(map[string]delivery)
	p := in.Params
	prevCourier, origin := "", OriginStart
	for _, i := range order {
		a := s.Assignments[i]
		fmt.Fprintf(&ab, "%s %s %s %s\n", pyFloat(a.Time), pyFloat(a.Pickup), a.Courier, strings.Join(a.Orders, " "))
		if a.Courier != prevCourier {
			prevCourier, origin = a.Courier, OriginStart
		}
		fmt.Fprintf(&cb, "%s %s %s %s\n", a.Courier, pyFloat(a.Depart), origin, a.Restaurant)
		from, leave := a.Restaurant, a.Pickup+p.PickupService/2
		for k, id := range a.Orders {
			fmt.Fprintf(&cb, "%s %s %s %s\n", a.Courier, pyFloat(leave), from, id)
			delivered[id] = delivery{a.Pickup, a.Dropoffs[k], a.Courier}
			from, leave = id, a.Dropoffs[k]+p.DropoffService/2
		}
		origin = from
	}
	ob.WriteString(" " + strings.Join(solOrdersHeader, " ") + "\n")
	row := 0
	for _, o := range in.Orders {
		d, ok := delivered[o.ID]
		if !ok {
			continue
		}
		fmt.Fprintf(&ob, "%d %s %s %s %s %s %s\n", row, o.ID, pyFloat(o.Placement), pyFloat(o.Ready), pyFloat(d.pickup), pyFloat(d.dropoff), d.courier)
		row++
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		b    *bytes.Buffer
	}{{AssignmentsFile, &ab}, {SolutionOrdersFile, &ob}, {SolutionCouriersFile, &cb}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// solLine is one non-blank line of a space-separated solution file.
type solLine struct {
	n      int
	fields []string
}

// readSolFile reads a space-separated file, checks that its first non-blank
// line holds the header fields and returns the other non-blank lines.
func readSolFile(dir, name string, header []string) ([]solLine, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), maxLineLen)
	var out []solLine
	seenHeader := false
	n := 0
	for sc.Scan() {
		n++
		text := sc.Text()
		if n == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		if !seenHeader {
			if !slices.Equal(fields, header) {
				return nil, &ParseError{File: name, Line: n, Err: fmt.Sprintf("header %q, want %q", strings.Join(fields, " "), strings.Join(header, " "))}
			}
			seenHeader = true
			continue
		}
		out = append(out, solLine{n, fields})
	}
	if err := sc.Err(); err != nil {
		return nil, &ParseError{File: name, Line: n + 1, Err: err.Error()}
	}
	if !seenHeader {
		return nil, &ParseError{File: name, Err: "empty file, no header line"}
	}
	return out, nil
}

// isNaNText reports whether a field stands for a missing value, as pandas
// writes it.
func isNaNText(s string) bool {
	switch strings.ToLower(s) {
	case "nan", "", "none", "null":
		return true
	}
	return false
}

// ReadSolution reads the three solution files written by WriteSolution (or by
// the public evaluator's tools) from dir. Assignments keep the order of
// solution_info_assignments.txt. Drop-off times come from
// solution_info_orders.txt; each assignment's Depart and Restaurant come from
// the courier's move to a restaurant in solution_info_couriers.txt, matched to
// the courier's assignments in pickup order. Order rows with missing times
// (undelivered orders) are skipped. The solution's Instance is the instance's
// name and Algo is empty. Ids must be known and the files consistent with each
// other and with the instance (placement and ready times, courier and pickup
// time of each order); timing rules are left to Check.
func ReadSolution(dir string, in *Instance) (*Solution, error) {
	if in == nil {
		return nil, errors.New("mdrp: ReadSolution: nil instance")
	}
	sol, err := readSolution(dir, in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return sol, nil
}

func readSolution(dir string, in *Instance) (*Solution, error) {
	aLines, err := readSolFile(dir, AssignmentsFile, assignmentsHeader)
	if err != nil {
		return nil, err
	}
	oLines, err := readSolFile(dir, SolutionOrdersFile, solOrdersHeader)
	if err != nil {
		return nil, err
	}
	cLines, err := readSolFile(dir, SolutionCouriersFile, solCouriersHeader)
	if err != nil {
		return nil, err
	}
	numAt := func(file string, line int, col, s string) (float64, error) {
		v, msg := parseNumber(s)
		if msg != "" {
			return 0, &ParseError{File: file, Line: line, Column: col, Err: msg}
		}
		return v, nil
	}

	sol := &Solution{Instance: in.Name, Assignments: make([]Assignment, 0, len(aLines))}
	aLine := make([]int, 0, len(aLines))
	for _, l := range aLines {
		f := l.fields
		if len(f) < 4 {
			return nil, &ParseError{File: AssignmentsFile, Line: l.n, Err: fmt.Sprintf("%d fields, want at least 4", len(f))}
		}
		var a Assignment
		if a.Time, err = numAt(AssignmentsFile, l.n, "assignment_time", f[0]); err != nil {
			return nil, err
		}
		if a.Pickup, err = numAt(AssignmentsFile, l.n, "pickup_time", f[1]); err != nil {
			return nil, err
		}
		a.Courier = f[2]
		if _, ok := in.CourierIndex[a.Courier]; !ok {
			return nil, &ParseError{File: AssignmentsFile, Line: l.n, Column: "courier_id", Err: fmt.Sprintf("unknown courier %q", a.Courier)}
		}
		a.Orders = slices.Clone(f[3:])
		for _, id := range a.Orders {
			if _, ok := in.OrderIndex[id]; !ok {
				return nil, &ParseError{File: AssignmentsFile, Line: l.n, Column: "order_list", Err: fmt.Sprintf("unknown order %q", id)}
			}
		}
		sol.Assignments = append(sol.Assignments, a)
		aLine = append(aLine, l.n)
	}

	type orderRow struct {
		line            int
		pickup, dropoff float64
		courier         string
	}
	rows := make(map[string]orderRow)
	for _, l := range oLines {
		// Fields: an optional row number, then the header's columns; pandas
		// writes the missing times of an undelivered order as empty fields,
		// which leaves only order, placement_time and ready_time.
		f := l.fields
		undelivered := false
		switch len(f) {
		case 7:
			f = f[1:]
		case 6:
		case 4:
			f, undelivered = f[1:], true
		case 3:
			undelivered = true
		default:
			return nil, &ParseError{File: SolutionOrdersFile, Line: l.n, Err: fmt.Sprintf("%d fields, want 6 or 7 (with a row number)", len(f))}
		}
		id := f[0]
		o, ok := in.Order(id)
		if !ok {
			return nil, &ParseError{File: SolutionOrdersFile, Line: l.n, Column: "order", Err: fmt.Sprintf("unknown order %q", id)}
		}
		if prev, dup := rows[id]; dup {
			return nil, &ParseError{File: SolutionOrdersFile, Line: l.n, Column: "order", Err: fmt.Sprintf("duplicate order %q (first on line %d)", id, prev.line)}
		}
		for _, c := range []struct {
			col  string
			text string
			want float64
		}{{"placement_time", f[1], o.Placement}, {"ready_time", f[2], o.Ready}} {
			v, err := numAt(SolutionOrdersFile, l.n, c.col, c.text)
			if err != nil {
				return nil, err
			}
			if math.Abs(v-c.want) > Tolerance {
				return nil, &ParseError{File: SolutionOrdersFile, Line: l.n, Column: c.col, Err: fmt.Sprintf("%s differs from the instance's %s", num(v), num(c.want))}
			}
		}
		if undelivered || (isNaNText(f[3]) && isNaNText(f[4]) && isNaNText(f[5])) {
			continue
		}
		r := orderRow{line: l.n, courier: f[5]}
		if r.pickup, err = numAt(SolutionOrdersFile, l.n, "pickup_time", f[3]); err != nil {
			return nil, err
		}
		if r.dropoff, err = numAt(SolutionOrdersFile, l.n, "dropoff_time", f[4]); err != nil {
			return nil, err
		}
		if _, ok := in.CourierIndex[r.courier]; !ok {
			return nil, &ParseError{File: SolutionOrdersFile, Line: l.n, Column: "courier", Err: fmt.Sprintf("unknown courier %q", r.courier)}
		}
		rows[id] = r
	}
	for i := range sol.Assignments {
		a := &sol.Assignments[i]
		a.Dropoffs = make([]float64, len(a.Orders))
		for k, id := range a.Orders {
			r, ok := rows[id]
			if !ok {
				return nil, &ParseError{File: SolutionOrdersFile, Err: fmt.Sprintf("order %s of the assignment on %s line %d has no drop-off", id, AssignmentsFile, aLine[i])}
			}
			if r.courier != a.Courier {
				return nil, &ParseError{File: SolutionOrdersFile, Line: r.line, Column: "courier", Err: fmt.Sprintf("%s, but %s line %d assigns order %s to %s", r.courier, AssignmentsFile, aLine[i], id, a.Courier)}
			}
			if math.Abs(r.pickup-a.Pickup) > Tolerance {
				return nil, &ParseError{File: SolutionOrdersFile, Line: r.line, Column: "pickup_time", Err: fmt.Sprintf("%s, but %s line %d has %s", num(r.pickup), AssignmentsFile, aLine[i], num(a.Pickup))}
			}
			a.Dropoffs[k] = r.dropoff
		}
	}

	type move struct {
		line       int
		dept       float64
		dest       string
		restaurant bool
	}
	moves := make(map[string][]move)
	for _, l := range cLines {
		f := l.fields
		if len(f) != len(solCouriersHeader) {
			return nil, &ParseError{File: SolutionCouriersFile, Line: l.n, Err: fmt.Sprintf("%d fields, want %d", len(f), len(solCouriersHeader))}
		}
		if _, ok := in.CourierIndex[f[0]]; !ok {
			return nil, &ParseError{File: SolutionCouriersFile, Line: l.n, Column: "courier_id", Err: fmt.Sprintf("unknown courier %q", f[0])}
		}
		dept, err := numAt(SolutionCouriersFile, l.n, "dept_time", f[1])
		if err != nil {
			return nil, err
		}
		_, oRest := in.RestaurantIndex[f[2]]
		_, oOrder := in.OrderIndex[f[2]]
		if f[2] != OriginStart && !oRest && !oOrder {
			return nil, &ParseError{File: SolutionCouriersFile, Line: l.n, Column: "origin", Err: fmt.Sprintf("unknown place %q", f[2])}
		}
		_, dRest := in.RestaurantIndex[f[3]]
		_, dOrder := in.OrderIndex[f[3]]
		if !dRest && !dOrder {
			return nil, &ParseError{File: SolutionCouriersFile, Line: l.n, Column: "destination", Err: fmt.Sprintf("unknown place %q", f[3])}
		}
		moves[f[0]] = append(moves[f[0]], move{l.n, dept, f[3], dRest})
	}
	byCourier := make(map[string][]int)
	for i, a := range sol.Assignments {
		byCourier[a.Courier] = append(byCourier[a.Courier], i)
	}
	for _, c := range in.Couriers {
		idx := byCourier[c.ID]
		if len(idx) == 0 {
			continue
		}
		slices.SortStableFunc(idx, func(x, y int) int {
			return cmpFloat(sol.Assignments[x].Pickup, sol.Assignments[y].Pickup)
		})
		ms := moves[c.ID]
		slices.SortStableFunc(ms, func(x, y move) int { return cmpFloat(x.dept, y.dept) })
		p := 0
		for _, i := range idx {
			for p < len(ms) && !ms[p].restaurant {
				p++
			}
			if p == len(ms) {
				return nil, &ParseError{File: SolutionCouriersFile, Err: fmt.Sprintf("no move of courier %s to a restaurant for the assignment on %s line %d", c.ID, AssignmentsFile, aLine[i])}
			}
			a := &sol.Assignments[i]
			a.Depart, a.Restaurant = ms[p].dept, ms[p].dest
			p++
		}
	}
	return sol, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
