package memory_test

import (
	"context"
	"testing"
	"time"

	"zhengxiang/orders"
	"zhengxiang/orders/memory"
)

func ev(seq int64) orders.Event {
	return orders.Event{OrderID: "o-1", Seq: seq, Type: orders.EventOffered}
}

// receive reads n events from ch, failing after a second without one.
func receive(t *testing.T, ch <-chan orders.Event, n int) []int64 {
	t.Helper()
	var seqs []int64
	for len(seqs) < n {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %v, want %d events", seqs, n)
			}
			seqs = append(seqs, e.Seq)
		case <-time.After(time.Second):
			t.Fatalf("got %v, waiting for %d events", seqs, n)
		}
	}
	return seqs
}

func wantSeqs(t *testing.T, got []int64, from, to int64) {
	t.Helper()
	if len(got) != int(to-from+1) {
		t.Fatalf("got seqs %v, want %d..%d", got, from, to)
	}
	for i, s := range got {
		if s != from+int64(i) {
			t.Fatalf("got seqs %v, want %d..%d", got, from, to)
		}
	}
}

func wantClosed(t *testing.T, ch <-chan orders.Event) {
	t.Helper()
	select {
	case e, ok := <-ch:
		if ok {
			t.Fatalf("got %+v, want the channel closed", e)
		}
	case <-time.After(time.Second):
		t.Fatalf("channel not closed")
	}
}

func TestStreamFanOut(t *testing.T) {
	s := memory.NewStream(4)
	defer s.Close()
	ctx := t.Context()
	if err := s.Publish(ctx, ev(1), ev(2)); err != nil {
		t.Fatal(err)
	}
	live := s.Subscribe(ctx, false)
	replay := s.Subscribe(ctx, true)
	if err := s.Publish(ctx, ev(3)); err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx, ev(4), ev(5)); err != nil {
		t.Fatal(err)
	}
	wantSeqs(t, receive(t, live, 3), 3, 5)
	wantSeqs(t, receive(t, replay, 5), 1, 5)
	if s.Len() != 5 {
		t.Errorf("Len = %d, want 5", s.Len())
	}
}

// TestStreamSlowSubscriber: a subscriber that does not read holds up neither the publisher nor the
// other subscribers, and later gets every event.
func TestStreamSlowSubscriber(t *testing.T) {
	s := memory.NewStream(2)
	defer s.Close()
	ctx := t.Context()
	slow := s.Subscribe(ctx, false)
	fast := s.Subscribe(ctx, false)
	const n = 1000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range int64(n) {
			if err := s.Publish(ctx, ev(i+1)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wantSeqs(t, receive(t, fast, n), 1, n)
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("publisher blocked by a slow subscriber")
	}
	wantSeqs(t, receive(t, slow, n), 1, n)
}

func TestStreamCancel(t *testing.T) {
	s := memory.NewStream(1)
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	ch := s.Subscribe(ctx, false)
	if err := s.Publish(t.Context(), ev(1), ev(2), ev(3)); err != nil {
		t.Fatal(err)
	}
	cancel()
	// What was buffered may still arrive; then the channel closes.
	for i := 0; ; i++ {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
			if i > 3 {
				t.Fatal("channel still open after cancel")
			}
		case <-time.After(time.Second):
			t.Fatal("channel not closed after cancel")
		}
	}
}

func TestStreamClose(t *testing.T) {
	s := memory.NewStream(1)
	ctx := t.Context()
	idle := s.Subscribe(ctx, false)
	if err := s.Publish(ctx, ev(1), ev(2), ev(3)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close() // closing twice is harmless
	if err := s.Publish(ctx, ev(4)); !orders.IsKind(err, orders.KindUnavailable) {
		t.Errorf("Publish after Close: %v, want unavailable", err)
	}
	// A subscription delivers what was published before Close, then ends.
	wantSeqs(t, receive(t, idle, 3), 1, 3)
	wantClosed(t, idle)
	late := s.Subscribe(ctx, true)
	wantSeqs(t, receive(t, late, 3), 1, 3)
	wantClosed(t, late)
	wantClosed(t, s.Subscribe(ctx, false))
}

// TestStreamWithRepository: a subscriber sees a repository's changes in commit order.
func TestStreamWithRepository(t *testing.T) {
	s := memory.NewStream(8)
	defer s.Close()
	sub := s.Subscribe(t.Context(), true)
	repo := memory.NewRepository(s)
	create(t, repo, "o-1")
	for range 4 {
		if _, err := repo.UpdateOrder(t.Context(), "o-1", offerOrDecline("rider-1")); err != nil {
			t.Fatal(err)
		}
	}
	wantSeqs(t, receive(t, sub, 5), 1, 5)
}
