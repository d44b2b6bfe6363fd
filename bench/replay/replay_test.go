package replay_test

import (
	"context"
	"path/filepath"
	"testing"

	"zhengxiang/bench/mdrp"
	"zhengxiang/bench/replay"
	"zhengxiang/dispatch"
)

// TestReplayFeasible replays the bundled instance with both algorithms and
// has the problem's checker judge the result.
func TestReplayFeasible(t *testing.T) {
	dirs, _ := filepath.Glob("../mdrp/testdata/*t*s*p*")
	if len(dirs) == 0 {
		t.Fatal("no MDRP instance in ../mdrp/testdata")
	}
	for _, dir := range dirs {
		in, err := mdrp.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, algo := range []dispatch.Algo{dispatch.AlgoEngine, dispatch.AlgoGreedy} {
			t.Run(in.Name+"/"+string(algo), func(t *testing.T) {
				sol, err := replay.Run(context.Background(), in, replay.Config(algo, in.Params))
				if err != nil {
					t.Fatal(err)
				}
				rep := mdrp.Check(in, sol)
				for _, v := range rep.Violations {
					t.Errorf("%s: %v %s", v.Rule, v.IDs, v.Detail)
				}
				m := mdrp.Evaluate(in, sol)
				if m.Delivered < m.Orders*95/100 {
					t.Errorf("delivered %d of %d", m.Delivered, m.Orders)
				}
				t.Logf("%s %s: delivered %d/%d ctd mean %.2f p90 %.2f >40 %.2f%% r2p %.2f",
					in.Name, algo, m.Delivered, m.Orders, m.CTDMean, m.CTDP90, m.PctCTDGt40, m.R2PMean)
			})
		}
	}
}
