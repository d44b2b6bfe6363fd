package memory_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"zhengxiang/orders"
	"zhengxiang/orders/memory"
	"zhengxiang/orders/orderstest"
)

func TestRepositoryContract(t *testing.T) {
	orderstest.RunRepositoryContract(t, func(t *testing.T) orders.Repository {
		return memory.NewRepository(nil)
	})
}

func TestRepositoryContractPublishing(t *testing.T) {
	orderstest.RunRepositoryContract(t, func(t *testing.T) orders.Repository {
		s := memory.NewStream(16)
		t.Cleanup(s.Close)
		return memory.NewRepository(s)
	})
}

// recorder is a Publisher that keeps what it is sent and fails while fail is set.
type recorder struct {
	mu   sync.Mutex
	evs  []orders.Event
	fail error
}

func (r *recorder) Publish(_ context.Context, evs ...orders.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.evs = append(r.evs, evs...)
	return nil
}

func (r *recorder) events() []orders.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]orders.Event(nil), r.evs...)
}

func create(t *testing.T, repo *memory.Repository, id string) {
	t.Helper()
	o, ev := orderstest.MustNewOrder(t, orderstest.SampleOrder(id))
	if _, _, err := repo.CreateOrder(t.Context(), o, ev); err != nil {
		t.Fatal(err)
	}
}

func offerOrDecline(rider string) func(o *orders.Order) ([]orders.Event, error) {
	at := orderstest.FestivalStart.Add(time.Minute)
	return func(o *orders.Order) ([]orders.Event, error) {
		var ev orders.Event
		var err error
		if o.Delivery == orders.DeliveryUnassigned {
			ev, err = o.Offer(at, rider, at.Add(time.Minute))
		} else {
			ev, err = o.DeclineOffer(at, o.RiderID)
		}
		return []orders.Event{ev}, err
	}
}

// TestPublishesInCommitOrder updates several orders from many goroutines: every committed event is
// published once, by the time its update returns, and each order's events in seq order.
func TestPublishesInCommitOrder(t *testing.T) {
	rec := &recorder{}
	repo := memory.NewRepository(rec)
	const nOrders, workers, perWorker = 3, 6, 40
	for i := range nOrders {
		create(t, repo, fmt.Sprintf("o-%d", i))
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				id := fmt.Sprintf("o-%d", (w+i)%nOrders)
				o, err := repo.UpdateOrder(t.Context(), id, offerOrDecline(fmt.Sprintf("rider-%d", w)))
				if err != nil {
					t.Error(err)
					return
				}
				if !published(rec, id, o.Seq) {
					t.Errorf("UpdateOrder(%s) returned seq %d before publishing it", id, o.Seq)
				}
			}
		})
	}
	wg.Wait()
	evs := rec.events()
	if want := nOrders + workers*perWorker; len(evs) != want {
		t.Fatalf("published %d events, want %d", len(evs), want)
	}
	last := map[string]int64{}
	for _, ev := range evs {
		if ev.Seq != last[ev.OrderID]+1 {
			t.Fatalf("order %s: published seq %d after %d", ev.OrderID, ev.Seq, last[ev.OrderID])
		}
		last[ev.OrderID] = ev.Seq
	}
	if repo.Pending() != 0 {
		t.Errorf("%d events left unpublished", repo.Pending())
	}
}

func published(rec *recorder, id string, seq int64) bool {
	for _, ev := range rec.events() {
		if ev.OrderID == id && ev.Seq == seq {
			return true
		}
	}
	return false
}

// TestPublishFailureKeepsEvents: a commit stands when the stream refuses its events, which wait in
// the outbox until a later write or Flush gets them out, in order.
func TestPublishFailureKeepsEvents(t *testing.T) {
	rec := &recorder{}
	repo := memory.NewRepository(rec)
	create(t, repo, "o-1")
	rec.mu.Lock()
	rec.fail = orders.Unavailable("broker down")
	rec.mu.Unlock()
	o, err := repo.UpdateOrder(t.Context(), "o-1", offerOrDecline("rider-1"))
	if err != nil || o.Seq != 2 {
		t.Fatalf("UpdateOrder while the stream is down = seq %d, %v; want the commit to stand", o.Seq, err)
	}
	if repo.Pending() != 1 {
		t.Errorf("pending = %d, want 1", repo.Pending())
	}
	if err := repo.Flush(t.Context()); !orders.IsKind(err, orders.KindUnavailable) {
		t.Errorf("Flush while the stream is down: %v", err)
	}
	rec.mu.Lock()
	rec.fail = nil
	rec.mu.Unlock()
	if _, err := repo.UpdateOrder(t.Context(), "o-1", offerOrDecline("rider-1")); err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, ev := range rec.events() {
		seqs = append(seqs, ev.Seq)
	}
	if fmt.Sprint(seqs) != "[1 2 3]" || repo.Pending() != 0 {
		t.Errorf("published seqs %v, pending %d; want [1 2 3], 0", seqs, repo.Pending())
	}
}

// TestPublishDespiteCancel: the caller's cancellation after the commit does not lose events.
func TestPublishDespiteCancel(t *testing.T) {
	pub := publisherFunc(func(ctx context.Context, evs ...orders.Event) error { return ctx.Err() })
	repo := memory.NewRepository(pub)
	create(t, repo, "o-1")
	ctx, cancel := context.WithCancel(t.Context())
	if _, err := repo.UpdateOrder(ctx, "o-1", func(o *orders.Order) ([]orders.Event, error) {
		cancel()
		return offerOrDecline("rider-1")(o)
	}); err != nil {
		t.Fatal(err)
	}
	if repo.Pending() != 0 {
		t.Errorf("pending = %d after a cancelled caller's commit", repo.Pending())
	}
}

// TestCreateOrdersPublishes: the events of the orders a batch stores are published by the time
// CreateOrders returns, in the order of the batch and each order's in seq order, as CreateOrder
// and UpdateOrder would; resends, clashes and invalid placements publish nothing.
func TestCreateOrdersPublishes(t *testing.T) {
	rec := &recorder{}
	repo := memory.NewRepository(rec)
	create(t, repo, "o-0")
	at := orderstest.FestivalStart.Add(time.Minute)
	sendTicket := func(o *orders.Order) (orders.Event, error) { return o.SendTicket(at) }
	resend := orderstest.SampleOrder("o-0-resent")
	resend.PlatformOrderID = "o-0"
	invalid := orderstest.MustPlacement(t, orderstest.SampleOrder("o-3"), sendTicket)
	invalid.Order.Seq = 1
	ps := []orders.Placement{
		orderstest.MustPlacement(t, orderstest.SampleOrder("o-1"), sendTicket),
		orderstest.MustPlacement(t, resend),
		invalid,
		orderstest.MustPlacement(t, orderstest.SampleOrder("o-2")),
		orderstest.MustPlacement(t, orderstest.SampleOrder("o-1"), sendTicket),
	}
	if _, err := repo.CreateOrders(t.Context(), ps); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range rec.events() {
		got = append(got, fmt.Sprintf("%s/%d", ev.OrderID, ev.Seq))
	}
	if want := "[o-0/1 o-1/1 o-1/2 o-2/1]"; fmt.Sprint(got) != want || repo.Pending() != 0 {
		t.Errorf("published %v, pending %d; want %s, 0", got, repo.Pending(), want)
	}
	// A stream that refuses the events leaves them in the outbox, and the commit stands.
	rec.mu.Lock()
	rec.fail = orders.Unavailable("broker down")
	rec.mu.Unlock()
	out, err := repo.CreateOrders(t.Context(), []orders.Placement{orderstest.MustPlacement(t, orderstest.SampleOrder("o-4"), sendTicket)})
	if err != nil || !out[0].New || repo.Pending() != 2 {
		t.Errorf("CreateOrders while the stream is down = %+v, %v, pending %d; want stored, 2 pending", out, err, repo.Pending())
	}
}

type publisherFunc func(ctx context.Context, evs ...orders.Event) error

func (f publisherFunc) Publish(ctx context.Context, evs ...orders.Event) error { return f(ctx, evs...) }

func TestCancelledContext(t *testing.T) {
	repo := memory.NewRepository(nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := repo.GetOrder(ctx, "o-1"); !errors.Is(err, context.Canceled) {
		t.Errorf("GetOrder with a cancelled context: %v", err)
	}
}

func BenchmarkUpdateOrder(b *testing.B) {
	repo := memory.NewRepository(memory.NewStream(64))
	const n = 1000
	for i := range n {
		o, ev := orderstest.MustNewOrder(b, orderstest.SampleOrder(fmt.Sprintf("o-%d", i)))
		if _, _, err := repo.CreateOrder(b.Context(), o, ev); err != nil {
			b.Fatal(err)
		}
	}
	fn := offerOrDecline("rider-1")
	i := 0
	for b.Loop() {
		if _, err := repo.UpdateOrder(b.Context(), fmt.Sprintf("o-%d", i%n), fn); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestUpdatePanicReleasesLock: a panicking fn leaves the repository usable and the order unchanged.
func TestUpdatePanicReleasesLock(t *testing.T) {
	repo := memory.NewRepository(nil)
	create(t, repo, "o-1")
	func() {
		defer func() { _ = recover() }()
		_, _ = repo.UpdateOrder(t.Context(), "o-1", func(o *orders.Order) ([]orders.Event, error) {
			o.Seq = 99
			panic("boom")
		})
	}()
	o, err := repo.GetOrder(t.Context(), "o-1")
	if err != nil || o.Seq != 1 {
		t.Errorf("after a panicking update: seq %d, %v", o.Seq, err)
	}
}
