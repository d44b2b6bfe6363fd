package console_test

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
	"zhengxiang/api/console"
	"zhengxiang/api/server"
	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/memory"
	"zhengxiang/orders/orderstest"
)

// env is the whole API as serve runs it, on loopback: the engine over an
// in-memory record, gRPC, the REST gateway dialling it, and the console on
// the same mux. Dispatch rounds run only when a test calls round.
type env struct {
	t     testing.TB
	ctx   context.Context
	eng   *dispatch.Engine
	keys  auth.Store
	clock *dispatch.ManualClock
	base  string // http://127.0.0.1:port
	http  *http.Client
}

// The test's store, near the Erqi Tower, and a door about 1 km from it;
// two more stores of the other sections for the map, the last of which the
// scene suspends.
var (
	storeA = orders.Store{ID: "S-A", Name: "丹尼斯 二七店", District: "二七区", Section: orders.SectionDeals,
		Point: orderstest.Erqi, PrepMinutes: 8}
	near   = geo.Point{Lat: 34.7540, Lng: 113.6300}
	storeB = orders.Store{ID: "S-B", Name: "郑州制造 金水店", District: "金水区", Section: orders.SectionMade,
		Point: geo.Point{Lat: 34.7800, Lng: 113.6850}, PrepMinutes: 15}
	storeC = orders.Store{ID: "S-C", Name: "合记烩面 管城店", District: "管城回族区", Section: orders.SectionFlavours,
		Point: geo.Point{Lat: 34.7400, Lng: 113.6900}, PrepMinutes: 12}
)

// mustEnv starts the API and the console; everything stops when the test
// ends.
func mustEnv(t testing.TB) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(ctx)
	t.Cleanup(func() {
		cancel()
		if err := g.Wait(); err != nil {
			t.Errorf("serving: %v", err)
		}
	})
	// The clock starts at the real time: the pages compare the API's times
	// with the browser's.
	clock := dispatch.NewManualClock(time.Now().UTC().Truncate(time.Second))
	hub := server.NewHub(nil)
	repo, keys := memory.NewRepository(hub), auth.NewMemoryStore()
	log := slog.New(slog.DiscardHandler)
	travel := geo.DefaultRoadModel()
	eng, err := dispatch.New(dispatch.Config{RoundEvery: time.Second, Reassign: true}, repo, travel, clock, log)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []orders.Store{storeA, storeB, storeC} {
		if err := eng.AddStore(ctx, st); err != nil {
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
	mux.Handle("/", console.Handler())
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return &env{t: t, ctx: ctx, eng: eng, keys: keys, clock: clock, base: hs.URL, http: hs.Client()}
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

// roundUntilOffered runs rounds a minute apart, the rider reporting its
// position before each, until a round makes an offer: the engine holds an
// order back while waiting costs it nothing.
func (e *env) roundUntilOffered(key, rider string, at geo.Point) {
	e.t.Helper()
	for range 60 {
		e.must(key, "POST", "/v1/riders/"+rider+"/locations:batchReport", map[string]any{"locations": []any{map[string]any{
			"position": map[string]any{"lat": at.Lat, "lng": at.Lng}, "at": e.clock.Now().Format(time.RFC3339Nano)}}})
		st, err := e.eng.Round(e.ctx)
		if err != nil {
			e.t.Fatalf("round: %v", err)
		}
		if len(st.Offers) > 0 {
			return
		}
		e.clock.Set(e.clock.Now().Add(time.Minute))
	}
	e.t.Fatal("no offer in an hour of rounds")
}

// call sends a request with the key (none when "") and a JSON body (none
// when nil), and returns the status and body.
func (e *env) call(key, method, path string, body any) (int, []byte) {
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
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// must calls, fails the test unless the answer is 200, and decodes it.
func (e *env) must(key, method, path string, body any) map[string]any {
	e.t.Helper()
	status, b := e.call(key, method, path, body)
	if status != http.StatusOK {
		e.t.Fatalf("%s %s: %d %s", method, path, status, strings.TrimSpace(string(b)))
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Fatalf("%s %s: not a JSON object: %v", method, path, err)
	}
	return m
}

// str walks a decoded JSON value along keys and indexes to a string.
func str(v any, path ...any) string {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return ""
			}
			v = a[k]
		}
	}
	s, _ := v.(string)
	return s
}
