package main

import (
	"context"
	"time"

	"zhengxiang/dispatch"
	"zhengxiang/orders"
)

// takeFreeDeliveries takes the free deliveries of 郑享百味 that the orders
// of an intake batch ask for, as CreateOrder does (orders.FreeDeliveries):
// an order of a Flavours store with a fee of 0 takes one from its
// platform's quota of the day of now, by its key, so that a resend takes
// nothing; without one left it is refused (KindConflict, dead-lettered).
// All the batch's takes are one call to q, none when no order asks. list[k]
// is of store sts[k] and of errs[at[k]]; it returns the orders that may be
// submitted and their indexes in errs, having set the others' errors.
func takeFreeDeliveries(ctx context.Context, q orders.QuotaStore, eng *dispatch.Engine, now time.Time,
	list []orders.Order, sts []orders.Store, at []int, errs []error) ([]orders.Order, []int) {
	asks := make([]orders.FreeAsk, len(list))
	for k, o := range list {
		st := sts[k]
		st.Suspended = st.Suspended || !eng.StoreOpen(st.ID) // the engine's, not the cache's
		asks[k] = orders.FreeAsk{Order: o, Store: st, Fee: &list[k].DeliveryFeeCents, At: now}
	}
	_, ferrs := orders.FreeDeliveries(ctx, q, asks)
	ok, okAt := list[:0], at[:0]
	for k, o := range list {
		if ferrs[k] != nil {
			errs[at[k]] = ferrs[k]
			continue
		}
		ok, okAt = append(ok, o), append(okAt, at[k])
	}
	return ok, okAt
}
