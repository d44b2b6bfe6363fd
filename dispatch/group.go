package dispatch

import (
	"context"
	"sync"

	"zhengxiang/orders"
)

// groupMax is the most orders one grouped write carries.
const groupMax = 2000

// lane is a queue of changes for grouped writes, with at most one writer at
// work: riders' and stores' answers go in lanes of their own, so that a
// rider's yes never waits behind the stores' answers.
type lane struct {
	mu   sync.Mutex
	q    []*groupReq
	busy bool
}

// groupReq is a change waiting for the next grouped write: fn applied to
// the orders of ids, and where to answer with the error of each.
type groupReq struct {
	ctx  context.Context
	ids  []string
	fn   func(x *orders.Order) ([]orders.Event, error)
	done chan []error
}

// grouped applies fn to the orders of ids as updateMany does, but writes
// together with the changes other goroutines ask for at the same moment: at
// a peak, thousands of stores and riders answer every second, each answer a
// change of one trip or one order, and a write each would cost the database
// a commit each. The first caller to find no writer at work starts one,
// which writes what is waiting, batch after batch, until nothing is; every
// caller waits for the batch that carries its change (group commit). Only
// changes asked for without the engine's lock go this way.
func (e *Engine) grouped(ctx context.Context, l *lane, ids []string, fn func(x *orders.Order) ([]orders.Event, error)) []error {
	if _, ok := e.repo.(orders.BatchUpdater); !ok {
		return e.updateMany(ctx, ids, fn)
	}
	req := &groupReq{ctx: ctx, ids: ids, fn: fn, done: make(chan []error, 1)}
	l.mu.Lock()
	l.q = append(l.q, req)
	lead := !l.busy
	l.busy = true
	l.mu.Unlock()
	if lead {
		go e.writeGroups(l)
	}
	select {
	case errs := <-req.done:
		return errs
	case <-ctx.Done():
		// The write goes on for the others; this caller gives up waiting.
		errs := make([]error, len(ids))
		for i := range errs {
			errs[i] = ctx.Err()
		}
		return errs
	}
}

// writeGroups writes the waiting changes, groupMax orders at a time, until
// none is left.
func (e *Engine) writeGroups(l *lane) {
	for {
		l.mu.Lock()
		var batch []*groupReq
		n := 0
		for len(l.q) > 0 && (n == 0 || n+len(l.q[0].ids) <= groupMax) {
			n += len(l.q[0].ids)
			batch = append(batch, l.q[0])
			l.q = l.q[1:]
		}
		if len(batch) == 0 {
			l.busy = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()

		// The write: each request's ids in turn, and for an order asked for
		// more than once, the callers' functions in turn, each seeing the
		// change of the one before.
		var ids []string
		var from []*groupReq // the request of each id
		for _, r := range batch {
			if err := r.ctx.Err(); err != nil {
				errs := make([]error, len(r.ids))
				for i := range errs {
					errs[i] = err
				}
				r.done <- errs
				continue
			}
			for _, id := range r.ids {
				ids, from = append(ids, id), append(from, r)
			}
		}
		if len(ids) == 0 {
			continue
		}
		fns := map[string][]func(x *orders.Order) ([]orders.Event, error){}
		for j, id := range ids {
			fns[id] = append(fns[id], from[j].fn)
		}
		ctx := context.Background()
		errs, err := e.repo.(orders.BatchUpdater).UpdateOrders(ctx, ids, func(x *orders.Order) ([]orders.Event, error) {
			q := fns[x.ID]
			if len(q) == 0 {
				return nil, orders.Conflict("order %s: no change left to apply", x.ID)
			}
			fns[x.ID] = q[1:]
			return q[0](x)
		})
		if err != nil {
			// The whole write was refused (a concurrent change of one of its
			// orders): each change on its own, in order.
			e.log.Warn("grouped write failed; change by change", "orders", len(ids), "err", err)
			for j, id := range ids {
				_, errs[j] = e.repo.UpdateOrder(ctx, id, from[j].fn)
			}
		}
		answers := map[*groupReq][]error{}
		for j, r := range from {
			answers[r] = append(answers[r], errs[j])
		}
		for r, errs := range answers {
			r.done <- errs
		}
	}
}

// updateGrouped applies fn to one order in a grouped write of the stores'
// lane.
func (e *Engine) updateGrouped(ctx context.Context, id string, fn func(x *orders.Order) ([]orders.Event, error)) error {
	return e.grouped(ctx, &e.storeLane, []string{id}, fn)[0]
}
