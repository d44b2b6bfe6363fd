package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"zhengxiang/bench/festival"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/kafka"
	"zhengxiang/orders/orderstest"
	"zhengxiang/orders/postgres"
)

// areasTimeScale runs the services' clock 30 times faster than real time,
// so that the orders' goods (10 to 20 minutes of preparation) are ready, and
// offered, within a minute.
const areasTimeScale = "30"

// areasDeadline bounds TestServeSplitsAreas.
const areasDeadline = 8 * time.Minute

// TestServeSplitsAreas runs two serve processes in one consumer group on
// the real broker and database. They split the partitions of orders.placed,
// hence the dispatch areas: every offer pairs an order and a rider of areas
// that one process owns. Then one process is killed with SIGKILL; the other
// takes over every area, rebuilds their state from PostgreSQL, and offers
// the orders the dead one left pending as well as the new ones. No order is
// recorded twice and none has two active riders.
func TestServeSplitsAreas(t *testing.T) {
	brokers, pgURL := services(t)
	bin := mustServeBinary(t)
	url := mustSchema(t, pgURL)
	prefix := topicPrefix(t, brokers)
	ctx, cancel := context.WithTimeout(context.Background(), areasDeadline)
	defer cancel()

	// The record: the festival's stores and two riders at each, on shift.
	if err := postgres.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	repo := db.Repository()
	stores := festival.Stores(0, crashStores)
	now := time.Now()
	var riders []kafka.Location
	home := map[string]geo.Point{}
	for i, s := range stores {
		if err := repo.PutStore(ctx, s); err != nil {
			t.Fatal(err)
		}
		for j := range 2 {
			id := fmt.Sprintf("A%03d-%d", i, j)
			if err := repo.PutRider(ctx, orders.Rider{ID: id, Capacity: 3, OnShift: true, Point: s.Point,
				ShiftStart: now, ShiftEnd: now.Add(12 * time.Hour), LastPing: now}); err != nil {
				t.Fatal(err)
			}
			// serve offers trips only to riders with a health card of the day:
			// one for today and one for the day the services' clock, 30 times
			// faster, reaches by the test's deadline (it passes midnight when
			// the test starts late in the evening in China).
			for _, at := range []time.Time{now, now.Add(areasDeadline * 30)} {
				if err := repo.PutHealthCard(ctx, orderstest.SampleHealthCard(id, at)); err != nil {
					t.Fatal(err)
				}
			}
			riders = append(riders, kafka.Location{RiderID: id, Point: s.Point, AccuracyM: 10})
			home[id] = s.Point
		}
	}
	kcfg := kafka.Config{Brokers: kafka.ParseBrokers(brokers), TopicPrefix: prefix}
	if err := kcfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := kafka.EnsureTopics(ctx, kcfg.Brokers, kcfg.Topics.Specs(0)); err != nil {
		t.Fatal(err)
	}
	n, err := kafka.PartitionCount(ctx, kcfg.Brokers, kcfg.Topics.Placed)
	if err != nil {
		t.Fatal(err)
	}
	partOf := func(p geo.Point) int { return kafka.PartitionOf(kafka.AreaKey(p), n) }

	// The riders' apps report their positions every second (two minutes of
	// the services' clock make a rider stale), to every dispatcher.
	prod, err := kafka.NewProducer(kcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	pings, stopPings := context.WithCancel(ctx)
	defer stopPings()
	go func() {
		for pings.Err() == nil {
			for i := range riders {
				riders[i].At = time.Now()
			}
			_ = prod.ReportLocations(pings, riders...)
			select {
			case <-pings.Done():
			case <-time.After(time.Second):
			}
		}
	}()

	logf, err := os.Create(filepath.Join(t.ArtifactDir(), "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	start := func(name string) *serveProc {
		// No store answers the tickets here: none is auto-cancelled (--ack-timeout 0).
		args := []string{"serve", "--kafka", brokers, "--pg", url, "--topic-prefix", prefix, "--group", prefix + "dispatch",
			"--instance", name, "--time-scale", areasTimeScale, "--round-every", "30s", "--ack-timeout", "0",
			"--http-addr", freeAddr(t), "--grpc-addr", "127.0.0.1:0"}
		p, _, err := startServe(bin, args, logf)
		if err != nil {
			t.Fatalf("serve %s: %v", name, err)
		}
		t.Cleanup(p.kill)
		return p
	}
	a, b := start("a"), start("b")
	// owned waits until the processes hold the partitions between them, and
	// returns them.
	owned := func(ps ...*serveProc) [][]int {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); ; {
			var got [][]int
			all := 0
			for _, p := range ps {
				st, err := p.stats()
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, st.Partitions)
				all += len(st.Partitions)
			}
			if all == n && !slices.ContainsFunc(got, func(x []int) bool { return len(x) == 0 }) {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("partitions not split between %d processes within a minute: %v", len(ps), got)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	split := owned(a, b)
	t.Logf("partitions of %d: a holds %v, b holds %v", n, split[0], split[1])

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// offered returns the orders with an offer, and the rider of each first
	// offer.
	offered := func() map[string]string {
		rows, _ := conn.Query(ctx, `SELECT DISTINCT ON (o.platform_order_id) o.platform_order_id, e.rider_id
			FROM order_events e JOIN orders o ON o.id = e.order_id WHERE e.type = 'OFFERED' ORDER BY o.platform_order_id, e.seq`)
		out := map[string]string{}
		var key, rider string
		if _, err := pgx.ForEachRow(rows, []any{&key, &rider}, func() error { out[key] = rider; return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	waitOffered := func(keys []string, within time.Duration) map[string]string {
		t.Helper()
		for deadline := time.Now().Add(within); ; {
			got := offered()
			missing := 0
			for _, k := range keys {
				if _, ok := got[k]; !ok {
					missing++
				}
			}
			if missing == 0 {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d orders have no offer after %v", missing, len(keys), within)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}

	list := crashOrderList(900)
	for i := range list {
		list[i].PlatformOrderID = strings.Replace(list[i].PlatformOrderID, "crash-", "areas-", 1)
	}
	drop := map[string]geo.Point{}
	keys := make([]string, len(list))
	for i, o := range list {
		drop[o.PlatformOrderID], keys[i] = o.Dropoff, o.PlatformOrderID
	}
	var produced atomic.Int64
	if res := produce(ctx, brokers, prefix, list[:600], &produced); res.err != nil {
		t.Fatal(res.err)
	}
	first := waitOffered(keys[:600], 2*time.Minute)
	mine := map[int]string{}
	for i, ps := range split {
		for _, p := range ps {
			mine[p] = []string{"a", "b"}[i]
		}
	}
	crossed := 0
	for key, rider := range first {
		if mine[partOf(drop[key])] != mine[partOf(home[rider])] {
			crossed++
			if crossed <= 5 {
				t.Errorf("order %s of partition %d (%s) offered to rider %s of partition %d (%s)", key,
					partOf(drop[key]), mine[partOf(drop[key])], rider, partOf(home[rider]), mine[partOf(home[rider])])
			}
		}
	}
	t.Logf("600 orders offered, each by the process owning its area to a rider of its areas (%d crossed)", crossed)

	// a dies; b takes over its areas and with them the orders a holds.
	a.kill()
	killed := time.Now()
	if got := owned(b); len(got[0]) != n {
		t.Fatalf("b holds %v after a died", got[0])
	}
	t.Logf("b holds all %d partitions %.1f s after a was killed", n, time.Since(killed).Seconds())
	var more atomic.Int64
	if res := produce(ctx, brokers, prefix, list[600:], &more); res.err != nil {
		t.Fatal(res.err)
	}
	waitOffered(keys, 2*time.Minute)
	t.Logf("all 900 orders offered %.1f s after a was killed", time.Since(killed).Seconds())

	var twice, twoRiders int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT platform, platform_order_id FROM orders
		GROUP BY 1, 2 HAVING count(*) > 1) x`).Scan(&twice); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT order_id FROM assignments WHERE released_at IS NULL
		GROUP BY 1 HAVING count(*) > 1) x`).Scan(&twoRiders); err != nil {
		t.Fatal(err)
	}
	var total int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM orders`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if twice != 0 || twoRiders != 0 || total != len(list) {
		t.Errorf("%d orders recorded (want %d), %d recorded twice, %d with two active riders", total, len(list), twice, twoRiders)
	}
	stopPings()
	if err := b.stop(); err != nil {
		t.Errorf("b: %v", err)
	}
}
