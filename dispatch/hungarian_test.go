package dispatch

import (
	"math"
	"math/rand"
	"testing"
)

// bruteAssignment tries every injective map of rows to columns.
func bruteAssignment(cost [][]float64, m int) float64 {
	best := math.Inf(1)
	used := make([]bool, m)
	var rec func(i int, sum float64)
	rec = func(i int, sum float64) {
		if i == len(cost) {
			best = math.Min(best, sum)
			return
		}
		for j := 0; j < m; j++ {
			if !used[j] {
				used[j] = true
				rec(i+1, sum+cost[i][j])
				used[j] = false
			}
		}
	}
	rec(0, 0)
	return best
}

func TestMinCostAssignmentMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for trial := 0; trial < 300; trial++ {
		n := 1 + rng.Intn(5)
		m := n + rng.Intn(3)
		cost := make([][]float64, n)
		for i := range cost {
			cost[i] = make([]float64, m)
			for j := range cost[i] {
				cost[i][j] = float64(rng.Intn(50))
				if rng.Intn(6) == 0 {
					cost[i][j] = forbidden
				}
			}
		}
		got := minCostAssignment(cost, m)
		seen := map[int]bool{}
		sum := 0.0
		for i, j := range got {
			if j < 0 || j >= m || seen[j] {
				t.Fatalf("trial %d: row %d gets column %d (taken or out of range)", trial, i, j)
			}
			seen[j] = true
			sum += cost[i][j]
		}
		if want := bruteAssignment(cost, m); math.Abs(sum-want) > 1e-6 {
			t.Fatalf("trial %d: cost %v, brute force %v", trial, sum, want)
		}
	}
}
