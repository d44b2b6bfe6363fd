package postgres_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"zhengxiang/orders"
	"zhengxiang/orders/orderstest"
)

// orderNumber numbers the benchmark's orders across its runs.
var orderNumber atomic.Int64

// BenchmarkCreateAndUpdate measures one order's way into the database: CreateOrder and three
// UpdateOrder calls (ticket sent, merchant accepted, rider assigned), each a transaction with
// its events and outbox rows. One op is one order.
func BenchmarkCreateAndUpdate(b *testing.B) {
	repo := MustDB(b).Repository()
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
