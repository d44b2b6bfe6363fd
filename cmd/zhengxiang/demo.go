package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"zhengxiang/bench/festival"
	"zhengxiang/dispatch"
	"zhengxiang/orders"
)

// EnvHTTPAddr is the environment variable behind demo's --http-addr.
const EnvHTTPAddr = "ZX_HTTP_ADDR"

type demoCmd struct {
	cfg      festival.Config
	algo     string
	headless bool
	json     bool
	httpAddr string
}

func newDemoCmd(fs *flag.FlagSet) *demoCmd {
	c := &demoCmd{}
	fs.Float64Var(&c.cfg.Hours, "sim-hours", festival.DefaultHours, "simulated `hours` of orders, from the start hour")
	fs.Float64Var(&c.cfg.StartHour, "start-hour", festival.DefaultStartHour, "`hour` of the day the simulation starts at")
	fs.Int64Var(&c.cfg.Seed, "seed", 0, "random `seed` of the city, the orders and the people")
	fs.IntVar(&c.cfg.Riders, "riders", festival.DefaultRiders, "riders over the day's shifts")
	fs.IntVar(&c.cfg.Stores, "stores", festival.DefaultStores, "stores of the three sections")
	fs.IntVar(&c.cfg.OrdersPerDay, "orders-per-day", 0,
		fmt.Sprintf("orders a whole day brings (0: %v per rider)", festival.DefaultOrdersPerRider))
	fs.StringVar(&c.algo, "algo", string(dispatch.AlgoEngine), "dispatch algorithm: engine or greedy")
	fs.BoolVar(&c.headless, "headless", false, "exit after the summary instead of serving it")
	fs.BoolVar(&c.json, "json", false, "print the summary as one JSON object on the last line of output")
	addr := os.Getenv(EnvHTTPAddr)
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	fs.StringVar(&c.httpAddr, "http-addr", addr, "address to serve on after the run (env "+EnvHTTPAddr+")")
	return c
}

func (c *demoCmd) setup(args []string) error {
	if len(args) > 0 {
		return usagef("demo: unexpected argument %q", args[0])
	}
	algo, err := parseAlgo("demo", c.algo)
	if err != nil {
		return err
	}
	c.cfg.Algo = algo
	if c.cfg.StartHour == 0 {
		// Validate takes zero for the default; a start at midnight is
		// the closest moment after it.
		c.cfg.StartHour = 1e-9
	}
	if !(c.cfg.Hours > 0) {
		return usagef("demo: --sim-hours: %v must be a positive number of hours", c.cfg.Hours)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"riders", c.cfg.Riders}, {"stores", c.cfg.Stores}} {
		if f.v < 1 {
			return usagef("demo: --%s: %d must be at least 1", f.name, f.v)
		}
	}
	cfg := c.cfg
	if err := cfg.Validate(); err != nil {
		return usagef("demo: %v", err)
	}
	return nil
}

func parseAlgo(cmd, s string) (dispatch.Algo, error) {
	switch a := dispatch.Algo(s); a {
	case dispatch.AlgoEngine, dispatch.AlgoGreedy:
		return a, nil
	}
	return "", usagef("%s: --algo: %q is not engine or greedy", cmd, s)
}

func (c *demoCmd) run(ctx context.Context, m *Main) error {
	cfg := c.cfg
	cfg.Logger = m.Logger
	b := newBar(m.Stderr, "festival day", " sim min")
	sum, err := festival.Run(ctx, cfg, b.set)
	b.finish()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := writeSummary(m.Stdout, sum); err != nil {
		return err
	}
	if c.json {
		line, err := json.Marshal(sum)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(m.Stdout, "%s\n", line); err != nil {
			return err
		}
	}
	if c.headless {
		return nil
	}
	return m.serve(c.httpAddr, demoHandler(sum))
}

// demoHandler serves the health check and the day's summary.
func demoHandler(sum festival.Summary) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /summary", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(sum)
	})
	return mux
}

// writeSummary prints the day for a person: the headline figures, then by
// section and by district.
func writeSummary(w io.Writer, s festival.Summary) error {
	pct := func(v float64) string { return fmt.Sprintf("%.1f %%", 100*v) }
	var b strings.Builder
	fmt.Fprintf(&b, "Festival day %s, %g simulated hours of orders, %s dispatch, seed %d\n",
		s.Start.Format("2006-01-02 15:04 MST"), s.SimHours, s.Algo, s.Seed)
	fmt.Fprintf(&b, "  stores %d, riders %d (%d on shift in these hours)\n", s.Stores, s.Riders, s.RidersOnShift)
	fmt.Fprintf(&b, "  orders %d: delivered %d, cancelled %d, still open %d\n", s.Orders, s.Delivered, s.Cancelled, s.Undelivered)
	fmt.Fprintf(&b, "  within 60 minutes    %s\n", pct(s.Within60MinShare))
	fmt.Fprintf(&b, "  within the promise   %s\n", pct(s.WithinPromiseShare))
	fmt.Fprintf(&b, "  click-to-door        p50 %.1f min, p90 %.1f min, mean %.1f min\n",
		s.ClickToDoorP50Min, s.ClickToDoorP90Min, s.ClickToDoorMeanMin)
	fmt.Fprintf(&b, "  ready-to-pickup      mean %.1f min; %.2f orders per trip\n", s.ReadyToPickupMeanMin, s.OrdersPerBundleMean)
	fmt.Fprintf(&b, "  dispatch             %d rounds, %d offers, %d declined, %d expired, %d reassigned\n",
		s.Rounds, s.Offers, s.Declined, s.Expired, s.Reassigned)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}

	// Labels go last: their Chinese characters are two columns wide.
	table := func(title string, keys []string, groups map[string]festival.Group) error {
		fmt.Fprintf(w, "\n%s\n", title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "  orders\tdelivered\twithin 60 min\t ")
		for _, k := range keys {
			g := groups[k]
			fmt.Fprintf(tw, "  %d\t%d\t%s\t  %s\n", g.Orders, g.Delivered, pct(g.Within60MinShare), g.Label)
		}
		return tw.Flush()
	}
	var sections []string
	for _, sec := range orders.Sections() {
		sections = append(sections, string(sec))
	}
	if err := table("By section", sections, s.BySection); err != nil {
		return err
	}
	var districts []string
	for k := range s.ByDistrict {
		districts = append(districts, k)
	}
	slices.Sort(districts)
	if err := table("By district", districts, s.ByDistrict); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nSimulated in %.1f s\n", s.WallSeconds)
	return err
}
