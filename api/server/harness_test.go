package server_test

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
	"zhengxiang/orders/orderstest"
	"zhengxiang/orders/postgres"
	"zhengxiang/orders/postgres/pgtest"
)

// env is the API served over real loopback sockets: the gRPC server, the
// REST gateway dialling it, the engine and a record (in memory or in
// PostgreSQL). Rounds run only when a test calls round.
type env struct {
	t     *testing.T
	ctx   context.Context
	eng   *dispatch.Engine
	repo  orders.Repository
	keys  auth.Store
	clock *dispatch.ManualClock
	base  string // the REST API, http://127.0.0.1:port
	grpc  string // the gRPC API, 127.0.0.1:port
	http  *http.Client
}

// backends are the records the API tests run against.
var backends = []string{"memory", "postgres"}

// Stores of the tests: two near the Erqi Tower, one on the other side of
// town.
var (
	storeA = orders.Store{ID: "S-A", Name: "丹尼斯 二七店", District: "二七区", Section: orders.SectionDeals, Point: orderstest.Erqi, PrepMinutes: 8}
	storeB = orders.Store{ID: "S-B", Name: "蜜雪冰城 德化街", District: "二七区", Section: orders.SectionFlavours, Point: geo.Point{Lat: 34.7490, Lng: 113.6290}, PrepMinutes: 5}
	storeC = orders.Store{ID: "S-C", Name: "郑东万象城", District: "金水区", Section: orders.SectionDeals, Point: geo.Point{Lat: 34.7685, Lng: 113.7270}, PrepMinutes: 10}
	// near is a door about 1 km from storeA.
	near = geo.Point{Lat: 34.7540, Lng: 113.6300}
)

func newEnv(t *testing.T, backend string) *env {
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
	var keys auth.Store
	switch backend {
	case "memory":
		repo, keys = memory.NewRepository(hub), auth.NewMemoryStore()
	case "postgres":
		db := pgtest.DB(t)
		relay, err := postgres.NewRelay(db.Pool(), hub, postgres.RelayConfig{Idle: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		g.Go(func() error { return relay.Run(gctx) })
		repo, keys = db.Repository(), auth.NewPostgresStore(db.Pool())
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	log := slog.New(slog.DiscardHandler)
	travel := geo.DefaultRoadModel()
	eng, err := dispatch.New(dispatch.Config{RoundEvery: time.Second, Reassign: true}, repo, travel, clock, log)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []orders.Store{storeA, storeB, storeC} {
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
	srv, err := server.New(server.Config{Engine: eng, Repo: repo, Hub: hub, Keys: ak, Limiter: limiter,
		Travel: travel, Area: geo.Zhengzhou(), Clock: clock, PublicURL: "http://zx.test", Logger: log})
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
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return &env{t: t, ctx: ctx, eng: eng, repo: repo, keys: keys, clock: clock, base: hs.URL, grpc: ln.Addr().String(), http: hs.Client()}
}

// key issues an API key for p.
func (e *env) key(p auth.Principal) string {
	e.t.Helper()
	k, stored, err := auth.NewKey(p)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.keys.Put(e.ctx, stored); err != nil {
		e.t.Fatal(err)
	}
	return k
}

// round runs a dispatch round.
func (e *env) round() dispatch.RoundStats {
	e.t.Helper()
	st, err := e.eng.Round(e.ctx)
	if err != nil {
		e.t.Fatalf("round: %v", err)
	}
	return st
}

// roundUntilOffered runs rounds a minute apart, the rider reporting its
// position through REST before each, until a round makes an offer: the
// engine holds an order back while waiting costs it nothing.
func (e *env) roundUntilOffered(key, rider string, at geo.Point) {
	e.t.Helper()
	for range 60 {
		e.must(key, "POST", "/v1/riders/"+rider+"/locations:batchReport", map[string]any{"locations": []any{map[string]any{
			"position": map[string]any{"lat": at.Lat, "lng": at.Lng}, "at": e.clock.Now().Format(time.RFC3339Nano)}}})
		if st := e.round(); len(st.Offers) > 0 {
			return
		}
		e.clock.Set(e.clock.Now().Add(time.Minute))
	}
	e.t.Fatal("no offer in an hour of rounds")
}

// reply is an HTTP answer.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// json decodes the body into a map.
func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("reply %d is not a JSON object: %v: %s", r.Status, err, r.Body)
	}
	return m
}

// call sends a request with the key (none when "") and a JSON body (none
// when nil), plus header pairs.
func (e *env) call(key, method, path string, body any, header ...string) reply {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(e.ctx, method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// must calls and fails the test unless the answer is 200.
func (e *env) must(key, method, path string, body any, header ...string) map[string]any {
	e.t.Helper()
	r := e.call(key, method, path, body, header...)
	if r.Status != http.StatusOK {
		e.t.Fatalf("%s %s: %d %s", method, path, r.Status, strings.TrimSpace(string(r.Body)))
	}
	return r.json(e.t)
}

// get walks a decoded JSON value along keys and indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := get(v, path...).(string)
	return s
}
