package postgres_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"zhengxiang/orders"
	"zhengxiang/orders/orderstest"
	"zhengxiang/orders/postgres"
	"zhengxiang/orders/postgres/pgtest"
)

// orderNumber numbers the benchmark's orders across its runs.
var orderNumber atomic.Int64

// BenchmarkCreateAndUpdate measures one order's way into the database: CreateOrder and three
// UpdateOrder calls (ticket sent, merchant accepted, rider assigned), each a transaction with
// its events and outbox rows. One op is one order.
func BenchmarkCreateAndUpdate(b *testing.B) {
	repo := pgtest.DB(b).Repository()
	at := orderstest.FestivalStart.Add(time.Minute)
	steps := []func(o *orders.Order) (orders.Event, error){
		func(o *orders.Order) (orders.Event, error) { return o.SendTicket(at) },
		func(o *orders.Order) (orders.Event, error) { return o.MerchantAccept(at) },
		func(o *orders.Order) (orders.Event, error) { return o.Assign(at, "rider-1") },
	}
	order := func(ctx context.Context) error {
		id := fmt.Sprintf("b-%d", orderNumber.Add(1))
		o, ev, err := orders.NewOrder(orderstest.SampleOrder(id))
		if err != nil {
			return err
		}
		if _, _, err := repo.CreateOrder(ctx, o, ev); err != nil {
			return err
		}
		for _, f := range steps {
			if _, err := repo.UpdateOrder(ctx, id, func(o *orders.Order) ([]orders.Event, error) {
				ev, err := f(o)
				return []orders.Event{ev}, err
			}); err != nil {
				return err
			}
		}
		return nil
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if err := order(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := order(b.Context()); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
	})
}

// newPlacements returns n new orders, numbered on from orderNumber, each with its ORDER_CREATED
// and TICKET_SENT events, as the intake stores them.
func newPlacements(tb testing.TB, n int) []orders.Placement {
	tb.Helper()
	at := orderstest.FestivalStart.Add(time.Minute)
	ps := make([]orders.Placement, n)
	for i := range ps {
		ps[i] = orderstest.MustPlacement(tb, orderstest.SampleOrder(fmt.Sprintf("b-%d", orderNumber.Add(1))),
			func(o *orders.Order) (orders.Event, error) { return o.SendTicket(at) })
	}
	return ps
}

// mustCreateOrders stores ps, all new.
func mustCreateOrders(tb testing.TB, repo orders.BatchCreator, ps []orders.Placement) {
	tb.Helper()
	out, err := repo.CreateOrders(context.Background(), ps)
	if err != nil {
		tb.Fatalf("CreateOrders: %v", err)
	}
	for i, c := range out {
		if c.Err != nil || !c.New {
			tb.Fatalf("CreateOrders: %s: New %v, %v", ps[i].Order.ID, c.New, c.Err)
		}
	}
}

// BenchmarkCreateOrders500 measures the intake's write: one CreateOrders of 500 new orders with
// two events each (ORDER_CREATED, TICKET_SENT), which writes 500 orders, 1,000 events and
// 1,000 outbox rows. One op is one batch; making the placements is not timed.
func BenchmarkCreateOrders500(b *testing.B) {
	const batch = 500
	repo := pgtest.DB(b).Repository()
	for b.Loop() {
		b.StopTimer()
		ps := newPlacements(b, batch)
		b.StartTimer()
		mustCreateOrders(b, repo, ps)
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "orders/s")
}

// BenchmarkUpdateOrders1000 measures a dispatch round's write: one UpdateOrders of 1,000 orders,
// each offered to a rider (offer), or assigned to one, which also opens its assignment (assign).
// One op is one batch; the orders it changes are stored beforehand, untimed.
func BenchmarkUpdateOrders1000(b *testing.B) {
	const batch = 1000
	at := orderstest.FestivalStart.Add(2 * time.Minute)
	for _, tc := range []struct {
		name string
		fn   func(o *orders.Order) ([]orders.Event, error)
	}{
		{"offer", func(o *orders.Order) ([]orders.Event, error) {
			ev, err := o.Offer(at, "rider-1", at.Add(time.Minute))
			return []orders.Event{ev}, err
		}},
		{"assign", func(o *orders.Order) ([]orders.Event, error) {
			ev, err := o.Assign(at, "rider-1")
			return []orders.Event{ev}, err
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			repo := pgtest.DB(b).Repository()
			for b.Loop() {
				b.StopTimer()
				ps := newPlacements(b, batch)
				mustCreateOrders(b, repo, ps)
				ids := make([]string, len(ps))
				for i, p := range ps {
					ids[i] = p.Order.ID
				}
				b.StartTimer()
				errs, err := repo.UpdateOrders(context.Background(), ids, tc.fn)
				if err != nil {
					b.Fatal(err)
				}
				for i, err := range errs {
					if err != nil {
						b.Fatalf("%s: %v", ids[i], err)
					}
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "orders/s")
		})
	}
}

// counter is a Publisher that only counts, so that the relay's own cost is measured.
type counter struct{ n atomic.Int64 }

func (c *counter) Publish(_ context.Context, evs ...orders.Event) error {
	c.n.Add(int64(len(evs)))
	return nil
}

// publishedBacklog is the number of rows published and deleted just before BenchmarkRelay runs,
// dead in the outbox until vacuum takes them: the last minutes of a busy day.
const publishedBacklog = 200_000

// BenchmarkRelay measures the outbox relay: one op is one RelayOnce that claims Batch events,
// publishes them to a Publisher that only counts them, and deletes them, while the outbox
// holds the dead versions of publishedBacklog rows published just before. The unpublished events are stored
// by CreateOrders between ops, untimed, whenever fewer than a batch wait.
func BenchmarkRelay(b *testing.B) {
	for _, batch := range []int{500, 2000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			db := pgtest.DB(b)
			repo, ctx := db.Repository(), context.Background()
			pub := &counter{}
			r, err := postgres.NewRelay(db.Pool(), pub, postgres.RelayConfig{Batch: batch})
			if err != nil {
				b.Fatal(err)
			}
			// The backlog is written and published as the relay would: as unpublished rows,
			// then deleted, which leaves them for vacuum.
			if _, err := db.Pool().Exec(ctx, `INSERT INTO outbox (order_id, seq, event)
				SELECT 'old-' || (g / 2), g % 2 + 1, jsonb_build_object('order_id', 'old-' || (g / 2), 'seq', g % 2 + 1,
					'type', 'ORDER_CREATED', 'at', now(), 'status', 'CREATED', 'delivery', 'UNASSIGNED')
				FROM generate_series(0, $1 - 1) g`, publishedBacklog); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Pool().Exec(ctx, `DELETE FROM outbox`); err != nil {
				b.Fatal(err)
			}
			waiting := 0
			for b.Loop() {
				if waiting < batch {
					b.StopTimer()
					for waiting < 4*batch {
						mustCreateOrders(b, repo, newPlacements(b, 500))
						waiting += 1000
					}
					b.StartTimer()
				}
				n, err := r.RelayOnce(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if n != batch {
					b.Fatalf("RelayOnce published %d events, want a batch of %d", n, batch)
				}
				waiting -= n
			}
			b.ReportMetric(float64(pub.n.Load())/b.Elapsed().Seconds(), "events/s")
		})
	}
}
