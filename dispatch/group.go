package dispatch

import (
	"context"
	"sync"

	"zhengxiang/orders"
)

// groupMax is the most orders one grouped write carries.
const groupMax = 2000

// errsOf returns n copies of err, the error of each of n changes.
func errsOf(n int, err error) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// batcher is a queue of work for grouped writes, with at most one writer at
// work: the first caller to find none starts one, which writes what is
// waiting, batch after batch, until nothing is (group commit).
type batcher[T any] struct {
	mu   sync.Mutex
	q    []T
	busy bool
}

// add queues x and starts a writer if none is at work. The writer hands
// write what waits, in order, at least one item and at most limit by size.
func (b *batcher[T]) add(x T, size func(T) int, limit int, write func([]T)) {
	b.mu.Lock()
	b.q = append(b.q, x)
	lead := !b.busy
	b.busy = true
	b.mu.Unlock()
	if lead {
		go b.drain(size, limit, write)
	}
}

func (b *batcher[T]) drain(size func(T) int, limit int, write func([]T)) {
	for {
		b.mu.Lock()
		k, n := 0, 0
		for k < len(b.q) && (k == 0 || n+size(b.q[k]) <= limit) {
			n += size(b.q[k])
			k++
		}
		if k == 0 {
			b.busy = false
			b.mu.Unlock()
			return
		}
		batch := b.q[:k:k]
		b.q = b.q[k:]
		b.mu.Unlock()
		write(batch)
	}
}

// lane holds the changes waiting for a grouped write: riders' and stores'
// answers go in lanes of their own, so that a rider's yes never waits
// behind the stores' answers.
type lane = batcher[*groupReq]

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
	l.add(req, func(r *groupReq) int { return len(r.ids) }, groupMax, e.writeGroup)
	select {
	case errs := <-req.done:
		return errs
	case <-ctx.Done():
		// The write goes on for the others; this caller gives up waiting.
		return errsOf(len(ids), ctx.Err())
	}
}

// writeGroup writes a batch of waiting changes in one write.
func (e *Engine) writeGroup(batch []*groupReq) {
	// The write: each request's ids in turn, and for an order asked for
	// more than once, the callers' functions in turn, each seeing the
	// change of the one before.
	var ids []string
	var from []*groupReq // the request of each id
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- errsOf(len(r.ids), err)
			continue
		}
		for _, id := range r.ids {
			ids, from = append(ids, id), append(from, r)
		}
	}
	if len(ids) == 0 {
		return
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

// updateGrouped applies fn to one order in a grouped write of the stores'
// lane.
func (e *Engine) updateGrouped(ctx context.Context, id string, fn func(x *orders.Order) ([]orders.Event, error)) error {
	return e.grouped(ctx, &e.storeLane, []string{id}, fn)[0]
}

// createReq is a batch of new orders waiting for the next grouped write, and
// where to answer.
type createReq struct {
	ps   []orders.Placement
	done chan createRes
}

type createRes struct {
	out []orders.Created
	err error
}

// createGrouped records new orders as bc.CreateOrders does, together with
// the new orders other goroutines hand over at the same moment: the intake
// reads each partition of orders.placed on a goroutine of its own, and at a
// peak each brings a few dozen orders at a time, which one write carries at
// a fraction of the cost of a write each. A failure of the whole write is
// every caller's.
func (e *Engine) createGrouped(ctx context.Context, bc orders.BatchCreator, ps []orders.Placement) ([]orders.Created, error) {
	req := &createReq{ps: ps, done: make(chan createRes, 1)}
	e.creations.add(req, func(r *createReq) int { return len(r.ps) }, groupMax, func(batch []*createReq) {
		var all []orders.Placement
		for _, r := range batch {
			all = append(all, r.ps...)
		}
		out, err := bc.CreateOrders(context.Background(), all)
		for _, r := range batch {
			res := createRes{err: err}
			if err == nil {
				res.out, out = out[:len(r.ps):len(r.ps)], out[len(r.ps):]
			}
			r.done <- res
		}
	})
	select {
	case res := <-req.done:
		return res.out, res.err
	case <-ctx.Done():
		// The write goes on for the others; this caller's orders are
		// recorded or not, and it hands them over again either way.
		return nil, ctx.Err()
	}
}
