package geobench

import (
	"context"
	"errors"
	"slices"
	"testing"

	"zhengxiang/geo"
)

// bruteIndex is an Index that scans every rider, exact by construction.
type bruteIndex struct {
	pos     map[string]geo.Point
	loads   int
	updates int
}

func (b *bruteIndex) Load(_ context.Context, ids []string, pos []geo.Point) error {
	b.loads++
	b.pos = map[string]geo.Point{}
	for i, id := range ids {
		b.pos[id] = pos[i]
	}
	return nil
}

func (b *bruteIndex) Update(_ context.Context, id string, p geo.Point) error {
	b.updates++
	b.pos[id] = p
	return nil
}

func (b *bruteIndex) Nearest(_ context.Context, p geo.Point, k int, radiusM float64, dst []string) ([]string, error) {
	type nb struct {
		id string
		d  float64
	}
	var all []nb
	for id, q := range b.pos {
		if d := geo.DistanceM(p, q); d <= radiusM {
			all = append(all, nb{id, d})
		}
	}
	slices.SortFunc(all, func(a, b nb) int {
		if a.d != b.d {
			if a.d < b.d {
				return -1
			}
			return 1
		}
		if a.id < b.id {
			return -1
		}
		return 1
	})
	dst = dst[:0]
	for _, n := range all[:min(k, len(all))] {
		dst = append(dst, n.id)
	}
	return dst, nil
}

func TestRunBaselineExact(t *testing.T) {
	ix := &bruteIndex{}
	calls, last := 0, 0
	res, err := RunBaseline(context.Background(), Config{Riders: 3000, Updates: 20000, Queries: 400, Seed: 2},
		BaselineConfig{Name: "brute", Updates: 1000}, ix, func(done, total int) {
			calls++
			if done < last || done > total {
				t.Errorf("progress %d/%d after %d", done, total, last)
			}
			last = done
		})
	if err != nil {
		t.Fatal(err)
	}
	if res.Name != "brute" || res.Riders != 3000 || res.Updates != 1000 || res.Queries != 400 || res.RadiusM != BaselineRadiusM {
		t.Errorf("result %+v", res)
	}
	if ix.updates != 1000 || ix.loads != 2 {
		t.Errorf("%d updates and %d loads, want 1000 and 2", ix.updates, ix.loads)
	}
	// The second load leaves out the riders gone quiet: one in twenty,
	// and those the pings happened to miss lately.
	if len(ix.pos) >= 3000 || len(ix.pos) < 2800 {
		t.Errorf("%d riders loaded for the queries", len(ix.pos))
	}
	if res.Recall != 1 {
		t.Errorf("recall %v of an exact index, want 1", res.Recall)
	}
	if res.UpdatesPerS <= 0 || res.Nearest10QPS <= 0 || res.QueryP99Us < res.QueryP50Us {
		t.Errorf("result %+v", res)
	}
	if calls == 0 || last != 2*3000+20000+400 {
		t.Errorf("progress called %d times, last at %d", calls, last)
	}
}

// failing is an Index whose updates fail.
type failing struct{ bruteIndex }

func (f *failing) Update(context.Context, string, geo.Point) error { return errors.New("down") }

func TestRunBaselineFails(t *testing.T) {
	_, err := RunBaseline(context.Background(), Config{Riders: 100, Updates: 100, Queries: 10},
		BaselineConfig{Name: "down"}, &failing{}, nil)
	if err == nil {
		t.Fatal("RunBaseline with failing updates: no error")
	}
	if _, err := RunBaseline(context.Background(), Config{Riders: 100}, BaselineConfig{Updates: -1}, &bruteIndex{}, nil); err == nil {
		t.Error("negative updates: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := RunBaseline(ctx, Config{Riders: 100, Updates: 10, Queries: 10}, BaselineConfig{}, &bruteIndex{}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
