package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"zhengxiang/orders"
	"zhengxiang/orders/orderstest"
	"zhengxiang/orders/postgres"
	"zhengxiang/orders/postgres/pgtest"
)

func TestRepositoryContract(t *testing.T) {
	pgtest.URL(t)
	orderstest.RunRepositoryContract(t, func(t *testing.T) orders.Repository {
		return pgtest.DB(t).Repository()
	})
}

func create(t *testing.T, repo orders.Repository, id string) orders.Order {
	t.Helper()
	o, ev := orderstest.MustNewOrder(t, orderstest.SampleOrder(id))
	stored, created, err := repo.CreateOrder(t.Context(), o, ev)
	if err != nil || !created {
		t.Fatalf("CreateOrder(%s) = created %v, %v", id, created, err)
	}
	return stored
}

// step applies one state machine method to the stored order.
func step(t *testing.T, repo orders.Repository, id string, f func(o *orders.Order) (orders.Event, error)) orders.Order {
	t.Helper()
	o, err := repo.UpdateOrder(t.Context(), id, func(o *orders.Order) ([]orders.Event, error) {
		ev, err := f(o)
		return []orders.Event{ev}, err
	})
	if err != nil {
		t.Fatalf("UpdateOrder(%s): %v", id, err)
	}
	return o
}

func TestSecondActiveAssignmentRefused(t *testing.T) {
	db := pgtest.DB(t)
	repo, ctx := db.Repository(), t.Context()
	at := orderstest.FestivalStart.Add(time.Minute)

	create(t, repo, "o-1")
	step(t, repo, "o-1", func(o *orders.Order) (orders.Event, error) { return o.Assign(at, "rider-1") })
	if n := count(t, db, "SELECT count(*) FROM assignments WHERE order_id = 'o-1' AND released_at IS NULL"); n != 1 {
		t.Fatalf("active assignments of o-1 after Assign = %d, want 1", n)
	}
	// Written around the repository, straight in SQL, the database itself refuses it.
	_, err := db.Pool().Exec(ctx, "INSERT INTO assignments (order_id, rider_id, assigned_at) VALUES ('o-1', 'rider-2', now())")
	if pe, ok := errors.AsType[*pgconn.PgError](err); !ok || pe.Code != "23505" {
		t.Fatalf("second active assignment in SQL: %v, want a unique violation", err)
	}
	// A released assignment does not count.
	if _, err := db.Pool().Exec(ctx, "INSERT INTO assignments (order_id, rider_id, assigned_at, released_at) VALUES ('o-1', 'rider-2', now(), now())"); err != nil {
		t.Fatalf("released assignment in SQL: %v", err)
	}

	// A stray active assignment makes the repository's Assign a conflict, and nothing of the
	// change is kept.
	before := create(t, repo, "o-2")
	if _, err := db.Pool().Exec(ctx, "INSERT INTO assignments (order_id, rider_id, assigned_at) VALUES ('o-2', 'rider-9', now())"); err != nil {
		t.Fatal(err)
	}
	_, err = repo.UpdateOrder(ctx, "o-2", func(o *orders.Order) ([]orders.Event, error) {
		ev, err := o.Assign(at, "rider-1")
		return []orders.Event{ev}, err
	})
	if !orders.IsKind(err, orders.KindConflict) {
		t.Fatalf("Assign over a stray active assignment: %v, want a conflict", err)
	}
	if _, ok := errors.AsType[*pgconn.PgError](err); ok {
		t.Errorf("the repository's error %v exposes a *pgconn.PgError", err)
	}
	after, err := repo.GetOrder(ctx, "o-2")
	if err != nil || after.Seq != before.Seq || after.Delivery != orders.DeliveryUnassigned {
		t.Errorf("o-2 after the refused Assign = %+v, %v; want it unchanged", after, err)
	}
	if n := count(t, db, "SELECT count(*) FROM outbox WHERE order_id = 'o-2'"); n != 1 {
		t.Errorf("outbox rows of o-2 = %d, want only its creation", n)
	}
}

func TestAssignmentsAndDeliveries(t *testing.T) {
	db := pgtest.DB(t)
	repo := db.Repository()
	at := orderstest.FestivalStart
	next := func() time.Time { at = at.Add(time.Minute); return at }

	create(t, repo, "o-1")
	for _, f := range []func(o *orders.Order) (orders.Event, error){
		func(o *orders.Order) (orders.Event, error) { return o.SendTicket(next()) },
		func(o *orders.Order) (orders.Event, error) { return o.MerchantAccept(next()) },
		func(o *orders.Order) (orders.Event, error) {
			t := next()
			return o.Offer(t, "rider-1", t.Add(30*time.Second))
		},
		func(o *orders.Order) (orders.Event, error) { return o.ExpireOffer(next()) },
		func(o *orders.Order) (orders.Event, error) { return o.Assign(next(), "rider-2") },
		func(o *orders.Order) (orders.Event, error) { return o.Reassign(next(), "flat tyre") },
		func(o *orders.Order) (orders.Event, error) {
			t := next()
			return o.Offer(t, "rider-3", t.Add(time.Minute))
		},
		func(o *orders.Order) (orders.Event, error) { return o.AcceptOffer(at.Add(10*time.Second), "rider-3") },
		func(o *orders.Order) (orders.Event, error) { return o.MarkReady(next()) },
		func(o *orders.Order) (orders.Event, error) { return o.PickUp(next(), "rider-3") },
		func(o *orders.Order) (orders.Event, error) {
			return o.Deliver(next(), "rider-3", orders.HandoverDoor)
		},
	} {
		step(t, repo, "o-1", f)
	}
	type assignment struct {
		rider, reason string
		released      bool
	}
	rows, _ := db.Pool().Query(t.Context(), "SELECT rider_id, reason, released_at IS NOT NULL FROM assignments WHERE order_id = 'o-1' ORDER BY id")
	var got []assignment
	for rows.Next() {
		var a assignment
		if err := rows.Scan(&a.rider, &a.reason, &a.released); err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []assignment{{"rider-2", "REASSIGNED: flat tyre", true}, {"rider-3", "DELIVERED", true}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("assignments of o-1 = %v, want %v", got, want)
	}
	var rider, outcome, handover string
	var pickedUp, delivered time.Time
	err := db.Pool().QueryRow(t.Context(), "SELECT rider_id, outcome, handover, picked_up_at, delivered_at FROM deliveries WHERE order_id = 'o-1'").
		Scan(&rider, &outcome, &handover, &pickedUp, &delivered)
	if err != nil || rider != "rider-3" || outcome != "DELIVERED" || handover != "DOOR" || !delivered.Equal(at) || !pickedUp.Before(delivered) {
		t.Errorf("delivery of o-1 = %s %s %s picked up %v delivered %v, %v; want rider-3 DELIVERED DOOR at %v",
			rider, outcome, handover, pickedUp, delivered, err, at)
	}

	// A failed delivery ends the assignment too; the return does not add a delivery.
	create(t, repo, "o-2")
	for _, f := range []func(o *orders.Order) (orders.Event, error){
		func(o *orders.Order) (orders.Event, error) { return o.SendTicket(next()) },
		func(o *orders.Order) (orders.Event, error) { return o.MerchantAccept(next()) },
		func(o *orders.Order) (orders.Event, error) { return o.MarkReady(next()) },
		func(o *orders.Order) (orders.Event, error) { return o.Assign(next(), "rider-4") },
		func(o *orders.Order) (orders.Event, error) { return o.PickUp(next(), "rider-4") },
		func(o *orders.Order) (orders.Event, error) { return o.Fail(next(), "nobody home") },
		func(o *orders.Order) (orders.Event, error) { return o.Return(next()) },
	} {
		step(t, repo, "o-2", f)
	}
	if n := count(t, db, "SELECT count(*) FROM assignments WHERE order_id = 'o-2' AND released_at IS NULL"); n != 0 {
		t.Errorf("o-2 has %d active assignments after its failure, want 0", n)
	}
	if n := count(t, db, "SELECT count(*) FROM deliveries WHERE order_id = 'o-2' AND outcome = 'FAILED' AND reason = 'nobody home' AND failed_at IS NOT NULL"); n != 1 {
		t.Errorf("failed deliveries of o-2 = %d, want 1", n)
	}
	// Every event has its outbox row.
	if e, o := count(t, db, "SELECT count(*) FROM order_events"), count(t, db, "SELECT count(*) FROM outbox"); e != o || e != 12+8 {
		t.Errorf("%d events and %d outbox rows, want 20 of each", e, o)
	}
}

// TestConcurrentUpdatesOutbox has many goroutines change one order at once and checks that the
// outbox ids of the order grow with its seqs, which the relay's ordering rests on.
func TestConcurrentUpdatesOutbox(t *testing.T) {
	const workers, perWorker = 16, 25
	db := pgtest.DB(t)
	repo := db.Repository()
	create(t, repo, "o-1")
	at := orderstest.FestivalStart.Add(time.Minute)
	var wg sync.WaitGroup
	for w := range workers {
		rider := fmt.Sprintf("rider-%d", w)
		wg.Go(func() {
			for range perWorker {
				_, err := repo.UpdateOrder(context.Background(), "o-1", func(o *orders.Order) ([]orders.Event, error) {
					if o.Delivery == orders.DeliveryUnassigned {
						ev, err := o.Assign(at, rider)
						return []orders.Event{ev}, err
					}
					ev, err := o.Reassign(at, "rebalance")
					return []orders.Event{ev}, err
				})
				if err != nil {
					t.Errorf("UpdateOrder: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	const want = 1 + workers*perWorker
	o, err := repo.GetOrder(t.Context(), "o-1")
	if err != nil || o.Seq != want {
		t.Fatalf("order seq = %d, %v; want %d", o.Seq, err, want)
	}
	rows, _ := db.Pool().Query(t.Context(), "SELECT seq FROM outbox WHERE order_id = 'o-1' ORDER BY id")
	var seqs []int64
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, s)
	}
	if len(seqs) != want {
		t.Fatalf("%d outbox rows, want %d", len(seqs), want)
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("outbox row %d by id has seq %d, want %d", i, s, i+1)
		}
	}
	if n := count(t, db, "SELECT count(*) FROM assignments WHERE order_id = 'o-1'"); n != want/2 {
		t.Errorf("%d assignments, want %d", n, want/2)
	}
	if n := count(t, db, "SELECT count(*) FROM assignments WHERE order_id = 'o-1' AND released_at IS NULL"); n != 0 {
		t.Errorf("%d active assignments after an even number of changes, want 0", n)
	}
}

func TestErrorKinds(t *testing.T) {
	repo := pgtest.DB(t).Repository()
	s := orderstest.SampleStore("store-1")
	s.Name = "bad\x00name"
	err := repo.PutStore(t.Context(), s)
	if !orders.IsKind(err, orders.KindInvalid) {
		t.Errorf("PutStore with a NUL byte: %v, want invalid", err)
	}
	if _, ok := errors.AsType[*pgconn.PgError](err); ok {
		t.Errorf("error %v exposes a *pgconn.PgError", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := repo.GetOrder(ctx, "o-1"); !errors.Is(err, context.Canceled) {
		t.Errorf("GetOrder with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestUnreachable(t *testing.T) {
	// Nothing listens on port 1 of the loopback: the connection is refused.
	const url = "postgres://zx@127.0.0.1:1/zx?connect_timeout=5"
	_, err := postgres.Open(t.Context(), url)
	if !orders.IsKind(err, orders.KindUnavailable) {
		t.Errorf("Open of a refused address: %v, want unavailable", err)
	}
	if err := postgres.Migrate(t.Context(), url); !orders.IsKind(err, orders.KindUnavailable) {
		t.Errorf("Migrate of a refused address: %v, want unavailable", err)
	}
	if _, err := postgres.Open(t.Context(), "postgres://%zz"); !orders.IsKind(err, orders.KindInvalid) {
		t.Errorf("Open of a malformed URL: %v, want invalid", err)
	}
}

func TestMigrate(t *testing.T) {
	u := pgtest.Schema(t)
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { errs[i] = postgres.Migrate(ctx, u) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Migrate %d: %v", i, err)
		}
	}
	if err := postgres.Migrate(ctx, u); err != nil {
		t.Errorf("Migrate of a migrated schema: %v", err)
	}
	db, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	if n := count(t, db, "SELECT count(*) FROM goose_db_version WHERE version_id > 0"); n != len(files) {
		t.Errorf("%d migrations recorded, want %d", n, len(files))
	}
	if n := count(t, db, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()
		AND tablename IN ('stores', 'riders', 'orders', 'order_events', 'assignments', 'deliveries', 'outbox')`); n != 7 {
		t.Errorf("%d of the 7 tables in the schema", n)
	}
}
