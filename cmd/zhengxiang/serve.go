package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"zhengxiang/api/auth"
	"zhengxiang/api/server"
	"zhengxiang/bench/festival"
	"zhengxiang/dispatch"
	"zhengxiang/dispatch/sim"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/kafka"
	"zhengxiang/orders/memory"
	"zhengxiang/orders/postgres"
)

// Environment variables that stand in for serve's flags.
const (
	EnvKafkaBrokers = "ZX_KAFKA_BROKERS"
	EnvPGURL        = "ZX_PG_URL"
)

// serveCmd runs the service: the intake of orders.placed and
// riders.locations, the dispatcher, and the outbox relay that carries every
// change to orders.events.
type serveCmd struct {
	kafka, pg   string
	httpAddr    string
	grpcAddr    string
	publicURL   string
	keyFile     string
	group       string
	topicPrefix string
	eventsJSON  bool
	instance    string
	fleet       int
	fleetPings  time.Duration
	timeScale   float64
	stores      int
	seed        int64
	roundEvery  time.Duration
	ackTimeout  time.Duration
	freeQuota   int

	// Not flags: demo runs serve's embedded default with these set.
	keys       auth.Store                                 // nil: the key file, or PostgreSQL with --pg
	onServe    func(ctx context.Context, s serving) error // nil: none; run beside the servers once they listen
	fleetShift time.Duration                              // how long the fleet rides (0: 12 hours)
}

// serving is what a running serve hands its onServe hook.
type serving struct {
	httpAddr, grpcAddr string
	repo               orders.Repository
	eng                *dispatch.Engine
	fleet              *sim.Sim       // nil without --fleet
	stream             *memory.Stream // nil with Kafka
	campaigns          *orders.Campaigns
	clock              dispatch.Clock
}

func newServeCmd(fs *flag.FlagSet) *serveCmd {
	c := &serveCmd{}
	fs.StringVar(&c.kafka, "kafka", os.Getenv(EnvKafkaBrokers), "Kafka `brokers`, comma-separated (env "+EnvKafkaBrokers+"); empty: the in-process stream")
	fs.StringVar(&c.pg, "pg", os.Getenv(EnvPGURL), "PostgreSQL `url` of the record (env "+EnvPGURL+"); empty: the in-memory store")
	addr := os.Getenv(EnvHTTPAddr)
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	fs.StringVar(&c.httpAddr, "http-addr", addr, "address of the REST API, the console, /healthz, /readyz, /metrics and /stats (env "+EnvHTTPAddr+")")
	fs.StringVar(&c.grpcAddr, "grpc-addr", cmp.Or(os.Getenv(EnvGRPCAddr), "127.0.0.1:9090"), "address of the gRPC API (env "+EnvGRPCAddr+")")
	fs.StringVar(&c.publicURL, "public-url", "", "`url` consumers reach the console at, for tracking links (default: http:// and the --http-addr)")
	fs.StringVar(&c.keyFile, "key-file", defaultKeyFile(), "API keys made by 'zhengxiang keys create' without --pg; with --pg the keys are in PostgreSQL")
	fs.StringVar(&c.group, "group", kafka.DefaultGroupID, "consumer `group` the dispatchers of one deployment share")
	fs.StringVar(&c.topicPrefix, "topic-prefix", "", "put this before the four topic names, to share a cluster")
	fs.StringVar(&c.instance, "instance", "", "`name` of this dispatcher among several of one --group that split the areas between them; each then reads every rider position (group GROUP.locations.NAME)")
	fs.BoolVar(&c.eventsJSON, "events-json", false, "write orders.events as JSON (content-type application/json) instead of protobuf")
	fs.IntVar(&c.fleet, "fleet", 0, "simulated riders, with simulated stores, that work the orders in this process (0: none)")
	fs.DurationVar(&c.fleetPings, "fleet-ping-every", 30*time.Second, "how often each simulated rider reports its position, on the service's clock (0: never, when the positions come through riders.locations)")
	fs.Float64Var(&c.timeScale, "time-scale", 1, "run the clock this many times faster than real time (a demo fleet's day in minutes)")
	fs.IntVar(&c.stores, "stores", festival.DefaultStores, "festival stores registered when the record has none")
	fs.Int64Var(&c.seed, "seed", 0, "random `seed` of the registered stores and the fleet")
	fs.DurationVar(&c.roundEvery, "round-every", 10*time.Second, "time between dispatch rounds, on the service's clock")
	fs.DurationVar(&c.ackTimeout, "ack-timeout", 10*time.Minute, "how long a store has to accept or reject a ticket before its order is auto-cancelled, on the service's clock (0: never)")
	fs.IntVar(&c.freeQuota, "free-delivery-quota", defaultFreeQuota, "free deliveries of 郑享百味 (Flavours) each platform has a day, days counted in China Standard Time")
	return c
}

func (c *serveCmd) setup(args []string) error {
	if len(args) > 0 {
		return usagef("serve: unexpected argument %q", args[0])
	}
	if c.timeScale <= 0 {
		return usagef("serve: --time-scale: %v must be positive", c.timeScale)
	}
	if c.fleet < 0 || c.stores < 0 {
		return usagef("serve: --fleet and --stores must not be negative")
	}
	if c.fleetPings < 0 {
		return usagef("serve: --fleet-ping-every: %v is negative", c.fleetPings)
	}
	if c.roundEvery <= 0 {
		return usagef("serve: --round-every: %v must be positive", c.roundEvery)
	}
	if c.ackTimeout < 0 {
		return usagef("serve: --ack-timeout: %v is negative", c.ackTimeout)
	}
	if c.freeQuota < 0 || c.freeQuota > orders.MaxFreeDeliveryQuota {
		return usagef("serve: --free-delivery-quota: %d is not between 0 and %d", c.freeQuota, orders.MaxFreeDeliveryQuota)
	}
	return nil
}

// relayBatch is the most events the outbox relay publishes at once: at a
// peak of thousands of orders a second, each with several changes, the relay
// keeps up only in large batches.
const relayBatch = 2000

// relays is how many relay loops serve runs; a loop works only while it
// holds the outbox's advisory lock (postgres.Relay): one works, and the other
// stands by and takes over while the first waits out a failure.
const relays = 2

// defaultFreeQuota is serve's and demo's --free-delivery-quota.
const defaultFreeQuota = 1000

// lookupFunc adapts a function to kafka.OrderLookup.
type lookupFunc func(ctx context.Context, id string) (orders.Order, error)

func (f lookupFunc) GetOrder(ctx context.Context, id string) (orders.Order, error) { return f(ctx, id) }

func (c *serveCmd) run(ctx context.Context, m *Main) error {
	log := m.Logger
	var clock dispatch.Clock = dispatch.WallClock{}
	if c.timeScale != 1 {
		clock = dispatch.NewScaledClock(time.Now(), c.timeScale)
	}
	travel := geo.DefaultRoadModel()
	area := geo.Zhengzhou()
	g, ctx := errgroup.WithContext(ctx)

	// The stream out: Kafka, or the in-process stream.
	// The relay hands the publisher up to relayBatch events at a time; the
	// publisher sends each partition's share in one request.
	kcfg := kafka.Config{Brokers: kafka.ParseBrokers(c.kafka), GroupID: c.group, Area: area, Logger: log,
		TopicPrefix: c.topicPrefix, EventsJSON: c.eventsJSON, BatchSize: relayBatch}
	if c.instance != "" {
		kcfg.LocationsGroupID = cmp.Or(kcfg.GroupID, kafka.DefaultGroupID) + ".locations." + c.instance
		kcfg.ClientID = "zhengxiang-" + c.instance
	}
	var stream *memory.Stream
	var pub orders.Publisher
	var repo orders.Repository
	var quota orders.QuotaStore
	var campaigns *orders.Campaigns
	var kpub *kafka.Publisher
	if c.kafka != "" {
		if err := kcfg.Validate(); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		if err := kafka.EnsureTopics(ctx, kcfg.Brokers, kcfg.Topics.Specs(0)); err != nil {
			return fmt.Errorf("serve: topics: %w", err)
		}
		var err error
		if kpub, err = kafka.NewPublisher(kcfg, lookupFunc(func(ctx context.Context, id string) (orders.Order, error) {
			return repo.GetOrder(ctx, id)
		})); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		defer kpub.Close()
		pub = kpub
	} else {
		stream = memory.NewStream(1 << 16)
		defer stream.Close()
		pub = stream
	}

	// The API's watchers see every committed change on its way out.
	hub := server.NewHub(pub)
	pub = hub
	keyStore := c.keys
	if keyStore == nil {
		keyStore = auth.NewFileStore(c.keyFile)
	}

	// The record: PostgreSQL with its outbox relay, or memory.
	if c.pg != "" {
		if err := postgres.Migrate(ctx, c.pg); err != nil {
			return fmt.Errorf("serve: migrate: %w", err)
		}
		db, err := postgres.Open(ctx, c.pg)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		defer db.Close()
		repo = db.Repository()
		if quota, err = db.Quota(c.freeQuota); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		keyStore = auth.NewPostgresStore(db.Pool())
		// Read again every 30 s, for the campaigns other instances create.
		campaigns = orders.NewCampaigns(db.Campaigns(), 30*time.Second)
		relay, err := db.Relay(pub, postgres.RelayConfig{Batch: relayBatch, Logger: log})
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		for range relays {
			g.Go(func() error { return relay.Run(ctx) })
		}
	} else {
		repo = memory.NewRepository(pub)
		campaigns = orders.NewCampaigns(memory.NewCampaigns(), 0)
		var err error
		if quota, err = memory.NewQuota(c.freeQuota); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}

	eng, err := dispatch.New(dispatch.Config{RoundEvery: c.roundEvery, Reassign: true, RequireHealthCard: true, AckTimeout: c.ackTimeout}, repo, travel, clock, log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := c.registerStores(ctx, repo, eng); err != nil {
		return err
	}
	if err := eng.Restore(ctx); err != nil {
		return fmt.Errorf("serve: %w", err)
	}

	var fleet *sim.Sim
	if c.fleet > 0 {
		fleet = sim.NewLive(eng, clock, travel, sim.Behaviour{
			AnswerDelay: 10 * time.Second, DeclineProb: 0.05, MerchantDelay: time.Minute, PingEvery: c.fleetPings, Seed: c.seed,
		}, log)
		g.Go(func() error { return fleet.RunLive(ctx) })
		if err := c.startFleet(ctx, repo, fleet, clock); err != nil {
			return err
		}
	}

	var intake *kafka.Intake
	var locations *kafka.RiderLocations
	if c.kafka != "" {
		stores := newStoreCache(repo)
		reach := dispatch.NewReach(area, travel, nil) // the stores' reach, as CreateOrder's
		sites, _ := repo.(orders.DropSiteStore)
		dcfg := eng.Config() // the promise and ready time of each section's service class
		// A batch of placed orders is recorded in one write; the events
		// publisher learns each order first, so that it need not look it up.
		place := func(ctx context.Context, list []orders.Order, _ []kafka.Meta) []error {
			errs := make([]error, len(list))
			ok := make([]orders.Order, 0, len(list))
			at := make([]int, 0, len(list))
			sts := make([]orders.Store, 0, len(list))
			for i, o := range list {
				st, err := stores.get(ctx, o.StoreID)
				if err != nil {
					errs[i] = fmt.Errorf("store_id: %w", err)
					continue
				}
				if o, err = kafka.FillFromStore(o, st); err != nil {
					errs[i] = err
					continue
				}
				// A locker or drop point order goes to its site's gate, as CreateOrder's do.
				if _, err = orders.AtDropSite(ctx, sites, &o); err != nil {
					errs[i] = err
					continue
				}
				if err = reach.Check(st, o); err != nil {
					errs[i] = err
					continue
				}
				dcfg.Schedule(&o, st.PrepMinutes, travel, st.Point)
				if err = campaigns.Join(ctx, &o); err != nil {
					errs[i] = err
					continue
				}
				if o.ID == "" {
					o.ID = dispatch.NewOrderID()
				}
				ok, at, sts = append(ok, o), append(at, i), append(sts, st)
			}
			ok, at = takeFreeDeliveries(ctx, quota, eng, clock.Now(), ok, sts, at, errs)
			kpub.Remember(ok...)
			stored, serrs := eng.SubmitBatch(ctx, ok)
			for k, i := range at {
				errs[i] = serrs[k]
				if serrs[k] == nil && fleet != nil {
					fleet.Placed(stored[k])
				}
			}
			return errs
		}
		if intake, err = kafka.NewIntakeBatch(kcfg, place); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		// The engine dispatches the areas of the partitions the intake holds:
		// nothing until the group has given it some, then, whenever they
		// change, what the record holds for its new areas.
		own := &areaOwner{ctx: ctx, eng: eng, brokers: kcfg.Brokers, topic: kcfg.Topics.Placed, log: log, all: true}
		eng.Pause(true)
		intake.OnPartitions(own.assigned, own.revoked)
		g.Go(func() error { return intake.Run(ctx) })
		ping := func(_ context.Context, ls []kafka.Location, _ []kafka.Meta) []error {
			ids, ps := make([]string, len(ls)), make([]geo.Point, len(ls))
			for i, l := range ls {
				ids[i], ps[i] = l.RiderID, l.Point
			}
			errs := eng.PingMany(ids, ps)
			if c.instance != "" {
				// Every dispatcher of the group reads every position: one of a
				// rider this dispatcher does not have is another's.
				for i, err := range errs {
					if orders.IsKind(err, orders.KindNotFound) {
						errs[i] = nil
					}
				}
			}
			return errs
		}
		if locations, err = kafka.NewRiderLocationsBatch(kcfg, ping); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		g.Go(func() error { return locations.Run(ctx) })
	}

	var ready atomic.Bool
	ln, err := net.Listen("tcp", c.httpAddr)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", c.httpAddr, err)
	}
	api, err := startAPI(ctx, g, apiSetup{grpcAddr: c.grpcAddr, publicURL: c.publicURL, engine: eng, repo: repo, quota: quota, campaigns: campaigns, hub: hub,
		keys: keyStore, travel: travel, area: area, clock: clock, log: log}, ln.Addr())
	if err != nil {
		ln.Close()
		return fmt.Errorf("serve: %w", err)
	}
	if intake != nil {
		api.watchConsumer(kcfg.Topics.Placed, intake.Stats)
	}
	if locations != nil {
		api.watchConsumer(kcfg.Topics.Locations, locations.Stats)
	}
	notify := func(st dispatch.RoundStats) { api.rounds.Observe(st.Took.Seconds()) }
	if fleet != nil {
		notify = func(st dispatch.RoundStats) {
			api.rounds.Observe(st.Took.Seconds())
			fleet.Round(st)
		}
	}
	g.Go(func() error { return eng.Run(ctx, notify) })

	mux := http.NewServeMux()
	api.mount(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		st := serveStats{Engine: eng.Stats()}
		if intake != nil {
			s := intake.Stats()
			st.Intake, st.Partitions = &s, intake.Partitions()
		}
		if locations != nil {
			s := locations.Stats()
			st.Locations = &s
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		ready.Store(false)
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	ready.Store(true)
	mode := "embedded (in-memory store, in-process stream)"
	switch {
	case c.kafka != "" && c.pg != "":
		mode = "Kafka " + c.kafka + " and PostgreSQL"
	case c.kafka != "":
		mode = "Kafka " + c.kafka + ", in-memory store"
	case c.pg != "":
		mode = "PostgreSQL, in-process stream"
	}
	log.Info("serving", "mode", mode, "http", "http://"+ln.Addr().String(), "grpc", api.grpcAddr, "fleet", c.fleet, "time_scale", c.timeScale)
	if c.onServe != nil {
		s := serving{httpAddr: ln.Addr().String(), grpcAddr: api.grpcAddr, repo: repo, eng: eng, fleet: fleet, stream: stream, campaigns: campaigns, clock: clock}
		g.Go(func() error { return c.onServe(ctx, s) })
	}
	return g.Wait()
}

// areaOwner follows the partitions of orders.placed that the intake holds
// and makes the engine dispatch their areas: an area, the H3 cell that keys
// its orders, belongs to the partition its key goes to.
type areaOwner struct {
	ctx     context.Context
	eng     *dispatch.Engine
	brokers []string
	topic   string
	log     *slog.Logger

	all bool  // the engine owns every area
	cur []int // else these partitions
}

// assigned takes the partitions of a new generation: when they differ from
// those the engine dispatches, the engine reads its new areas back from the
// record; either way its rounds go on.
func (a *areaOwner) assigned(ps []int) {
	n, err := kafka.PartitionCount(a.ctx, a.brokers, a.topic)
	if err != nil {
		a.log.Error("areas: cannot count the partitions; keeping the areas as they were", "err", err)
		a.eng.Pause(false)
		return
	}
	all := len(ps) == n
	if all == a.all && (all || slices.Equal(ps, a.cur)) {
		a.eng.Pause(false)
		return
	}
	var owns func(geo.Point) bool
	if !all {
		mine := make([]bool, n)
		for _, p := range ps {
			mine[p] = true
		}
		owns = func(p geo.Point) bool { return mine[kafka.PartitionOf(kafka.AreaKey(p), n)] }
	}
	started := time.Now()
	// Until the record answers, the rounds stay paused: better no offer than
	// one made from a partial picture.
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		err := a.eng.Own(a.ctx, owns)
		if err == nil {
			break
		}
		a.log.Error("areas: cannot read the new areas back from the record; trying again", "partitions", ps, "err", err, "retry_in", wait)
		select {
		case <-a.ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	a.all, a.cur = all, ps
	st := a.eng.Stats()
	a.log.Info("areas taken over", "partitions", ps, "of", n, "pending", st.Pending, "riders", st.Riders,
		"trips", st.ActiveTrips, "took", time.Since(started).Round(time.Millisecond))
}

// revoked stops the rounds while the group hands the partitions over.
func (a *areaOwner) revoked([]int) { a.eng.Pause(true) }

// serveStats is what /stats reports.
type serveStats struct {
	Engine     dispatch.Stats       `json:"engine"`
	Intake     *kafka.ConsumerStats `json:"intake,omitempty"`
	Locations  *kafka.ConsumerStats `json:"locations,omitempty"`
	Partitions []int                `json:"partitions,omitempty"`
}

// registerStores puts the festival's stores in a record that has none, so
// that a new deployment can take orders at once.
func (c *serveCmd) registerStores(ctx context.Context, repo orders.Repository, eng *dispatch.Engine) error {
	have, err := repo.ListStores(ctx)
	if err != nil {
		return fmt.Errorf("serve: stores: %w", err)
	}
	if len(have) > 0 || c.stores == 0 {
		return nil
	}
	for _, s := range festival.Stores(c.seed, c.stores) {
		if err := eng.AddStore(ctx, s); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	return nil
}

// startFleet hands the fleet the orders the record already holds, whose
// stores it then plays, and puts the simulated riders on shift near the
// stores; a rider that had trips before a restart goes on with them.
func (c *serveCmd) startFleet(ctx context.Context, repo orders.Repository, fleet *sim.Sim, clock dispatch.Clock) error {
	active, err := repo.ListOrders(ctx, orders.OrderFilter{Active: true})
	if err != nil {
		return fmt.Errorf("serve: fleet: %w", err)
	}
	for _, o := range active {
		fleet.Placed(o)
	}
	stores, err := repo.ListStores(ctx)
	if err != nil {
		return fmt.Errorf("serve: fleet: %w", err)
	}
	if len(stores) == 0 {
		return fmt.Errorf("serve: fleet: no store to ride for")
	}
	r := rand.New(rand.NewPCG(uint64(c.seed), 7))
	area := geo.Zhengzhou()
	now := clock.Now()
	shift := cmp.Or(c.fleetShift, 12*time.Hour)
	for i := range c.fleet {
		s := stores[r.IntN(len(stores))]
		for _, rd := range fleetShifts(i, c.fleet, sim.Rider{
			ID: fleetRiderID(i, c.fleet), Start: area.RandomPointNear(r, s.Point, 800),
			On: now, Off: now.Add(shift), Capacity: 3 + r.IntN(3),
		}) {
			fleet.StartRider(rd)
		}
	}
	return nil
}

// fleetRiderID is the id of simulated rider i (from 0) of a fleet of n:
// F0001, or F00001 past 9999 riders.
func fleetRiderID(i, n int) string {
	return fmt.Sprintf("F%0*d", max(4, len(strconv.Itoa(n))), i+1)
}

// storeCache keeps the stores the intake has looked up, so that an order
// costs no query for its store; a store it has not seen is read from the
// record.
type storeCache struct {
	repo orders.Repository
	mu   sync.RWMutex
	m    map[string]orders.Store
}

func newStoreCache(repo orders.Repository) *storeCache {
	return &storeCache{repo: repo, m: map[string]orders.Store{}}
}

func (c *storeCache) get(ctx context.Context, id string) (orders.Store, error) {
	c.mu.RLock()
	s, ok := c.m[id]
	c.mu.RUnlock()
	if ok {
		return s, nil
	}
	s, err := c.repo.GetStore(ctx, id)
	if err != nil {
		return orders.Store{}, err
	}
	c.mu.Lock()
	c.m[id] = s
	c.mu.Unlock()
	return s, nil
}
