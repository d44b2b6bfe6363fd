package dispatch

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// bruteAssign tries every way to give each row one of its columns or its
// wait, no column twice, and returns the least total cost.
func bruteAssign(rows [][]edge, wait []float64, m int) float64 {
	best := math.Inf(1)
	used := make([]bool, m)
	var rec func(i int, sum float64)
	rec = func(i int, sum float64) {
		if i == len(rows) {
			best = math.Min(best, sum)
			return
		}
		rec(i+1, sum+wait[i])
		for _, e := range rows[i] {
			if !used[e.col] {
				used[e.col] = true
				rec(i+1, sum+e.cost)
				used[e.col] = false
			}
		}
	}
	rec(0, 0)
	return best
}

// randomAssignment draws n rows over m columns, each row with up to k
// distinct columns.
func randomAssignment(rng *rand.Rand, n, m, k int) ([][]edge, []float64) {
	rows := make([][]edge, n)
	wait := make([]float64, n)
	for i := range rows {
		for _, j := range rng.Perm(m)[:rng.Intn(min(k, m)+1)] {
			rows[i] = append(rows[i], edge{j, float64(rng.Intn(60))})
		}
		wait[i] = float64(rng.Intn(80))
	}
	return rows, wait
}

// checkAssignment verifies that got is a valid answer and returns its cost.
func checkAssignment(t *testing.T, rows [][]edge, wait []float64, m int, got []int) float64 {
	t.Helper()
	if len(got) != len(rows) {
		t.Fatalf("%d answers for %d rows", len(got), len(rows))
	}
	seen := map[int]int{}
	sum := 0.0
	for i, j := range got {
		if j == -1 {
			sum += wait[i]
			continue
		}
		if prev, ok := seen[j]; ok {
			t.Fatalf("rows %d and %d both take column %d", prev, i, j)
		}
		seen[j] = i
		found := false
		for _, e := range rows[i] {
			if e.col == j {
				sum += e.cost
				found = true
			}
		}
		if !found {
			t.Fatalf("row %d takes column %d, which it has no edge to", i, j)
		}
	}
	return sum
}

func TestAssignMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for trial := range 2000 {
		n, m := 1+rng.Intn(6), 1+rng.Intn(6)
		rows, wait := randomAssignment(rng, n, m, 4)
		got := checkAssignment(t, rows, wait, m, assign(rows, wait, m))
		if want := bruteAssign(rows, wait, m); math.Abs(got-want) > 1e-9 {
			t.Fatalf("trial %d: cost %v, brute force %v\nrows %v\nwait %v", trial, got, want, rows, wait)
		}
	}
}

func TestAssignEdgeCases(t *testing.T) {
	if got := assign(nil, nil, 5); len(got) != 0 {
		t.Fatalf("no rows: %v", got)
	}
	// A row without edges waits; a wait cheaper than every edge is taken.
	got := assign([][]edge{nil, {{0, 10}}, {{0, 1}}}, []float64{3, 5, 100}, 1)
	if want := []int{-1, -1, 0}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func BenchmarkAssign1000x10(b *testing.B) {
	rng := rand.New(rand.NewSource(2))
	rows, wait := randomAssignment(rng, 1000, 2000, 10)
	for b.Loop() {
		assign(rows, wait, 2000)
	}
}
