package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"zhengxiang/bench/festival"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/kafka"
)

// The crash tests stream crashOrders orders through a serve process on the
// real Kafka and PostgreSQL, disrupt it mid-stream, and then check that every
// order exists once, none has two active riders, and every order's events
// reached orders.events in sequence.
const (
	crashOrders = 10000
	crashStream = 35 * time.Second // how long the producer takes at its steady rate
	crashBatch  = 50               // orders per PlaceOrders call
	crashStores = 300
	crashFleet  = 300
	// crashTimeScale runs serve's clock ten times faster than real time. At 60 the dispatcher
	// cannot keep up with 10,000 orders in 35 s on two cores: its rounds hold the engine while
	// they write offers, the intake waits, offers expire, and the intake falls behind for
	// minutes.
	crashTimeScale  = "10"
	crashCatchUp    = 2 * time.Minute // after the stream, for the intake to take every order
	crashDrain      = 2 * time.Minute // for the outbox to empty after the fleet stopped
	crashReady      = 90 * time.Second
	crashMaxReports = 20 // problems of one kind reported in full; the rest are counted
)

// TestCrashSafety streams 10,000 orders into serve while it is disrupted,
// one scenario per subtest, each in its own schema, topics and group:
//
//   - kill serve: SIGKILL at 30 % and 65 % of the stream, restarted at once;
//   - restart kafka: the broker stopped and started ($ZX_KAFKA_RESTART) at
//     40 %, serve kept running;
//   - restart postgres: the database stopped and started ($ZX_PG_RESTART) at
//     40 %, serve kept running.
//
// After the stream, serve is stopped cleanly and started once more without
// the fleet and without dispatch rounds, so that nothing changes any more
// and its relay empties the outbox. Then every order must exist once, no
// order may have two active assignments, and the events of each order must
// be on orders.events in one partition, in sequence, repeats being exact
// copies, up to the order's last change in PostgreSQL.
//
// The scenarios restart the shared broker and database: they run one after
// the other, and other tests that use the services at the same time (another
// package of `go test ./...`) see the restarts too.
func TestCrashSafety(t *testing.T) {
	brokers, pgURL := services(t)
	kcat := mustKcat(t)
	bin := mustServeBinary(t)
	run := randomName("zxcrash")
	t.Cleanup(func() { deleteTopics(t, brokers, run+"-.*") })

	for _, sc := range []struct {
		name    string
		env     string // the command a disruption runs, when it runs one
		disrupt []disruption
	}{
		{name: "kill serve", disrupt: []disruption{
			{at: 0.30, what: "SIGKILL serve", do: (*crashRun).killServe},
			{at: 0.65, what: "SIGKILL serve", do: (*crashRun).killServe},
		}},
		{name: "restart kafka", env: "ZX_KAFKA_RESTART", disrupt: []disruption{
			{at: 0.40, what: "restart Kafka", do: func(r *crashRun) { r.runCommand("ZX_KAFKA_RESTART") }},
		}},
		{name: "restart postgres", env: "ZX_PG_RESTART", disrupt: []disruption{
			{at: 0.40, what: "restart PostgreSQL", do: func(r *crashRun) { r.runCommand("ZX_PG_RESTART") }},
		}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			if sc.env != "" && os.Getenv(sc.env) == "" {
				if os.Getenv("ZX_REQUIRE_SERVICES") == "1" {
					t.Fatalf("%s is required (ZX_REQUIRE_SERVICES=1); load .services.env", sc.env)
				}
				t.Skipf("%s unset: cannot restart the service (load .services.env)", sc.env)
			}
			r := newCrashRun(t, bin, kcat, brokers, pgURL, run+"-"+strings.ReplaceAll(sc.name, " ", "-")+".")
			r.stream(sc.disrupt)
			drained := r.settle()
			r.check(drained)
		})
	}
}

// disruption is what a scenario does to the running system once the
// producer has written the share at of the orders.
type disruption struct {
	at   float64
	what string
	do   func(r *crashRun)
}

// crashRun is one scenario: its schema and topics, the serve process of the
// moment, and what was measured.
type crashRun struct {
	t       *testing.T
	bin     string
	kcat    string
	brokers string
	pgURL   string // the database
	url     string // the scenario's schema in search_path
	app     string // application_name of serve's connections
	prefix  string // of the scenario's topics and group
	logPath string // serve's stderr, every process of the scenario
	log     *os.File

	serve  *serveProc
	starts int

	// handled counts the messages of orders.placed that the serve processes
	// of the scenario handled, as their /stats said last.
	handled int64
	// produced is how many orders the producer has written.
	produced atomic.Int64

	mu      sync.Mutex
	samples []sample // orders in PostgreSQL over time
	events  []mark   // the disruptions, when they began and ended
}

// sample is the number of orders in PostgreSQL at a time.
type sample struct {
	at time.Time
	n  int64
}

// mark is a disruption as it happened.
type mark struct {
	what       string
	begin, end time.Time
	produced   int64 // orders written before it began
}

func newCrashRun(t *testing.T, bin, kcat, brokers, pgURL, prefix string) *crashRun {
	t.Helper()
	r := &crashRun{t: t, bin: bin, kcat: kcat, brokers: brokers, pgURL: pgURL, url: mustSchema(t, pgURL), prefix: prefix,
		app:     prefix + "serve",
		logPath: filepath.Join(t.ArtifactDir(), "serve.log")}
	f, err := os.Create(r.logPath)
	if err != nil {
		t.Fatal(err)
	}
	r.log = f
	t.Cleanup(func() {
		if r.serve != nil {
			r.serve.kill()
		}
		// A killed serve leaves its queries running until they would answer, holding their
		// locks, which would keep the schema from being dropped.
		if conn, err := pgx.Connect(context.Background(), pgURL); err == nil {
			_, _ = conn.Exec(context.Background(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", r.app)
			conn.Close(context.Background())
		}
		if t.Failed() {
			t.Logf("serve's stderr (%d starts; go test -artifacts keeps it) at %s, the last lines but the fleet's:\n%s",
				r.starts, r.logPath, tail(r.logPath, 60, `msg="simulated store or rider"`))
		}
		f.Close()
	})
	return r
}

// serveArgs returns serve's command line for the scenario: always the same
// schema, topics and group, so that a restarted process carries on.
func (r *crashRun) serveArgs(fleet int, roundEvery string) []string {
	return []string{"serve", "--kafka", r.brokers, "--pg", r.url + "&application_name=" + r.app, "--topic-prefix", r.prefix,
		"--group", r.prefix + "dispatch", "--events-json", "--fleet", strconv.Itoa(fleet),
		"--time-scale", crashTimeScale, "--stores", strconv.Itoa(crashStores), "--round-every", roundEvery,
		"--http-addr", freeAddr(r.t), "--grpc-addr", "127.0.0.1:0"}
}

// startServe starts serve and waits until it is ready.
func (r *crashRun) startServe(args []string) time.Duration {
	r.t.Helper()
	r.starts++
	fmt.Fprintf(r.log, "=== serve start %d at %s: %s\n", r.starts, time.Now().Format(time.RFC3339Nano), strings.Join(args, " "))
	p, took, err := startServe(r.bin, args, r.log)
	r.serve = p
	if err != nil {
		r.t.Fatalf("serve start %d: %v", r.starts, err)
	}
	return took
}

// stats returns the /stats of the running serve.
func (r *crashRun) stats() serveStats {
	r.t.Helper()
	st, err := r.serve.stats()
	if err != nil {
		r.t.Fatalf("serve /stats: %v", err)
	}
	return st
}

// countHandled adds what the running serve's intake handled to r.handled,
// just before the process goes away.
func (r *crashRun) countHandled() {
	r.t.Helper()
	st := r.stats()
	if st.Intake == nil {
		r.t.Fatal("serve's /stats has no intake")
	}
	r.handled += st.Intake.Handled + st.Intake.DeadLettered
}

// killServe kills serve with SIGKILL and starts it again.
func (r *crashRun) killServe() {
	r.countHandled()
	r.serve.kill()
	took := r.startServe(r.serveArgs(crashFleet, "10s"))
	r.t.Logf("serve ready %.1f s after its start (start %d)", took.Seconds(), r.starts)
}

// runCommand runs the command that the environment variable holds.
func (r *crashRun) runCommand(env string) {
	out, err := exec.Command("sh", "-c", os.Getenv(env)).CombinedOutput()
	if err != nil {
		r.t.Fatalf("$%s: %v\n%s", env, err, out)
	}
}

// stream starts serve, streams the orders at a steady rate and disrupts the
// system as told on the way; it returns when every order was written.
func (r *crashRun) stream(disrupt []disruption) {
	t := r.t
	took := r.startServe(r.serveArgs(crashFleet, "10s"))
	t.Logf("serve ready in %.1f s", took.Seconds())

	list := crashOrderList(crashOrders)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.watch(ctx)

	done := make(chan produceResult, 1)
	go func() { done <- produce(ctx, r.brokers, r.prefix, list, &r.produced) }()
	for _, d := range disrupt {
		for r.produced.Load() < int64(d.at*crashOrders) {
			select {
			case res := <-done:
				t.Fatalf("the producer stopped before %s at %.0f %%: %v", d.what, d.at*100, res.err)
			case <-time.After(20 * time.Millisecond):
			}
		}
		m := mark{what: d.what, begin: time.Now(), produced: r.produced.Load()}
		d.do(r)
		m.end = time.Now()
		r.mu.Lock()
		r.events = append(r.events, m)
		r.mu.Unlock()
		t.Logf("%s at %d orders: took %.1f s", d.what, m.produced, m.end.Sub(m.begin).Seconds())
	}
	res := <-done
	if res.err != nil {
		t.Fatalf("producer: %v", res.err)
	}
	t.Logf("produced %d orders in %.1f s: %.0f orders/s; %d PlaceOrders calls failed and were retried",
		crashOrders, res.elapsed.Seconds(), crashOrders/res.elapsed.Seconds(), res.retries)

	// Every order must reach PostgreSQL.
	deadline := time.Now().Add(crashCatchUp)
	for {
		n, err := r.count("SELECT count(*) FROM orders")
		if err == nil && n >= crashOrders {
			break
		}
		if time.Now().After(deadline) {
			st, _ := r.serve.stats()
			t.Fatalf("%d of %d orders in PostgreSQL %v after the stream ended (err %v); serve's engine: %+v; %s",
				n, crashOrders, crashCatchUp, err, st.Engine, r.queries())
		}
		time.Sleep(250 * time.Millisecond)
	}
	cancel()
	r.report(time.Now())
}

// watch samples the number of orders in PostgreSQL until ctx is done.
func (r *crashRun) watch(ctx context.Context) {
	for {
		n, err := r.count("SELECT count(*) FROM orders")
		if err == nil {
			r.mu.Lock()
			r.samples = append(r.samples, sample{time.Now(), n})
			r.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// report logs how the intake recovered from each disruption: when every
// order written before it was in PostgreSQL, and the longest time the
// count of orders stood still.
func (r *crashRun) report(end time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.events {
		caught := "never"
		for _, s := range r.samples {
			if s.at.After(m.begin) && s.n >= m.produced {
				caught = fmt.Sprintf("%.1f s", s.at.Sub(m.begin).Seconds())
				break
			}
		}
		r.t.Logf("%s: the %d orders written before it were all in PostgreSQL %s after it began", m.what, m.produced, caught)
	}
	var stall time.Duration
	var at time.Time
	for i := 1; i < len(r.samples); i++ {
		if r.samples[i].n != r.samples[i-1].n {
			continue
		}
		j := i - 1
		for j > 0 && r.samples[j-1].n == r.samples[i].n {
			j--
		}
		if d := r.samples[i].at.Sub(r.samples[j].at); d > stall && r.samples[i].n < crashOrders {
			stall, at = d, r.samples[j].at
		}
	}
	if len(r.samples) > 0 {
		r.t.Logf("the intake's longest stall: %.1f s, from %.1f s into the run; all %d orders in PostgreSQL %.1f s after the start",
			stall.Seconds(), at.Sub(r.samples[0].at).Seconds(), crashOrders, end.Sub(r.samples[0].at).Seconds())
	}
}

// settle stops serve cleanly, then runs it once more with no fleet and no
// dispatch round in the next day, so that no order changes any more, until
// its relay has published the whole outbox. It reports whether the outbox
// was emptied.
func (r *crashRun) settle() bool {
	t := r.t
	time.Sleep(1500 * time.Millisecond) // a commit interval, so that the offsets are committed
	r.countHandled()
	if err := r.serve.stop(); err != nil {
		t.Errorf("serve did not stop cleanly: %v", err)
	}
	unpublished, _ := r.count("SELECT count(*) FROM outbox")
	t.Logf("serve stopped; %d events left in the outbox", unpublished)

	took := r.startServe(r.serveArgs(0, "24h"))
	deadline := time.Now().Add(crashDrain)
	last := int64(-1)
	for {
		unpublished, err1 := r.count("SELECT count(*) FROM outbox")
		total, err2 := r.count("SELECT count(*) FROM outbox")
		if err := errors.Join(err1, err2); err == nil && unpublished == 0 && total == last {
			break
		} else if time.Now().After(deadline) {
			t.Errorf("%d events still unpublished %v after the last start (err %v); %s", unpublished, crashDrain, err, r.queries())
			r.serve.kill()
			return false
		}
		last = total
		time.Sleep(500 * time.Millisecond)
	}
	st := r.stats()
	r.handled += st.Intake.Handled + st.Intake.DeadLettered
	t.Logf("the last start was ready in %.1f s and emptied the outbox; its intake handled %d messages again",
		took.Seconds(), st.Intake.Handled)
	if err := r.serve.stop(); err != nil {
		t.Errorf("serve did not stop cleanly: %v", err)
	}
	return true
}

// queries describes the longest-running statements of serve's connections,
// for the message of a test that waited in vain.
func (r *crashRun) queries() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, r.pgURL)
	if err != nil {
		return err.Error()
	}
	defer conn.Close(context.Background())
	rows, _ := conn.Query(ctx, `SELECT pid, extract(epoch FROM now() - query_start)::float8, regexp_replace(left(query, 200), '\s+', ' ', 'g')
		FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' ORDER BY query_start LIMIT 3`, r.app)
	var b strings.Builder
	b.WriteString("serve's longest statements in PostgreSQL:")
	var (
		pid  int
		secs float64
		q    string
	)
	if _, err := pgx.ForEachRow(rows, []any{&pid, &secs, &q}, func() error {
		fmt.Fprintf(&b, "\n  backend %d, running for %.1f s: %s", pid, secs, q)
		return nil
	}); err != nil {
		return err.Error()
	}
	return b.String()
}

// count runs a query that returns one number, on the scenario's schema.
func (r *crashRun) count(q string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, r.url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var n int64
	err = conn.QueryRow(ctx, q).Scan(&n)
	return n, err
}

// check checks the record and, when the outbox was emptied, compares it
// with the stream.
func (r *crashRun) check(drained bool) {
	t := r.t
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, r.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rec := mustRecord(t, conn)

	// Every order once.
	if len(rec.orders) != crashOrders {
		t.Errorf("%d orders in PostgreSQL, want %d", len(rec.orders), crashOrders)
	}
	keys := map[string]string{}
	for id, o := range rec.orders {
		if other, dup := keys[o.platformID]; dup {
			t.Errorf("order %s is stored twice: %s and %s", o.platformID, other, id)
		}
		keys[o.platformID] = id
	}
	missing := 0
	for i := range crashOrders {
		if _, ok := keys["crash-"+strconv.Itoa(i)]; !ok {
			if missing++; missing <= crashMaxReports {
				t.Errorf("order crash-%d is lost", i)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d orders lost", missing)
	}

	// Every order reached its store: its ticket was sent.
	unsent := 0
	for id, o := range rec.orders {
		if len(o.types) < 2 || o.types[1] != orders.EventTicketSent {
			if unsent++; unsent <= crashMaxReports {
				t.Errorf("order %s (%s) never reached its store: its events are %v", id, o.platformID, o.types)
			}
		}
	}
	if unsent > 0 {
		t.Errorf("%d orders never had their ticket sent", unsent)
	}

	// At most one rider at a time.
	rows, err := conn.Query(ctx, `SELECT order_id, count(*) FROM assignments WHERE released_at IS NULL
		GROUP BY order_id HAVING count(*) > 1`)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error {
		t.Errorf("order %s has %d active assignments", id, n)
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Nothing refused.
	if dead := r.readTopic("orders.deadletter", "%h\n"); len(dead) > 0 {
		t.Errorf("%d messages dead-lettered, none expected; the first: %s", len(dead), dead[0])
	}
	placed := len(r.readTopic("orders.placed", "%o\n"))
	t.Logf("orders.placed holds %d messages for %d orders: %d written twice by the producer's retries",
		placed, crashOrders, placed-crashOrders)
	// The count of a killed process is read just before the kill: a few of its last messages may
	// be missing from it.
	t.Logf("serve's intake handled about %d messages: about %d delivered again by Kafka after a kill or a rebalance, absorbed by the order key",
		r.handled, r.handled-int64(placed))

	// The stream against the record.
	if !drained {
		t.Log("the outbox was not emptied: orders.events is not compared with the record")
		return
	}
	lines := r.readTopic("orders.events", "%p\t%k\t%s\n")
	st := checkStream(t, lines, rec)
	t.Logf("orders.events: %d messages, %d events of %d orders, %d exact repeats; %d assignments, %d delivered",
		len(lines), st.events, len(st.orders), st.repeats, st.assigned, st.delivered)
}

// readTopic reads one of the scenario's topics from the beginning to its
// end with kcat and returns one line per message in kcat's format.
func (r *crashRun) readTopic(topic, format string) []string {
	r.t.Helper()
	cmd := exec.Command(r.kcat, "-C", "-b", r.brokers, "-t", r.prefix+topic, "-o", "beginning", "-e", "-q", "-f", format)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		r.t.Fatalf("kcat -C %s: %v\n%s", topic, err, stderr.Bytes())
	}
	var lines []string
	for line := range strings.SplitSeq(string(out), "\n") {
		if line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// record is what PostgreSQL holds at the end of a scenario.
type record struct {
	orders map[string]recordOrder
}

type recordOrder struct {
	platformID  string
	seq         int64
	types       []orders.EventType // by seq, from order_events
	assignments int64
	active      int64 // assignments not released
}

func mustRecord(t *testing.T, conn *pgx.Conn) record {
	t.Helper()
	ctx := context.Background()
	rec := record{orders: map[string]recordOrder{}}
	var (
		id, pid, typ string
		seq, n, act  int64
	)
	rows, _ := conn.Query(ctx, "SELECT id, platform_order_id, seq FROM orders")
	if _, err := pgx.ForEachRow(rows, []any{&id, &pid, &seq}, func() error {
		rec.orders[id] = recordOrder{platformID: pid, seq: seq}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rows, _ = conn.Query(ctx, "SELECT order_id, seq, type FROM order_events ORDER BY order_id, seq")
	if _, err := pgx.ForEachRow(rows, []any{&id, &seq, &typ}, func() error {
		o := rec.orders[id]
		if seq != int64(len(o.types))+1 {
			return fmt.Errorf("order %s: event %d of the record follows %d", id, seq, len(o.types))
		}
		o.types = append(o.types, orders.EventType(typ))
		rec.orders[id] = o
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rows, _ = conn.Query(ctx, `SELECT order_id, count(*), count(*) FILTER (WHERE released_at IS NULL)
		FROM assignments GROUP BY order_id`)
	if _, err := pgx.ForEachRow(rows, []any{&id, &n, &act}, func() error {
		o := rec.orders[id]
		o.assignments, o.active = n, act
		rec.orders[id] = o
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return rec
}

// streamOrder is one order's events as orders.events holds them.
type streamOrder struct {
	partition int
	ref       kafka.OrderRef
	events    []orders.Event // by seq, without the repeats
	held      bool           // a rider holds the order after the last event
	assigned  int64          // ASSIGNED events
}

type streamStats struct {
	orders                               map[string]*streamOrder
	events, repeats, assigned, delivered int
}

// checkStream checks the lines "partition\tkey\tJSON event" of orders.events
// in the order kcat read them, which is the order of each partition, and
// compares every order's events with the record.
func checkStream(t *testing.T, lines []string, rec record) streamStats {
	t.Helper()
	st := streamStats{orders: map[string]*streamOrder{}}
	reported := map[string]int{}
	problem := func(kind, format string, args ...any) {
		if reported[kind]++; reported[kind] <= crashMaxReports {
			t.Errorf(format, args...)
		}
	}
	for _, line := range lines {
		p, rest, ok1 := strings.Cut(line, "\t")
		key, value, ok2 := strings.Cut(rest, "\t")
		partition, err := strconv.Atoi(p)
		if !ok1 || !ok2 || err != nil {
			t.Fatalf("kcat printed %q, want partition, key and value", line)
		}
		ev, ref, err := kafka.DecodeEvent([]byte(value), kafka.ContentTypeJSON)
		if err != nil {
			problem("undecodable", "an event does not decode: %v: %s", err, value)
			continue
		}
		if key != ev.OrderID {
			problem("key", "event %d of order %s has the key %q", ev.Seq, ev.OrderID, key)
		}
		o := st.orders[ev.OrderID]
		if o == nil {
			o = &streamOrder{partition: partition, ref: ref}
			st.orders[ev.OrderID] = o
		}
		if partition != o.partition {
			problem("partition", "order %s: event %d in partition %d, the earlier ones in %d", ev.OrderID, ev.Seq, partition, o.partition)
		}
		switch last := int64(len(o.events)); {
		case ev.Seq <= last:
			st.repeats++
			if seen := o.events[ev.Seq-1]; !sameEvent(seen, ev) {
				problem("repeat", "order %s: event %d came again but differs:\n first %+v\n again %+v", ev.OrderID, ev.Seq, seen, ev)
			}
			continue
		case ev.Seq > last+1:
			problem("gap", "order %s: event %d (%s) follows event %d", ev.OrderID, ev.Seq, ev.Type, last)
			continue
		}
		if ev.Type == orders.EventAssigned {
			if o.held {
				problem("assigned", "order %s: event %d assigns rider %s while rider %s holds the order",
					ev.OrderID, ev.Seq, ev.RiderID, o.events[len(o.events)-1].RiderID)
			}
			o.assigned++
			st.assigned++
		}
		if ev.Type == orders.EventDelivered {
			st.delivered++
		}
		o.held = riderHolds(ev.Delivery)
		o.events = append(o.events, ev)
		st.events++
	}

	for id, want := range rec.orders {
		o := st.orders[id]
		if o == nil {
			problem("absent", "order %s (%s): no event on orders.events, %d in the record", id, want.platformID, want.seq)
			continue
		}
		if got := int64(len(o.events)); got != want.seq {
			problem("last", "order %s (%s): the stream ends at event %d, the record at %d", id, want.platformID, got, want.seq)
		}
		if o.ref.PlatformOrderID != want.platformID {
			problem("ref", "order %s: the stream names it %q, the record %q", id, o.ref.PlatformOrderID, want.platformID)
		}
		for i, typ := range want.types {
			if i < len(o.events) && o.events[i].Type != typ {
				problem("type", "order %s: event %d is %s on the stream, %s in the record", id, i+1, o.events[i].Type, typ)
			}
		}
		if o.assigned != want.assignments {
			problem("assignments", "order %s: %d ASSIGNED events on the stream, %d assignments in the record", id, o.assigned, want.assignments)
		}
		if held := want.active == 1; o.held != held {
			problem("held", "order %s: held by a rider on the stream %v, in the record %v", id, o.held, held)
		}
	}
	for id := range st.orders {
		if _, ok := rec.orders[id]; !ok {
			problem("unknown", "order %s is on orders.events but not in the record", id)
		}
	}
	for _, kind := range slices.Sorted(maps.Keys(reported)) {
		if reported[kind] > crashMaxReports {
			t.Errorf("%d problems of kind %q in all", reported[kind], kind)
		}
	}
	return st
}

// sameEvent reports whether two events are the same change.
func sameEvent(a, b orders.Event) bool {
	return a.OrderID == b.OrderID && a.Seq == b.Seq && a.Type == b.Type && a.At.Equal(b.At) &&
		a.Status == b.Status && a.Delivery == b.Delivery && a.RiderID == b.RiderID && a.Reason == b.Reason &&
		a.Actor == b.Actor && a.Handover == b.Handover && a.ExpiresAt.Equal(b.ExpiresAt)
}

// riderHolds reports whether a rider holds an order whose delivery is d:
// from ASSIGNED until the goods are handed over, the delivery fails or the
// order is released, as the assignments table records it.
func riderHolds(d orders.DeliveryStatus) bool {
	switch d {
	case orders.DeliveryAssigned, orders.DeliveryArrivedAtPickup, orders.DeliveryPickedUp, orders.DeliveryArrivedAtDropoff:
		return true
	}
	return false
}

// crashOrderList returns n distinct orders, crash-0 to crash-<n-1>, of the
// stores of the 1-hour circle serve registers in a new record
// (festival.Stores with seed 0; not the factories of 郑享制造, whose orders
// wait for a collection wave), each with a dropoff near its store and a
// paid delivery.
func crashOrderList(n int) []orders.Order {
	stores := slices.DeleteFunc(festival.Stores(0, crashStores), func(s orders.Store) bool { return s.Section == orders.SectionMade })
	area := geo.Zhengzhou()
	r := rand.New(rand.NewPCG(7, uint64(n)))
	list := make([]orders.Order, n)
	for i := range list {
		s := stores[r.IntN(len(stores))]
		list[i] = orders.Order{
			Platform: "meituan", PlatformOrderID: "crash-" + strconv.Itoa(i), StoreID: s.ID,
			Items: []orders.Item{{SKU: "rice", Name: "rice 5 kg", Qty: 1 + r.IntN(3), PriceCents: 3590}},
			// A paid delivery: an order of 郑享百味 with no fee asks for a free one, and the
			// platform's quota of the day would send most of them to the dead letters.
			DeliveryFeeCents: 500,
			Dropoff:          area.RandomPointNear(r, s.Point, 1500),
		}
	}
	return list
}

type produceResult struct {
	elapsed time.Duration
	retries int
	err     error
}

// produce writes the orders to orders.placed, crashBatch at a time at a
// steady rate, and retries a batch until the broker takes it: a retried
// batch may be written twice, which the intake must absorb.
func produce(ctx context.Context, brokers, prefix string, list []orders.Order, produced *atomic.Int64) produceResult {
	p, err := kafka.NewProducer(kafka.Config{Brokers: kafka.ParseBrokers(brokers), TopicPrefix: prefix})
	if err != nil {
		return produceResult{err: err}
	}
	defer p.Close()
	var res produceResult
	start := time.Now()
	every := crashStream / time.Duration((len(list)+crashBatch-1)/crashBatch)
	for i, chunk := 0, 0; i < len(list); i, chunk = i+crashBatch, chunk+1 {
		if wait := time.Until(start.Add(time.Duration(chunk) * every)); wait > 0 {
			select {
			case <-ctx.Done():
				return produceResult{err: ctx.Err()}
			case <-time.After(wait):
			}
		}
		batch := list[i:min(i+crashBatch, len(list))]
		now := time.Now().UTC()
		for j := range batch {
			batch[j].PlacedAt = now
		}
		// A broker that restarts takes a while to lead its partitions again,
		// longer with many topics: the producer keeps trying for two minutes.
		giveUp := time.Now().Add(2 * time.Minute)
		for attempt := 0; ; attempt++ {
			actx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := p.PlaceOrders(actx, batch...)
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil || time.Now().After(giveUp) {
				return produceResult{err: fmt.Errorf("orders %d to %d, attempt %d: %w", i, i+len(batch)-1, attempt+1, err)}
			}
			res.retries++
			time.Sleep(500 * time.Millisecond)
		}
		produced.Store(int64(i + len(batch)))
	}
	res.elapsed = time.Since(start)
	return res
}

// serveProc is a serve process of the crash tests.
type serveProc struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
	err  error // once done is closed
}

// startServe starts bin with args, its output appended to out, and waits
// until /readyz answers; it returns how long that took.
func startServe(bin string, args []string, out *os.File) (*serveProc, time.Duration, error) {
	start := time.Now()
	p := &serveProc{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.addr = args[slices.Index(args, "--http-addr")+1]
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		return nil, 0, err
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(crashReady); ; {
		resp, err := client.Get("http://" + p.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, time.Since(start), nil
			}
		}
		select {
		case <-p.done:
			return p, 0, fmt.Errorf("serve exited before it was ready: %v", p.err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return p, 0, fmt.Errorf("serve not ready within %v", crashReady)
		}
	}
}

// stats returns serve's /stats.
func (p *serveProc) stats() (serveStats, error) {
	var st serveStats
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + p.addr + "/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("/stats: %s", resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// kill kills the process with SIGKILL, as a crash would, and reaps it.
func (p *serveProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop asks the process to stop with SIGTERM and waits for it; it reports
// an exit other than 0, or no exit within 30 seconds.
func (p *serveProc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(30 * time.Second):
		p.kill()
		return errors.New("no exit 30 s after SIGTERM; killed")
	}
}

// mustServeBinary builds the command once for the test, from the module's
// root two folders up, and returns its path.
func mustServeBinary(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not found to build serve: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "zhengxiang")
	cmd := exec.Command(goCmd, "build", "-o", bin, "./cmd/zhengxiang")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// deleteTopics deletes the topics whose names match the regular expression,
// with Kafka's own tool when $ZX_KAFKA_BIN names it; without it they stay.
func deleteTopics(t *testing.T, brokers, pattern string) {
	tool := os.Getenv("ZX_KAFKA_BIN")
	if tool == "" {
		t.Logf("ZX_KAFKA_BIN unset: the topics %s stay on the broker", pattern)
		return
	}
	out, err := exec.Command(tool, "tool", "org.apache.kafka.tools.TopicCommand", "--bootstrap-server", brokers,
		"--delete", "--if-exists", "--topic", pattern).CombinedOutput()
	if err != nil {
		t.Logf("deleting the topics %s: %v\n%s", pattern, err, out)
	}
}

// tail returns the last n lines of the file that do not contain skip.
func tail(path string, n int, skip string) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), skip) {
			continue
		}
		lines = append(lines, sc.Text())
		if len(lines) > 2*n {
			lines = slices.Delete(lines, 0, len(lines)-n)
		}
	}
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
