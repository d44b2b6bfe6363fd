package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"zhengxiang/bench/mdrp"
	"zhengxiang/bench/replay"
	"zhengxiang/dispatch"
)

// ReferenceFile is the table of published results that replay mdrp looks
// for next to the instances.
const ReferenceFile = "reference_dev.csv"

// maxViolationsShown caps the violations printed per instance.
const maxViolationsShown = 20

type replayCmd struct {
	algoFlag  string
	algo      dispatch.Algo
	out       string
	json      bool
	reference string
	legs      string
	dirs      []string
}

func newReplayCmd(fs *flag.FlagSet) *replayCmd {
	c := &replayCmd{}
	fs.StringVar(&c.algoFlag, "algo", string(dispatch.AlgoEngine), "dispatch algorithm: engine or greedy")
	fs.StringVar(&c.out, "out", "", "write each solution in the evaluator's format to `DIR`/<instance>/")
	fs.BoolVar(&c.json, "json", false, "print one JSON object per instance instead of the table")
	fs.StringVar(&c.legs, "legs", "minutes", "time the measured legs in whole `minutes`, as the rules state, or in seconds, as the published reference solutions do (feasibility is always judged in minutes)")
	fs.StringVar(&c.reference, "reference", "", "published results to compare with (default: "+ReferenceFile+" next to the instances, when present)")
	return c
}

func (c *replayCmd) setup(args []string) error {
	algo, err := parseAlgo("replay mdrp", c.algoFlag)
	if err != nil {
		return err
	}
	c.algo = algo
	if c.legs != "minutes" && c.legs != "seconds" {
		return usagef("replay mdrp: --legs: %q is not minutes or seconds", c.legs)
	}
	if len(args) == 0 {
		return usagef("replay mdrp: no instance folder given")
	}
	c.dirs = args
	return nil
}

// replayResult is one instance's replay, as printed with --json.
type replayResult struct {
	Instance     string  `json:"instance"`
	Algo         string  `json:"algo"`
	Orders       int     `json:"orders"`
	Delivered    int     `json:"delivered"`
	Feasible     bool    `json:"feasible"`
	Violations   int     `json:"violations"`
	CTDMean      float64 `json:"ctd_mean"`
	CTDP90       float64 `json:"ctd_p90"`
	PctCTDGt40   float64 `json:"pct_ctd_gt_40"`
	PctCTDGt60   float64 `json:"pct_ctd_gt_60"`
	R2PMean      float64 `json:"r2p_mean"`
	CostPerOrder float64 `json:"cost_per_order"`
	WallSeconds  float64 `json:"wall_seconds"`

	report mdrp.Report
}

func resultOf(m mdrp.Metrics, rep mdrp.Report, wall time.Duration) replayResult {
	r := m.Rounded()
	return replayResult{
		Instance: r.Instance, Algo: r.Algo, Orders: r.Orders, Delivered: r.Delivered,
		Feasible: rep.Feasible, Violations: len(rep.Violations),
		CTDMean: r.CTDMean, CTDP90: r.CTDP90, PctCTDGt40: r.PctCTDGt40, PctCTDGt60: r.PctCTDGt60,
		R2PMean: r.R2PMean, CostPerOrder: r.CostPerOrder,
		WallSeconds: float64(wall.Milliseconds()) / 1000,
		report:      rep,
	}
}

// instances expands the folders given: an instance folder stands for
// itself, a folder of instance folders for each of them; other folders
// (such as example_solution/ next to the instances) are skipped with a
// note.
func (c *replayCmd) instances(stderr io.Writer) ([]string, error) {
	var out []string
	for _, d := range c.dirs {
		st, err := os.Stat(d)
		if err != nil {
			return nil, fmt.Errorf("replay mdrp: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("replay mdrp: %s is not a folder", d)
		}
		if _, err := os.Stat(filepath.Join(d, mdrp.OrdersFile)); err == nil {
			out = append(out, filepath.Clean(d))
			continue
		}
		names, err := mdrp.InstanceNames(d)
		if err != nil {
			return nil, fmt.Errorf("replay mdrp: %w", err)
		}
		if len(names) == 0 {
			fmt.Fprintf(stderr, "replay mdrp: skipping %s: not an instance (no %s)\n", d, mdrp.OrdersFile)
		}
		for _, n := range names {
			out = append(out, filepath.Join(d, n))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("replay mdrp: no instance among %v", c.dirs)
	}
	return out, nil
}

// referencePath returns the reference table to compare with, or "" when
// none was asked for and none lies next to the instances.
func (c *replayCmd) referencePath(dirs []string) (string, error) {
	if c.reference != "" {
		if _, err := os.Stat(c.reference); err != nil {
			return "", fmt.Errorf("replay mdrp: --reference: %w", err)
		}
		return c.reference, nil
	}
	p := filepath.Join(filepath.Dir(dirs[0]), ReferenceFile)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return p, nil
}

func (c *replayCmd) run(ctx context.Context, m *Main) error {
	dirs, err := c.instances(m.Stderr)
	if err != nil {
		return err
	}
	refPath, err := c.referencePath(dirs)
	if err != nil {
		return err
	}
	var refs []mdrp.Reference
	if refPath != "" && !c.json {
		if refs, err = mdrp.LoadReference(refPath); err != nil {
			return fmt.Errorf("replay mdrp: %w", err)
		}
	}

	results := make([]replayResult, len(dirs))
	b := newBar(m.Stderr, "replay mdrp "+string(c.algo), " instances")
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.NumCPU())
	for i, dir := range dirs {
		g.Go(func() error {
			r, err := c.replay(gctx, dir)
			if err != nil {
				return err
			}
			results[i] = r
			b.add(len(dirs))
			return nil
		})
	}
	err = g.Wait()
	b.finish()
	if err != nil {
		return err
	}

	infeasible := 0
	for _, r := range results {
		if r.Feasible {
			continue
		}
		infeasible++
		fmt.Fprintf(m.Stderr, "%s (%s): infeasible, %d violations\n", r.Instance, r.Algo, len(r.report.Violations))
		for k, v := range r.report.Violations {
			if k == maxViolationsShown {
				fmt.Fprintf(m.Stderr, "  ... and %d more\n", len(r.report.Violations)-k)
				break
			}
			fmt.Fprintf(m.Stderr, "  %s\n", v)
		}
	}
	if c.json {
		enc := json.NewEncoder(m.Stdout)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	} else if err := writeReplayTable(m.Stdout, results, refs, refPath); err != nil {
		return err
	}
	if infeasible > 0 {
		return fmt.Errorf("replay mdrp: %d of %d instances infeasible", infeasible, len(results))
	}
	return nil
}

// replay runs one instance and judges it.
func (c *replayCmd) replay(ctx context.Context, dir string) (replayResult, error) {
	in, err := mdrp.Load(dir)
	if err != nil {
		return replayResult{}, fmt.Errorf("replay mdrp: %w", err)
	}
	start := time.Now()
	sol, err := replay.Run(ctx, in, replay.Config(c.algo, in.Params))
	wall := time.Since(start)
	if err != nil {
		return replayResult{}, fmt.Errorf("replay mdrp: %s: %w", in.Name, err)
	}
	rep := mdrp.Check(in, sol)
	met := mdrp.Evaluate(in, sol)
	if c.legs == "seconds" {
		sec := in.WithLegUnit(1.0 / 60)
		met = mdrp.Evaluate(sec, mdrp.Retime(sec, sol))
	}
	if c.out != "" {
		if err := mdrp.WriteSolution(filepath.Join(c.out, in.Name), in, sol); err != nil {
			return replayResult{}, fmt.Errorf("replay mdrp: %s: write solution: %w", in.Name, err)
		}
	}
	return resultOf(met, rep, wall), nil
}

// averages are the means of a set of results, as one table row.
type averages struct {
	n                                                   int
	orders, delivered                                   int
	ctdMean, ctdP90, gt40, gt60, r2p, cost, wallSeconds float64
}

func (a *averages) add(orders, delivered int, ctdMean, ctdP90, gt40, gt60, r2p, cost, wall float64) {
	a.n++
	a.orders += orders
	a.delivered += delivered
	a.ctdMean += ctdMean
	a.ctdP90 += ctdP90
	a.gt40 += gt40
	a.gt60 += gt60
	a.r2p += r2p
	a.cost += cost
	a.wallSeconds += wall
}

func (a averages) row(name string) string {
	n := float64(max(a.n, 1))
	wall := "-"
	if a.wallSeconds > 0 {
		wall = fmt.Sprintf("%.2f", a.wallSeconds/n)
	}
	return fmt.Sprintf("%s\t%d/%d\t\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.3f\t%s\t", name, a.delivered, a.orders,
		a.ctdMean/n, a.ctdP90/n, a.gt40/n, a.gt60/n, a.r2p/n, a.cost/n, wall)
}

// writeReplayTable prints a row per instance, the averages over them, and
// the averages of the reference algorithms over the same instances.
func writeReplayTable(w io.Writer, rs []replayResult, refs []mdrp.Reference, refPath string) error {
	// Numbers align right; names are padded to one width so that they
	// line up on the left.
	algo := ""
	if len(rs) > 0 {
		algo = rs[0].Algo
	}
	names := []string{"instance", fmt.Sprintf("average of %d (%s)", len(rs), algo)}
	for _, r := range rs {
		names = append(names, r.Instance)
	}
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	pad := func(s string) string { return fmt.Sprintf("%-*s", width, s) }
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, pad("instance")+"\tdelivered\tfeasible\tctd mean\tctd p90\t% > 40\t% > 60\tr2p mean\tcost/order\twall s\t")
	var mine averages
	for _, r := range rs {
		feasible := "yes"
		if !r.Feasible {
			feasible = fmt.Sprintf("NO (%d)", r.Violations)
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.3f\t%.2f\t\n", pad(r.Instance), r.Delivered, r.Orders, feasible,
			r.CTDMean, r.CTDP90, r.PctCTDGt40, r.PctCTDGt60, r.R2PMean, r.CostPerOrder, r.WallSeconds)
		mine.add(r.Orders, r.Delivered, r.CTDMean, r.CTDP90, r.PctCTDGt40, r.PctCTDGt60, r.R2PMean, r.CostPerOrder, r.WallSeconds)
	}
	fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t\t\t")
	fmt.Fprintln(tw, mine.row(pad(names[1])))
	refNames := []string{"MDRP", "FM"}
	missing := map[string]int{}
	for _, name := range refNames {
		if len(refs) == 0 {
			break
		}
		var a averages
		for _, r := range rs {
			ref, ok := mdrp.FindReference(refs, r.Instance, name)
			if !ok {
				missing[name]++
				continue
			}
			a.add(ref.Orders, ref.Delivered, ref.CTDMean, ref.CTDP90, ref.PctCTDGt40, ref.PctCTDGt60, ref.R2PMean, ref.CostPerOrder, 0)
		}
		if a.n > 0 {
			fmt.Fprintln(tw, a.row(pad(fmt.Sprintf("%s, same %d", name, a.n))))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if refPath != "" && len(refs) > 0 {
		fmt.Fprintf(w, "\nReference: %s", refPath)
		for _, name := range refNames {
			if n := missing[name]; n > 0 {
				fmt.Fprintf(w, "; %s lacks %d of the instances", name, n)
			}
		}
		fmt.Fprintln(w)
	}
	return nil
}
