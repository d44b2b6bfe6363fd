// Package servertest runs the public API for tests as serve runs it, on
// loopback: the engine over a record (in memory, or in a PostgreSQL schema
// of the test's own), gRPC, and the REST gateway dialling it. Dispatch
// rounds run only when the test asks, on a clock it moves.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"zhengxiang/api/auth"
	"zhengxiang/api/server"
	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/memory"
	"zhengxiang/orders/postgres"
	"zhengxiang/orders/postgres/pgtest"
)

// Options shape an Env.
type Options struct {
	// Backend is the record: "memory" (the default) or "postgres" (which
	// skips or fails the test without ZX_PG_URL, as pgtest does).
	Backend string
	// Stores are registered before the API starts.
	Stores []orders.Store
	// Mount, when set, adds handlers beside the API's (the console).
	Mount func(mux *http.ServeMux)
	// Configure, when set, changes the engine's configuration before the
	// engine is made (AckTimeout, say).
	Configure func(cfg *dispatch.Config)
	// FreeDeliveryQuota is each platform's daily number of free deliveries
	// of 郑享百味 (Env.Quota sets others).
	FreeDeliveryQuota int
}

// Env is the API under test. Everything stops when the test ends.
type Env struct {
	T      testing.TB
	Ctx    context.Context
	Engine *dispatch.Engine
	Repo   orders.Repository
	Quota  orders.QuotaStore
	Keys   auth.Store
	Clock  *dispatch.ManualClock
	URL    string // the REST API and the rest of the mux, http://127.0.0.1:port
	GRPC   string // the gRPC API, 127.0.0.1:port
	HTTP   *http.Client

	// Campaigns are the API's campaigns, in the backend's store.
	Campaigns *orders.Campaigns
}

// PublicURL is the address tracking links point at.
const PublicURL = "http://zx.test"

// New starts the API. The clock starts at the real time, truncated to the
// second (pages compare the API's times with the browser's).
func New(t testing.TB, opt Options) *Env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(ctx)
	t.Cleanup(func() {
		cancel()
		if err := g.Wait(); err != nil {
			t.Errorf("serving: %v", err)
		}
	})
	clock := dispatch.NewManualClock(time.Now().UTC().Truncate(time.Second))
	hub := server.NewHub(nil)
	var repo orders.Repository
	var quota orders.QuotaStore
	var campaigns orders.CampaignStore
	var keys auth.Store
	switch opt.Backend {
	case "", "memory":
		repo, keys, campaigns = memory.NewRepository(hub), auth.NewMemoryStore(), memory.NewCampaigns()
		q, err := memory.NewQuota(opt.FreeDeliveryQuota)
		if err != nil {
			t.Fatal(err)
		}
		quota = q
	case "postgres":
		db := pgtest.DB(t)
		relay, err := db.Relay(hub, postgres.RelayConfig{Idle: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		g.Go(func() error { return relay.Run(gctx) })
		repo, keys, campaigns = db.Repository(), auth.NewPostgresStore(db.Pool()), db.Campaigns()
		if quota, err = db.Quota(opt.FreeDeliveryQuota); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("servertest: unknown backend %q", opt.Backend)
	}
	log := slog.New(slog.DiscardHandler)
	travel := geo.DefaultRoadModel()
	cfg := dispatch.Config{RoundEvery: time.Second, Reassign: true}
	if opt.Configure != nil {
		opt.Configure(&cfg)
	}
	eng, err := dispatch.New(cfg, repo, travel, clock, log)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range opt.Stores {
		if err := eng.AddStore(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	ak, err := auth.NewKeys(keys, auth.KeysConfig{})
	if err != nil {
		t.Fatal(err)
	}
	limiter, err := auth.NewLimiter(auth.LimiterConfig{PerKey: ak.RateLimit})
	if err != nil {
		t.Fatal(err)
	}
	cs := orders.NewCampaigns(campaigns, 0)
	srv, err := server.New(server.Config{Engine: eng, Repo: repo, Hub: hub, Keys: ak, Limiter: limiter,
		Travel: travel, Area: geo.Zhengzhou(), Clock: clock, Quota: quota, Campaigns: cs, PublicURL: PublicURL, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := srv.GRPC()
	g.Go(func() error { return gs.Serve(ln) })
	g.Go(func() error { <-gctx.Done(); gs.Stop(); return nil })
	gw, err := server.Gateway(gctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	server.Mount(mux, gw)
	if opt.Mount != nil {
		opt.Mount(mux)
	}
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return &Env{T: t, Ctx: ctx, Engine: eng, Repo: repo, Quota: quota, Campaigns: cs, Keys: keys, Clock: clock, URL: hs.URL, GRPC: ln.Addr().String(), HTTP: hs.Client()}
}

// Key issues an API key for p.
func (e *Env) Key(p auth.Principal) string {
	e.T.Helper()
	k, stored, err := auth.NewKey(p)
	if err != nil {
		e.T.Fatal(err)
	}
	if err := e.Keys.Put(e.Ctx, stored); err != nil {
		e.T.Fatal(err)
	}
	return k
}

// Round runs a dispatch round.
func (e *Env) Round() dispatch.RoundStats {
	e.T.Helper()
	st, err := e.Engine.Round(e.Ctx)
	if err != nil {
		e.T.Fatalf("round: %v", err)
	}
	return st
}

// RoundUntilOffered runs rounds a minute apart, the rider reporting its
// position through REST before each, until a round makes an offer: the
// engine holds an order back while waiting costs it nothing.
func (e *Env) RoundUntilOffered(key, rider string, at geo.Point) {
	e.T.Helper()
	for range 60 {
		e.Must(key, "POST", "/v1/riders/"+rider+"/locations:batchReport", map[string]any{"locations": []any{map[string]any{
			"position": map[string]any{"lat": at.Lat, "lng": at.Lng}, "at": e.Clock.Now().Format(time.RFC3339Nano)}}})
		if st := e.Round(); len(st.Offers) > 0 {
			return
		}
		e.Clock.Set(e.Clock.Now().Add(time.Minute))
	}
	e.T.Fatal("no offer in an hour of rounds")
}

// Reply is an HTTP answer.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r Reply) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("reply %d is not a JSON object: %v: %s", r.Status, err, r.Body)
	}
	return m
}

// Call sends a request with the key (none when "") and a JSON body (none
// when nil), plus header name and value pairs.
func (e *Env) Call(key, method, path string, body any, header ...string) Reply {
	e.T.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.T.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(e.Ctx, method, e.URL+path, rd)
	if err != nil {
		e.T.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatal(err)
	}
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Must calls, fails the test unless the answer is 200, and decodes it.
func (e *Env) Must(key, method, path string, body any, header ...string) map[string]any {
	e.T.Helper()
	r := e.Call(key, method, path, body, header...)
	if r.Status != http.StatusOK {
		e.T.Fatalf("%s %s: %d %s", method, path, r.Status, strings.TrimSpace(string(r.Body)))
	}
	return r.JSON(e.T)
}

// Get walks a decoded JSON value along keys and indexes; nil when a step
// is missing.
func Get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k < 0 || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// Str is Get for a string; "" when it is not one.
func Str(v any, path ...any) string {
	s, _ := Get(v, path...).(string)
	return s
}
