package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"zhengxiang/api/auth"
	"zhengxiang/api/console"
	"zhengxiang/api/server"
	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/kafka"
)

// EnvGRPCAddr stands in for the --grpc-addr flag of serve and demo.
const EnvGRPCAddr = "ZX_GRPC_ADDR"

// apiSetup is what the public API of serve and demo is built from.
type apiSetup struct {
	grpcAddr  string
	publicURL string // "" : http:// and the HTTP listener's address
	engine    *dispatch.Engine
	repo      orders.Repository
	quota     orders.QuotaStore // nil: no free deliveries
	campaigns *orders.Campaigns
	hub       *server.Hub
	keys      auth.Store
	travel    geo.Travel
	area      *geo.Area
	clock     dispatch.Clock
	log       *slog.Logger
}

// apiServing is the API once started: its gRPC address and the handler to
// mount on the HTTP listener.
type apiServing struct {
	grpcAddr string
	registry *prometheus.Registry
	rounds   prometheus.Histogram
	mount    func(mux *http.ServeMux)
}

// startAPI starts the gRPC server on s.grpcAddr (until ctx ends, in g) and
// returns the REST gateway, the documents and /metrics to mount on the
// HTTP listener at httpAddr.
func startAPI(ctx context.Context, g *errgroup.Group, s apiSetup, httpAddr net.Addr) (*apiServing, error) {
	keys, err := auth.NewKeys(s.keys, auth.KeysConfig{})
	if err != nil {
		return nil, err
	}
	limiter, err := auth.NewLimiter(auth.LimiterConfig{PerKey: keys.RateLimit})
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	public := s.publicURL
	if public == "" {
		public = "http://" + httpAddr.String()
	}
	srv, err := server.New(server.Config{
		Engine: s.engine, Repo: s.repo, Hub: s.hub, Keys: keys, Limiter: limiter,
		Travel: s.travel, Area: s.area, Clock: s.clock, Quota: s.quota, Campaigns: s.campaigns, PublicURL: public, Logger: s.log,
		Metrics: server.NewMetrics(reg),
	})
	if err != nil {
		return nil, err
	}
	rounds := registerEngineMetrics(reg, s.engine)
	ln, err := net.Listen("tcp", s.grpcAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (gRPC): %w", s.grpcAddr, err)
	}
	gs := srv.GRPC()
	g.Go(func() error {
		if err := gs.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("gRPC: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		gs.GracefulStop()
		return nil
	})
	gw, err := server.Gateway(ctx, ln.Addr().String())
	if err != nil {
		return nil, err
	}
	return &apiServing{
		grpcAddr: ln.Addr().String(),
		registry: reg,
		rounds:   rounds,
		mount: func(mux *http.ServeMux) {
			server.Mount(mux, gw)
			mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
			mux.Handle("/", console.Handler())
		},
	}, nil
}

// registerEngineMetrics exports the dispatcher's running totals, and
// returns the histogram of round times for the rounds' callback to fill.
func registerEngineMetrics(reg *prometheus.Registry, eng *dispatch.Engine) prometheus.Histogram {
	rounds := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "zx_dispatch_round_seconds",
		Help:    "Time a dispatch round took, from its start to its offers recorded.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
	})
	reg.MustRegister(rounds, engineCollector{eng})
	return rounds
}

// engineCollector exports the engine's running totals from one Stats
// (which takes the engine's lock) per scrape.
type engineCollector struct{ eng *dispatch.Engine }

var (
	pendingDesc = prometheus.NewDesc("zx_pending_orders", "Orders waiting for a rider.", nil, nil)
	ridersDesc  = prometheus.NewDesc("zx_riders_on_shift", "Riders on shift.", nil, nil)
	tripsDesc   = prometheus.NewDesc("zx_active_trips", "Trips offered or under way.", nil, nil)
	offersDesc  = prometheus.NewDesc("zx_offers_total", "Offers to riders, by outcome.", []string{"outcome"}, nil)
)

func (engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{pendingDesc, ridersDesc, tripsDesc, offersDesc} {
		ch <- d
	}
}

func (c engineCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.eng.Stats()
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(ridersDesc, prometheus.GaugeValue, float64(st.Riders))
	ch <- prometheus.MustNewConstMetric(tripsDesc, prometheus.GaugeValue, float64(st.ActiveTrips))
	for outcome, n := range map[string]int{"made": st.Offers, "accepted": st.Accepted, "declined": st.Declined, "expired": st.Expired} {
		ch <- prometheus.MustNewConstMetric(offersDesc, prometheus.CounterValue, float64(n), outcome)
	}
}

// watchConsumer exports a Kafka consumer's lag and counts.
func (a *apiServing) watchConsumer(topic string, stats func() kafka.ConsumerStats) {
	labels := prometheus.Labels{"topic": topic}
	a.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "zx_consumer_lag_messages", ConstLabels: labels,
			Help: "Messages of the partitions held not yet taken, as of each partition's last batch."},
			func() float64 { return float64(stats().Lag) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "zx_consumer_handled_total", ConstLabels: labels,
			Help: "Messages taken by the handler."},
			func() float64 { return float64(stats().Handled) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "zx_consumer_deadlettered_total", ConstLabels: labels,
			Help: "Messages sent to the dead-letter topic."},
			func() float64 { return float64(stats().DeadLettered) }),
	)
}
