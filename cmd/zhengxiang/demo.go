package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"zhengxiang/api/auth"
	"zhengxiang/bench/festival"
	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// EnvHTTPAddr is the environment variable behind the --http-addr of demo
// and serve.
const EnvHTTPAddr = "ZX_HTTP_ADDR"

// demoCmd runs the live service on the embedded default with a simulated
// fleet, stores and platform, or, with --simulate-day or --simulate-week,
// festival days to their end and then their summary.
type demoCmd struct {
	fs       *flag.FlagSet
	day      bool // --simulate-day
	week     bool // --simulate-week
	days     int  // --days of the week
	cfg      festival.Config
	algo     string
	headless bool
	json     bool
	httpAddr string

	// The live service.
	grpcAddr  string
	timeScale float64
	fleet     int
	orderRate float64
	freeQuota int
}

// Defaults of the live demo.
const (
	demoTimeScale = 30
	demoFleet     = 300
	demoOrderRate = 2
	// demoShift is how long the simulated riders stay on shift, on the
	// service's clock: a week, longer than anyone watches a demo.
	demoShift = 7 * 24 * time.Hour
	// demoPlatform is the platform of the demo's orders and platform key.
	demoPlatform = "meituan"
	// weekRiders is the riders of --simulate-week: with their load of
	// festival.DefaultOrdersPerRider, 3,300 orders a day, the week runs in
	// well under a minute.
	weekRiders = 600
)

// simFlags are the flags of --simulate-day and --simulate-week, dayFlags
// and weekFlags those of one of them only, and liveFlags those of the live
// demo.
var (
	simFlags  = []string{"riders", "orders-per-day", "algo", "headless"}
	dayFlags  = []string{"sim-hours", "start-hour"}
	weekFlags = []string{"days"}
	liveFlags = []string{"grpc-addr", "time-scale", "fleet", "order-rate", "free-delivery-quota"}
)

func newDemoCmd(fs *flag.FlagSet) *demoCmd {
	c := &demoCmd{fs: fs}
	fs.BoolVar(&c.day, "simulate-day", false, "simulate a festival day to its end, print its summary and serve /summary, instead of the live service")
	fs.BoolVar(&c.week, "simulate-week", false, "simulate the festival's week from 15 March 2020 (--days of it) to its end, print its summary and serve /summary, instead of the live service")
	fs.IntVar(&c.days, "days", festival.FestivalDays, "--simulate-week: days of the festival to simulate, from its first")
	fs.Int64Var(&c.cfg.Seed, "seed", 0, "random `seed` of the city, the orders and the people")
	fs.IntVar(&c.cfg.Stores, "stores", festival.DefaultStores, "stores of the three sections")
	fs.BoolVar(&c.json, "json", false, "also print the links and keys (live) or the summary (--simulate-day, --simulate-week) as one JSON object on a line")
	addr := os.Getenv(EnvHTTPAddr)
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	fs.StringVar(&c.httpAddr, "http-addr", addr, "address of the REST API and the console, or of /summary with --simulate-day or --simulate-week (env "+EnvHTTPAddr+")")

	fs.StringVar(&c.grpcAddr, "grpc-addr", cmp.Or(os.Getenv(EnvGRPCAddr), "127.0.0.1:9090"), "live: address of the gRPC API (env "+EnvGRPCAddr+")")
	fs.Float64Var(&c.timeScale, "time-scale", demoTimeScale, "live: run the clock this many times faster than real time")
	fs.IntVar(&c.fleet, "fleet", demoFleet, "live: simulated riders")
	fs.Float64Var(&c.orderRate, "order-rate", demoOrderRate, "live: orders per second of real time the simulated platform places through the REST API (0: none)")
	fs.IntVar(&c.freeQuota, "free-delivery-quota", defaultFreeQuota, "live: free deliveries of 郑享百味 each platform has a day")

	fs.Float64Var(&c.cfg.Hours, "sim-hours", festival.DefaultHours, "--simulate-day: simulated `hours` of orders, from the start hour")
	fs.Float64Var(&c.cfg.StartHour, "start-hour", festival.DefaultStartHour, "--simulate-day: `hour` of the day the simulation starts at")
	fs.IntVar(&c.cfg.Riders, "riders", festival.DefaultRiders,
		fmt.Sprintf("--simulate-day, --simulate-week: riders over the day's shifts (--simulate-week: %d unless given)", weekRiders))
	fs.IntVar(&c.cfg.OrdersPerDay, "orders-per-day", 0,
		fmt.Sprintf("--simulate-day, --simulate-week: orders a whole day brings (0: %v per rider)", festival.DefaultOrdersPerRider))
	fs.StringVar(&c.algo, "algo", string(dispatch.AlgoEngine), "--simulate-day, --simulate-week: dispatch algorithm, engine or greedy")
	fs.BoolVar(&c.headless, "headless", false, "--simulate-day, --simulate-week: exit after the summary instead of serving it")
	return c
}

func (c *demoCmd) setup(args []string) error {
	if len(args) > 0 {
		return usagef("demo: unexpected argument %q", args[0])
	}
	set := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var other []string
	var mode string
	switch {
	case c.day && c.week:
		return usagef("demo: --simulate-day and --simulate-week: choose one")
	case c.day:
		other, mode = slices.Concat(liveFlags, weekFlags), "--simulate-day"
	case c.week:
		other, mode = slices.Concat(liveFlags, dayFlags), "--simulate-week"
	default:
		other, mode = slices.Concat(simFlags, dayFlags, weekFlags), "the live demo (it needs --simulate-day or --simulate-week)"
	}
	for _, name := range other {
		if set[name] {
			return usagef("demo: --%s does not apply to %s", name, mode)
		}
	}
	if c.cfg.Stores < 1 {
		return usagef("demo: --stores: %d must be at least 1", c.cfg.Stores)
	}
	if !c.day && !c.week {
		switch {
		case !(c.timeScale > 0) || math.IsInf(c.timeScale, 0):
			return usagef("demo: --time-scale: %v must be a positive number", c.timeScale)
		case c.fleet < 0:
			return usagef("demo: --fleet: %d is negative", c.fleet)
		case !(c.orderRate >= 0) || math.IsInf(c.orderRate, 0):
			return usagef("demo: --order-rate: %v is not a rate", c.orderRate)
		case c.freeQuota < 0 || c.freeQuota > orders.MaxFreeDeliveryQuota:
			return usagef("demo: --free-delivery-quota: %d is not between 0 and %d", c.freeQuota, orders.MaxFreeDeliveryQuota)
		}
		return nil
	}
	algo, err := parseAlgo("demo", c.algo)
	if err != nil {
		return err
	}
	c.cfg.Algo = algo
	if c.week {
		if c.days < 1 || c.days > festival.FestivalDays {
			return usagef("demo: --days: %d is not between 1 and %d", c.days, festival.FestivalDays)
		}
		// The week's days whole, from midnight of 15 March.
		c.cfg.StartHour, c.cfg.Hours = 0, float64(24*c.days)
		if !set["riders"] {
			c.cfg.Riders = weekRiders
		}
	}
	if c.cfg.StartHour == 0 {
		// Validate takes zero for the default; a start at midnight is
		// the closest moment after it.
		c.cfg.StartHour = 1e-9
	}
	if !(c.cfg.Hours > 0) {
		return usagef("demo: --sim-hours: %v must be a positive number of hours", c.cfg.Hours)
	}
	if c.cfg.Riders < 1 {
		return usagef("demo: --riders: %d must be at least 1", c.cfg.Riders)
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
	if !c.day && !c.week {
		return c.runLive(ctx, m)
	}
	cfg := c.cfg
	cfg.Logger = m.Logger
	label := "festival day"
	if c.week {
		label = "festival week"
	}
	b := newBar(m.Stderr, label, " sim min")
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

// writeSummary prints festival days for a person: the headline figures,
// then by section, drop-off, day, locker and district.
func writeSummary(w io.Writer, s festival.Summary) error {
	pct := func(v float64) string { return fmt.Sprintf("%.1f %%", 100*v) }
	var b strings.Builder
	fmt.Fprintf(&b, "Festival %s to %s, %g simulated hours of orders, %s dispatch, seed %d\n",
		s.Start.Format("2006-01-02 15:04 MST"), s.End.Format("2006-01-02 15:04 MST"), s.SimHours, s.Algo, s.Seed)
	fmt.Fprintf(&b, "  stores %d, riders %d (%d on shift in these hours)\n", s.Stores, s.Riders, s.RidersOnShift)
	fmt.Fprintf(&b, "  orders %d: delivered %d, cancelled %d, still open %d (%d promised after the end)\n",
		s.Orders, s.Delivered, s.Cancelled, s.Undelivered, s.NotDue)
	fmt.Fprintf(&b, "  within 60 minutes    %s\n", pct(s.Within60MinShare))
	fmt.Fprintf(&b, "  within the promise   %s\n", pct(s.WithinPromiseShare))
	fmt.Fprintf(&b, "  click-to-door        p50 %.1f min, p90 %.1f min, mean %.1f min\n",
		s.ClickToDoorP50Min, s.ClickToDoorP90Min, s.ClickToDoorMeanMin)
	fmt.Fprintf(&b, "  ready-to-pickup      mean %.1f min; %.2f orders per trip\n", s.ReadyToPickupMeanMin, s.OrdersPerBundleMean)
	fmt.Fprintf(&b, "  dispatch             %d rounds, %d offers, %d declined, %d expired, %d reassigned\n",
		s.Rounds, s.Offers, s.Declined, s.Expired, s.Reassigned)
	fmt.Fprintf(&b, "  campaign             %s %s to %s: %d orders\n", s.Campaign.Name, s.Campaign.First, s.Campaign.Last, s.Campaign.Orders)
	fmt.Fprintf(&b, "  free deliveries      %d granted to 郑享百味 orders, of the platforms' daily quotas summing %d\n", s.FreeGranted, s.FreeQuota)
	slots, peak, full := 0, 0, 0
	for _, l := range s.Lockers {
		slots, peak = slots+l.Slots, peak+l.PeakReserved
		if l.PeakReserved == l.Slots {
			full++
		}
	}
	fmt.Fprintf(&b, "  drop sites           %d lockers of %d slots (%d full at their peak), %d drop points; %d orders found their locker full and took the door\n",
		len(s.Lockers), slots, full, s.DropPoints, s.LockerFullAtOrdering)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}

	// Labels go last: their Chinese characters are two columns wide.
	table := func(title string, keys []string, groups map[string]festival.Group) error {
		fmt.Fprintf(w, "\n%s\n", title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "  orders\tdelivered\tcancelled\twithin promise\tp50 min\tp90 min\twithin 60 min\t ")
		for _, k := range keys {
			g := groups[k]
			fmt.Fprintf(tw, "  %d\t%d\t%d\t%s\t%.1f\t%.1f\t%s\t  %s\n", g.Orders, g.Delivered, g.Cancelled,
				pct(g.WithinPromiseShare), g.ClickToDoorP50Min, g.ClickToDoorP90Min, pct(g.Within60MinShare), g.Label)
		}
		return tw.Flush()
	}
	var sections []string
	for _, sec := range orders.Sections() {
		sections = append(sections, string(sec))
	}
	if err := table("By section (promise: the hour's for 郑享特惠 and 郑享百味, the collection wave's same day for 郑享制造)", sections, s.BySection); err != nil {
		return err
	}
	dropoffs := []string{string(orders.HandoverDoor), string(orders.HandoverLocker), string(orders.HandoverDropPoint), string(orders.HandoverInPerson)}
	if err := table("By the consumer's drop-off", dropoffs, s.Dropoffs); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nBy day (within promise by section; free deliveries granted/quota)\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "  day\torders\tdelivered\twithin promise")
	for _, sec := range sections {
		fmt.Fprintf(tw, "\t%s", sec)
	}
	fmt.Fprint(tw, "\tfree")
	for _, d := range dropoffs {
		fmt.Fprintf(tw, "\t%s", festival.DropoffLabels[orders.Handover(d)])
	}
	fmt.Fprintln(tw, "\t")
	for _, d := range s.ByDay {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%s", d.Day, d.Orders, d.Delivered, pct(d.WithinPromiseShare))
		for _, sec := range sections {
			fmt.Fprintf(tw, "\t%s", pct(d.BySection[sec].WithinPromiseShare))
		}
		granted, quota := 0, 0
		for _, f := range d.FreeDeliveries {
			granted, quota = granted+f.Granted, quota+f.Quota
		}
		fmt.Fprintf(tw, "\t%d/%d", granted, quota)
		for _, k := range dropoffs {
			fmt.Fprintf(tw, "\t%d", d.Dropoffs[k])
		}
		fmt.Fprintln(tw, "\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nLockers (slots held at once at the peak, of the slots)\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  locker\torders\tpeak\tslots\t")
	for _, l := range s.Lockers {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t\n", l.ID, l.Orders, l.PeakReserved, l.Slots)
	}
	if err := tw.Flush(); err != nil {
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

// runLive runs serve's embedded default (in-memory record, in-process
// stream) with the demo's fleet and festival stores on a fast clock, keys
// in memory, and a simulated platform placing orders through the REST API,
// until ctx ends.
func (c *demoCmd) runLive(ctx context.Context, m *Main) error {
	keys := auth.NewMemoryStore()
	s := newServeCmd(flag.NewFlagSet("serve", flag.ContinueOnError))
	s.kafka, s.pg = "", "" // the embedded default, whatever the environment names
	s.httpAddr, s.grpcAddr, s.timeScale = c.httpAddr, c.grpcAddr, c.timeScale
	s.fleet, s.fleetShift, s.stores, s.seed = c.fleet, demoShift, c.cfg.Stores, c.cfg.Seed
	s.keys, s.freeQuota = keys, c.freeQuota
	s.onServe = func(ctx context.Context, sv serving) error { return c.live(ctx, m, keys, sv) }
	if err := s.run(ctx, m); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// demoStart is what the live demo prints when it has started: --json
// prints it as is.
type demoStart struct {
	Console       string               `json:"console"`
	REST          string               `json:"rest"`
	OpenAPI       string               `json:"openapi"`
	GRPC          string               `json:"grpc"`
	TrackingURL   string               `json:"tracking_url"`
	TrackingToken string               `json:"tracking_token"`
	OrderID       string               `json:"order_id"`
	StoreID       string               `json:"store_id"`
	RiderID       string               `json:"rider_id"`
	Platform      string               `json:"platform"`
	Keys          map[auth.Role]string `json:"keys"`
}

// live is the demo's part of a running service: it feeds the simulated
// stores every order created, makes a key per role, places a sample order
// and prints the links, then places orders at the rate until ctx ends.
func (c *demoCmd) live(ctx context.Context, m *Main, keys auth.Store, sv serving) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	if sv.fleet != nil && sv.stream != nil {
		// The simulated stores work every order, whoever created it: the
		// demo's platform, a person with the platform key, a test.
		evs := sv.stream.Subscribe(ctx, true)
		wg.Go(func() {
			for ev := range evs {
				if ev.Type != orders.EventOrderCreated {
					continue
				}
				o, err := sv.repo.GetOrder(ctx, ev.OrderID)
				if err != nil {
					if ctx.Err() == nil {
						m.Logger.Warn("demo: a new order is not in the record", "order", ev.OrderID, "err", err)
					}
					continue
				}
				sv.fleet.Placed(o)
			}
		})
	}

	put := func(p auth.Principal, rate float64) (string, error) {
		key, sk, err := auth.NewKey(p)
		if err != nil {
			return "", err
		}
		sk.RatePerSecond = rate
		if err := keys.Put(ctx, sk); err != nil {
			return "", err
		}
		return key, nil
	}
	// The platform's key is also the simulated platform's, which makes two
	// calls an order: it gets the rate that needs, when that is more than
	// the default.
	var rate float64
	if need := 4 * c.orderRate; need > auth.DefaultRatePerSecond {
		rate = need
	}
	platformKey, err := put(auth.Principal{Role: auth.RolePlatform, Platform: demoPlatform, Name: "demo platform"}, rate)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	stores, err := sv.repo.ListStores(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if len(stores) == 0 {
		return fmt.Errorf("demo: the record has no store")
	}
	p := &demoPlatformClient{
		base: "http://" + sv.httpAddr, key: platformKey, stores: stores, area: geo.Zhengzhou(),
		r: rand.New(rand.NewPCG(uint64(c.cfg.Seed), 11)), http: &http.Client{Timeout: 10 * time.Second},
	}
	// The demo's week is the festival's: 郑州消费节 covers every section.
	today := orders.DayOf(sv.clock.Now())
	if _, err := sv.campaigns.Create(ctx, orders.Campaign{ID: orders.NewCampaignID(), Name: "郑州消费节",
		First: today, Last: today.AddDays(7), Sections: orders.Sections()}); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	sample, err := p.place(ctx)
	if err != nil {
		return fmt.Errorf("demo: the sample order: %w", err)
	}

	riderID := fleetRiderID(0, max(c.fleet, 1))
	st := demoStart{
		REST: "http://" + sv.httpAddr + "/v1/", OpenAPI: "http://" + sv.httpAddr + "/openapi.json", GRPC: sv.grpcAddr,
		TrackingURL: sample.TrackingURL, TrackingToken: sample.TrackingToken, OrderID: sample.ID,
		StoreID: sample.StoreID, RiderID: riderID, Platform: demoPlatform,
		Keys: map[auth.Role]string{auth.RolePlatform: platformKey},
	}
	for _, k := range []struct {
		role auth.Role
		p    auth.Principal
	}{
		{auth.RoleMerchant, auth.Principal{Role: auth.RoleMerchant, Stores: []string{sample.StoreID}, Name: "demo merchant"}},
		{auth.RoleRider, auth.Principal{Role: auth.RoleRider, Rider: riderID, Name: "demo rider"}},
		{auth.RoleOperator, auth.Principal{Role: auth.RoleOperator, Name: "demo city operator"}},
		{auth.RoleBureau, auth.Principal{Role: auth.RoleBureau, Name: "demo bureau"}},
	} {
		if st.Keys[k.role], err = put(k.p, 0); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	st.Console = "http://" + sv.httpAddr + "/?" + url.Values{
		"operator_key": {st.Keys[auth.RoleOperator]}, "bureau_key": {st.Keys[auth.RoleBureau]},
	}.Encode()
	if err := c.printStart(m.Stdout, st); err != nil {
		return err
	}

	if c.orderRate == 0 {
		<-ctx.Done()
		return nil
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / c.orderRate))
	defer tick.Stop()
	placed, failed := 1, 0
	report := time.NewTicker(time.Minute)
	defer report.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-report.C:
			m.Logger.Info("demo: orders placed through the REST API", "placed", placed, "failed", failed)
		case <-tick.C:
			if _, err := p.place(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				failed++
				m.Logger.Warn("demo: an order was not placed", "err", err)
				continue
			}
			placed++
		}
	}
}

// printStart prints the links and keys for people, and with --json as one
// JSON object on a line.
func (c *demoCmd) printStart(w io.Writer, st demoStart) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Zhengxiang demo: the live service on the embedded default, the clock %g times real time,\n", c.timeScale)
	fmt.Fprintf(&b, "%d festival stores, %d simulated riders, %g orders/s placed through the REST API by %s.\n\n",
		c.cfg.Stores, c.fleet, c.orderRate, demoPlatform)
	fmt.Fprintf(&b, "  console   %s\n", st.Console)
	fmt.Fprintf(&b, "  REST API  %s  (OpenAPI %s, docs %s)\n", st.REST, st.OpenAPI, strings.TrimSuffix(st.OpenAPI, "/openapi.json")+"/docs")
	fmt.Fprintf(&b, "  gRPC API  %s\n", st.GRPC)
	fmt.Fprintf(&b, "  tracking  %s\n", st.TrackingURL)
	fmt.Fprintf(&b, "            (order %s of store %s; REST: %sv1/tracking/%s)\n\n", st.OrderID, st.StoreID,
		strings.TrimSuffix(st.REST, "v1/"), st.TrackingToken)
	fmt.Fprintf(&b, "API keys, kept in memory until the demo stops; send \"Authorization: Bearer KEY\":\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	scopes := map[auth.Role]string{
		auth.RolePlatform: "platform=" + st.Platform, auth.RoleMerchant: "stores=" + st.StoreID,
		auth.RoleRider: "rider=" + st.RiderID, auth.RoleOperator: "every platform", auth.RoleBureau: "aggregates",
	}
	for _, r := range auth.Roles {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", r, scopes[r], st.Keys[r])
	}
	tw.Flush()
	b.WriteString("\nCtrl-C stops the demo.\n")
	if c.json {
		line, err := json.Marshal(st)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s\n", line)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// demoPlatformClient is the demo's simulated platform: it places orders
// through the REST API as a platform does, a quote for a consumer's
// address, then the order at one of the stores quoted.
type demoPlatformClient struct {
	base, key string
	stores    []orders.Store
	area      *geo.Area
	http      *http.Client

	mu sync.Mutex
	r  *rand.Rand
	n  int
}

// demoItems are what the demo's consumers buy, by section.
var demoItems = map[orders.Section][]orders.Item{
	orders.SectionFlavours: {
		{SKU: "huimian-lamb", Name: "羊肉烩面 lamb huimian", PriceCents: 2200},
		{SKU: "hulatang", Name: "胡辣汤 hot and spicy soup", PriceCents: 800},
		{SKU: "set-back-to-work", Name: "复工套餐 back-to-work set meal", PriceCents: 2800},
	},
	orders.SectionDeals: {
		{SKU: "veg-box", Name: "蔬菜组合 vegetable box", PriceCents: 3990},
		{SKU: "rice-5kg", Name: "大米5kg rice 5 kg", PriceCents: 3590},
		{SKU: "masks-10", Name: "口罩10只 masks ×10", PriceCents: 1990},
	},
	orders.SectionMade: {
		{SKU: "dumplings-frozen", Name: "速冻水饺 frozen dumplings", PriceCents: 2590},
		{SKU: "jujube", Name: "新郑红枣 Xinzheng jujubes", PriceCents: 3990},
	},
}

// demoOrder is what the demo reads of a created order.
type demoOrder struct {
	ID            string `json:"id"`
	StoreID       string `json:"store_id"`
	TrackingToken string `json:"tracking_token"`
	TrackingURL   string `json:"tracking_url"`
}

// maxDemoAddressTries bounds the addresses drawn for one order.
const maxDemoAddressTries = 20

// place draws a consumer near a store, asks for a quote and orders from
// one of the stores quoted.
func (p *demoPlatformClient) place(ctx context.Context) (demoOrder, error) {
	p.mu.Lock()
	p.n++
	n, r := p.n, p.r
	var drops []geo.Point
	for range maxDemoAddressTries {
		drops = append(drops, p.area.RandomPointNear(r, p.stores[r.IntN(len(p.stores))].Point, 2500))
	}
	pick := r.Float64()
	p.mu.Unlock()

	for _, drop := range drops {
		var q struct {
			Stores []struct {
				StoreID string `json:"store_id"`
			} `json:"stores"`
		}
		dropoff := map[string]float64{"lat": drop.Lat, "lng": drop.Lng}
		if err := p.call(ctx, "/v1/quotes", "", map[string]any{"dropoff": dropoff, "max_stores": 5}, &q); err != nil {
			return demoOrder{}, err
		}
		if len(q.Stores) == 0 {
			continue
		}
		id := q.Stores[int(pick*float64(len(q.Stores)))].StoreID
		var section orders.Section
		for _, s := range p.stores {
			if s.ID == id {
				section = s.Section
			}
		}
		items := demoItems[section]
		if len(items) == 0 {
			items = demoItems[orders.SectionDeals]
		}
		it := items[n%len(items)]
		body := map[string]any{
			"store_id": id, "dropoff": dropoff, "address": fmt.Sprintf("演示小区 %d 号楼", 1+n%30),
			"items": []any{map[string]any{"sku": it.SKU, "name": it.Name, "qty": 1 + n%2, "price_cents": it.PriceCents}},
		}
		var created struct {
			Order demoOrder `json:"order"`
		}
		if err := p.call(ctx, "/v1/orders", fmt.Sprintf("demo-%d", n), body, &created); err != nil {
			return demoOrder{}, err
		}
		return created.Order, nil
	}
	return demoOrder{}, fmt.Errorf("no store serves any of %d addresses drawn", maxDemoAddressTries)
}

// call posts body to the REST API and decodes the answer into out.
func (p *demoPlatformClient) call(ctx context.Context, path, idempotencyKey string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.key)
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(rb))
	}
	if err := json.Unmarshal(rb, out); err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	return nil
}
