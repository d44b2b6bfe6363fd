package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/kafka"
)

// services returns the broker and database the integration tests use:
// skipped without them, failed without them when ZX_REQUIRE_SERVICES=1.
func services(t *testing.T) (brokers, pgURL string) {
	t.Helper()
	brokers, pgURL = os.Getenv(EnvKafkaBrokers), os.Getenv(EnvPGURL)
	if brokers == "" || pgURL == "" {
		if os.Getenv("ZX_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s and %s are required (ZX_REQUIRE_SERVICES=1); run make services-up", EnvKafkaBrokers, EnvPGURL)
		}
		t.Skipf("%s or %s unset: no Kafka or PostgreSQL to run against (make services-up)", EnvKafkaBrokers, EnvPGURL)
	}
	return brokers, pgURL
}

// topicPrefix returns a prefix of its own for a test's topics; serve creates
// them, and they are deleted when the test ends (after serve stopped, when
// serve was started after this call).
func topicPrefix(t *testing.T, brokers string) string {
	prefix := randomName("zxt") + "."
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := kafka.DeleteTopics(ctx, strings.Split(brokers, ","), prefix+kafka.TopicPlaced, prefix+kafka.TopicLocations,
			prefix+kafka.TopicEvents, prefix+kafka.TopicDeadLetter); err != nil {
			t.Logf("the topics %s* stay on the broker: %v", prefix, err)
		}
	})
	return prefix
}

// mustKcat returns the path of kcat, the independent Kafka client.
func mustKcat(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("ZX_REQUIRE_SERVICES") == "1" {
			t.Fatal("kcat is required (deploy/services.sh up installs it)")
		}
		t.Skip("kcat not installed")
	}
	return p
}

func randomName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// mustSchema creates a schema of its own for one test and returns the URL
// that uses it; the schema is dropped at the end.
func mustSchema(t *testing.T, pgURL string) string {
	t.Helper()
	ctx := context.Background()
	schema := randomName("zxt_")
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), pgURL)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	sep := "?"
	if strings.Contains(pgURL, "?") {
		sep = "&"
	}
	return pgURL + sep + "search_path=" + schema
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// kcatEvent is an OrderEvent as kcat reads it off orders.events, in the
// JSON form of the contract.
type kcatEvent struct {
	OrderID         string `json:"order_id"`
	Seq             string `json:"seq"`
	Type            string `json:"type"`
	PlatformOrderID string `json:"platform_order_id"`
}

// TestServeWithKcat runs serve on the real Kafka and PostgreSQL with a
// simulated fleet; kcat, an independent client, publishes JSON orders (and
// bad ones) to orders.placed and reads orders.events and orders.deadletter.
// Every order must live its whole life, its events in sequence; every bad
// message must be dead-lettered with its reason.
func TestServeWithKcat(t *testing.T) {
	brokers, pgURL := services(t)
	kcat := mustKcat(t)
	url := mustSchema(t, pgURL)
	prefix := topicPrefix(t, brokers)
	addr := freeAddr(t)

	ctx, cancel := context.WithCancel(context.Background())
	m, _, errOut := newTestMain()
	args := []string{"serve", "--kafka", brokers, "--pg", url, "--topic-prefix", prefix, "--group", prefix + "dispatch",
		"--events-json", "--fleet", "60", "--stores", "20", "--time-scale", "120", "--http-addr", addr, "--grpc-addr", "127.0.0.1:0"}
	if err := m.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil && resp.StatusCode == http.StatusOK {
			resp.Body.Close()
			break
		}
		if err == nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready within a minute:\n%s", errOut)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The stores serve registered: festival stores S0001..S0020.
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(context.Background(), "SELECT id, lat, lng FROM stores ORDER BY id LIMIT 5")
	if err != nil {
		t.Fatal(err)
	}
	type store struct {
		id       string
		lat, lng float64
	}
	var stores []store
	for rows.Next() {
		var s store
		if err := rows.Scan(&s.id, &s.lat, &s.lng); err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	// And a factory outlet of 郑享制造, whose order waits for its collection wave.
	var factory store
	var factoryPrep float64
	if err := conn.QueryRow(context.Background(), "SELECT id, lat, lng, prep_minutes FROM stores WHERE section = 'made' ORDER BY id LIMIT 1").
		Scan(&factory.id, &factory.lat, &factory.lng, &factoryPrep); err != nil {
		t.Fatalf("serve registered no factory outlet: %v", err)
	}
	conn.Close(context.Background())
	if len(stores) == 0 {
		t.Fatal("serve registered no store")
	}

	const n = 12
	var in bytes.Buffer
	now := time.Now().UTC()
	for i := range n {
		s := stores[i%len(stores)]
		drop := geo.Point{Lat: s.lat + 0.004*float64(i%3-1), Lng: s.lng + 0.004}
		fmt.Fprintf(&in, "%s\t{\"platform\":\"meituan\",\"platformOrderId\":\"kc-%d\",\"storeId\":%q,"+
			"\"items\":[{\"sku\":\"rice\",\"name\":\"rice 5 kg\",\"qty\":1,\"priceCents\":3590}],"+
			"\"dropoff\":{\"lat\":%v,\"lng\":%v},\"placedAt\":%q}\n",
			geo.AreaOf(drop), i, s.id, drop.Lat, drop.Lng, now.Format(time.RFC3339))
	}
	factoryDrop := geo.Point{Lat: factory.lat + 0.004, Lng: factory.lng}
	fmt.Fprintf(&in, "%s\t{\"platform\":\"jddj\",\"platformOrderId\":\"kc-made\",\"storeId\":%q,"+
		"\"items\":[{\"sku\":\"towel\",\"name\":\"towels\",\"qty\":1,\"priceCents\":3900}],"+
		"\"dropoff\":{\"lat\":%v,\"lng\":%v},\"placedAt\":%q}\n",
		geo.AreaOf(factoryDrop), factory.id, factoryDrop.Lat, factoryDrop.Lng, now.Format(time.RFC3339))
	bad := map[string]string{
		"malformed":     `{"platform":`,
		"missing store": `{"platform":"meituan","platformOrderId":"bad-1","items":[{"sku":"a","name":"a","qty":1}],"dropoff":{"lat":34.75,"lng":113.66}}`,
		"latitude 95":   `{"platform":"meituan","platformOrderId":"bad-2","storeId":"S0001","items":[{"sku":"a","name":"a","qty":1}],"dropoff":{"lat":95,"lng":113.66}}`,
		"outside area":  `{"platform":"meituan","platformOrderId":"bad-3","storeId":"S0001","items":[{"sku":"a","name":"a","qty":1}],"dropoff":{"lat":39.9,"lng":116.4}}`,
		"unknown store": `{"platform":"meituan","platformOrderId":"bad-4","storeId":"S9999","items":[{"sku":"a","name":"a","qty":1}],"dropoff":{"lat":34.75,"lng":113.66}}`,
	}
	for name, v := range bad {
		if name != "malformed" {
			v = strings.TrimSuffix(v, "}") + fmt.Sprintf(",%q:%q}", "placedAt", now.Format(time.RFC3339))
		}
		fmt.Fprintf(&in, "bad\t%s\n", v)
	}
	produce := exec.Command(kcat, "-P", "-b", brokers, "-t", prefix+"orders.placed", "-K", "\t", "-H", "content-type=application/json")
	produce.Stdin = &in
	if out, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}

	// Read orders.events with kcat until every order is delivered.
	var life map[string][]kcatEvent
	for end := time.Now().Add(90 * time.Second); ; {
		out, err := exec.Command(kcat, "-C", "-b", brokers, "-t", prefix+"orders.events", "-o", "beginning", "-e", "-q", "-f", "%s\n").Output()
		if err != nil {
			t.Fatalf("kcat -C: %v", err)
		}
		life = map[string][]kcatEvent{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if line == "" {
				continue
			}
			var ev kcatEvent
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("an event kcat read is not JSON: %v: %s", err, line)
			}
			life[ev.PlatformOrderID] = append(life[ev.PlatformOrderID], ev)
		}
		delivered := 0
		for _, evs := range life {
			if evs[len(evs)-1].Type == "EVENT_TYPE_DELIVERED" {
				delivered++
			}
		}
		if delivered == n {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%d of %d orders delivered within 90 s; events: %v", delivered, n, life)
		}
		time.Sleep(time.Second)
	}
	for i := range n {
		id := "kc-" + strconv.Itoa(i)
		evs := life[id]
		var types []string
		last := int64(0)
		for _, ev := range evs {
			seq, _ := strconv.ParseInt(ev.Seq, 10, 64)
			switch {
			case seq == last+1:
				last = seq
			case seq <= last:
				// An exact repeat of a seen event: allowed, skipped.
				continue
			default:
				t.Fatalf("%s: event %d after %d: a gap", id, seq, last)
			}
			types = append(types, strings.TrimPrefix(ev.Type, "EVENT_TYPE_"))
		}
		life := strings.Join(types, " ")
		for _, want := range []string{"ORDER_CREATED", "TICKET_SENT", "MERCHANT_ACCEPTED", "READY_FOR_PICKUP", "OFFERED", "ASSIGNED", "ARRIVED_AT_PICKUP", "PICKED_UP", "ARRIVED_AT_DROPOFF", "DELIVERED"} {
			if !strings.Contains(life, want) {
				t.Errorf("%s never went through %s: %s", id, want, life)
			}
		}
		if !strings.HasPrefix(life, "ORDER_CREATED TICKET_SENT") || !strings.HasSuffix(life, "ARRIVED_AT_DROPOFF DELIVERED") {
			t.Errorf("%s: life out of order: %s", id, life)
		}
	}

	// The bad messages are in the dead-letter topic, each with its reason.
	out, err := exec.Command(kcat, "-C", "-b", brokers, "-t", prefix+"orders.deadletter", "-o", "beginning", "-e", "-q", "-f", "%h\n").Output()
	if err != nil {
		t.Fatalf("kcat -C dead letters: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(bad) {
		t.Fatalf("%d dead letters for %d bad messages:\n%s", len(lines), len(bad), out)
	}
	for _, want := range []string{"store_id", "dropoff.lat", "outside the service area", "S9999"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no dead letter says %q:\n%s", want, out)
		}
	}

	// The factory's order was taken with its collection wave as its ready
	// time and that wave's promise.
	conn, err = pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var ready, promise time.Time
	if err := conn.QueryRow(context.Background(), "SELECT ready_at, promise_at FROM orders WHERE platform_order_id = 'kc-made'").
		Scan(&ready, &promise); err != nil {
		t.Fatalf("the factory's order: %v", err)
	}
	var cfg dispatch.Config
	wantReady, wantPromise := cfg.PromiseFor(orders.SectionMade, now.Truncate(time.Second), factoryPrep, geo.DefaultRoadModel(),
		geo.Point{Lat: factory.lat, Lng: factory.lng}, factoryDrop)
	if !ready.Equal(wantReady) || !promise.Equal(wantPromise) {
		t.Errorf("the factory's order: ready %s, promised %s; want its wave %s, promised %s", ready, promise, wantReady, wantPromise)
	}
}
