package kafka_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/kafka"
	"zhengxiang/orders/orderstest"
)

// areaPoints returns a point in each dispatch area of Zhengzhou's service area, so that messages
// keyed by area reach every partition.
func areaPoints() []geo.Point {
	var out []geo.Point
	seen := map[geo.Cell]bool{}
	for _, c := range geo.Zhengzhou().Cells() {
		if a := c.Parent(geo.AreaRes); !seen[a] {
			seen[a] = true
			out = append(out, c.Center())
		}
	}
	return out
}

// call is one call of a batch handler, as it saw it.
type call struct {
	ids   []string // the platform order ids or rider ids, in order
	metas []kafka.Meta
}

// checkCalls checks what batch handler calls must be whatever the batches: no more than max
// messages, all of one partition, in offset order within and across the calls of the partition.
// It returns the number of messages handed over per partition.
func checkCalls(t *testing.T, calls []call, max int) map[int]int {
	t.Helper()
	last := map[int]int64{}
	per := map[int]int{}
	for n, c := range calls {
		if len(c.metas) == 0 || len(c.metas) > max {
			t.Errorf("call %d: %d messages, want 1 to %d", n, len(c.metas), max)
			continue
		}
		p := c.metas[0].Partition
		for _, m := range c.metas {
			if m.Partition != p {
				t.Errorf("call %d mixes partitions %d and %d", n, p, m.Partition)
			}
			if l, ok := last[p]; ok && m.Offset <= l {
				t.Errorf("call %d: partition %d offset %d after %d", n, p, m.Offset, l)
			}
			last[p] = m.Offset
		}
		per[p] += len(c.metas)
	}
	return per
}

// TestIntakeBatchBurst sends a burst of 2,000 orders with bad messages mixed in: the good orders
// reach the batch handler exactly once, in far fewer calls than messages; the bad ones never
// reach it, or are refused by it, and go to the dead-letter topic with their reason and field.
func TestIntakeBatchBurst(t *testing.T) {
	cfg := mustConfig(t, 6)
	cfg.Area = geo.Zhengzhou()
	cfg.MaxBatch = 250 // below a partition's share of the burst, so that the cap shows
	points := areaPoints()

	type kind struct{ field, reason string }
	var (
		undecodable = kind{"", "undecodable protobuf"}
		noStore     = kind{"store_id", "invalid store_id: must not be empty"}
		outside     = kind{"dropoff", "outside the service area"}
		unknown     = kind{"", `store "unknown" not found`} // refused by the handler
	)
	const good = 2000
	var msgs []kafkago.Message
	badKind := map[string]kind{} // by key
	for i := range good {
		o := incoming(fmt.Sprintf("burst-%04d", i))
		o.Dropoff = points[i%len(points)]
		msgs = append(msgs, placed(t, o, kafka.ContentTypeProtobuf))
		if i%40 != 39 {
			continue
		}
		key := fmt.Sprintf("bad-%04d", i)
		var m kafkago.Message
		switch k := []kind{undecodable, noStore, outside, unknown}[i/40%4]; k {
		case undecodable:
			m = kafkago.Message{Value: []byte{0xff, 0x00, 0x13}}
		case noStore:
			m = kafkago.Message{Value: []byte(`{"platform":"meituan","platformOrderId":"` + key + `","items":[{"sku":"a","qty":1}],"dropoff":{"lat":34.75,"lng":113.62},"placedAt":"2020-03-15T02:00:00Z"}`),
				Headers: []kafkago.Header{{Key: kafka.HeaderContentType, Value: []byte(kafka.ContentTypeJSON)}}}
		case outside:
			o := incoming(key)
			o.Dropoff = geo.Point{Lat: 39.9087, Lng: 116.3975} // Beijing, Tian'anmen
			m = placed(t, o, "")
		case unknown:
			o := incoming(key)
			o.StoreID = "unknown"
			m = placed(t, o, "")
		}
		m.Key = []byte(key)
		badKind[key] = []kind{undecodable, noStore, outside, unknown}[i/40%4]
		msgs = append(msgs, m)
	}
	produce(t, cfg, cfg.Topics.Placed, msgs...)

	var mu sync.Mutex
	var calls []call
	in, err := kafka.NewIntakeBatch(cfg, func(_ context.Context, os []orders.Order, ms []kafka.Meta) []error {
		var errs []error
		c := call{metas: slices.Clone(ms)}
		for i, o := range os {
			c.ids = append(c.ids, o.PlatformOrderID)
			if o.District == "" {
				t.Errorf("order %s handed over without its district", o.PlatformOrderID)
			}
			if o.StoreID == "unknown" {
				if errs == nil {
					errs = make([]error, len(os))
				}
				errs[i] = fmt.Errorf("intake: %w", orders.NotFound("store", o.StoreID))
			}
		}
		mu.Lock()
		calls = append(calls, c)
		mu.Unlock()
		return errs
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, in)
	eventually(t, "the burst", func() bool {
		st := in.Stats()
		return st.Handled >= good && st.DeadLettered >= int64(len(badKind))
	})
	stop()

	mu.Lock()
	defer mu.Unlock()
	per := checkCalls(t, calls, cfg.MaxBatch)
	times := map[string]int{}
	for _, c := range calls {
		for _, id := range c.ids {
			times[id]++
		}
	}
	for i := range good {
		if id := fmt.Sprintf("burst-%04d", i); times[id] != 1 {
			t.Errorf("order %s handed over %d times, want once", id, times[id])
		}
		delete(times, fmt.Sprintf("burst-%04d", i))
	}
	for id, n := range times {
		if k, ok := badKind[id]; !ok || k != unknown || n != 1 {
			t.Errorf("%s reached the handler %d times; only the orders of an unknown store should, once", id, n)
		}
	}
	handedOver := 0
	for _, n := range per {
		handedOver += n
	}
	t.Logf("%d messages in %d handler calls (%.0f a call), %d partitions", handedOver, len(calls),
		float64(handedOver)/float64(len(calls)), len(per))
	if len(calls)*10 > handedOver {
		t.Errorf("%d handler calls for %d messages: want batches of 10 or more on average", len(calls), handedOver)
	}
	if len(per) != 6 {
		t.Errorf("orders from %d partitions, want all 6", len(per))
	}
	if st := in.Stats(); st.Handled != good || st.DeadLettered != int64(len(badKind)) || st.Retries != 0 ||
		st.Batches != int64(len(calls)) || st.Commits == 0 || st.Generations != 1 {
		t.Errorf("stats %+v: want %d handled, %d dead-lettered, no retries, %d batches, some commits, one generation",
			st, good, len(badKind), len(calls))
	}

	// Every bad message is dead-lettered once, with its reason and field; taken and dead-lettered
	// messages together are the whole of each partition.
	offsets := map[int][]int64{}
	for _, c := range calls {
		for i, m := range c.metas {
			if badKind[c.ids[i]] != unknown { // refused ones are counted with the dead letters
				offsets[m.Partition] = append(offsets[m.Partition], m.Offset)
			}
		}
	}
	dead := readAll(t, cfg, cfg.Topics.DeadLetter, len(badKind))
	seen := map[string]bool{}
	for _, m := range dead {
		d, err := kafka.DecodeDeadLetter(m.Value)
		if err != nil {
			t.Fatalf("dead letter at %d/%d: %v", m.Partition, m.Offset, err)
		}
		k, ok := badKind[string(d.Key)]
		switch {
		case !ok:
			t.Errorf("dead letter for %q, which is not a bad message: %s", d.Key, d.Reason)
			continue
		case seen[string(d.Key)]:
			t.Errorf("%s dead-lettered twice", d.Key)
		}
		seen[string(d.Key)] = true
		if d.Field != k.field || !strings.Contains(d.Reason, k.reason) || header(m, kafka.HeaderReason) != d.Reason {
			t.Errorf("dead letter of %s: field %q, reason %q; want %q, %q", d.Key, d.Field, d.Reason, k.field, k.reason)
		}
		offsets[d.Partition] = append(offsets[d.Partition], d.Offset)
	}
	for p, offs := range offsets {
		slices.Sort(offs)
		for i, o := range offs {
			if o != int64(i) {
				t.Errorf("partition %d: offset %d is number %d of the messages taken or dead-lettered: one was missed or repeated", p, o, i)
				break
			}
		}
	}
}

// committed returns the group's committed offset of a partition of topic (-1 when none).
func committed(t *testing.T, cfg kafka.Config, topic string, partition int) int64 {
	t.Helper()
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafkago.Client{Addr: kafkago.TCP(cfg.Brokers...), Transport: tr, Timeout: 10 * time.Second}
	res, err := c.OffsetFetch(context.Background(), &kafkago.OffsetFetchRequest{GroupID: cfg.GroupID,
		Topics: map[string][]int{topic: {partition}}})
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	if res.Error != nil {
		t.Fatalf("offset fetch: %v", res.Error)
	}
	for _, p := range res.Topics[topic] {
		if p.Partition == partition {
			if p.Error != nil {
				t.Fatalf("offset fetch of %s/%d: %v", topic, partition, p.Error)
			}
			return p.CommittedOffset
		}
	}
	t.Fatalf("offset fetch: no answer for %s/%d", topic, partition)
	return 0
}

// TestIntakeBatchRetriesTransientItems checks that a transient error on one order of a batch
// holds the partition: the orders after it in the batch are taken, but only the failing one is
// handed over again until it is taken, nothing after the batch is handled meanwhile, and the
// committed offset stays at the failing order. A refusal in the same batch is dead-lettered at
// once.
func TestIntakeBatchRetriesTransientItems(t *testing.T) {
	cfg := mustConfig(t, 1)
	produce(t, cfg, cfg.Topics.Placed, placed(t, incoming("o0"), ""))

	first := make(chan struct{})
	resume := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	var calls []call
	var failures atomic.Int64
	in, err := kafka.NewIntakeBatch(cfg, func(_ context.Context, os []orders.Order, ms []kafka.Meta) []error {
		c := call{metas: slices.Clone(ms)}
		errs := make([]error, len(os))
		for i, o := range os {
			c.ids = append(c.ids, o.PlatformOrderID)
			switch o.PlatformOrderID {
			case "o3":
				select {
				case <-release:
				default:
					failures.Add(1)
					errs[i] = orders.Unavailable("the database is down")
				}
			case "o5":
				errs[i] = orders.Conflict("order o5 clashes with another")
			}
		}
		mu.Lock()
		calls = append(calls, c)
		n := len(calls)
		mu.Unlock()
		if n == 1 {
			// Hold the first batch, o0 alone, until o1..o9 wait in the consumer: they make the
			// next batch.
			close(first)
			<-resume
		}
		return errs
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, in)
	select {
	case <-first:
	case <-time.After(30 * time.Second):
		t.Fatal("the first order did not come")
	}
	var rest []kafkago.Message
	for i := 1; i < 10; i++ {
		rest = append(rest, placed(t, incoming(fmt.Sprintf("o%d", i)), ""))
	}
	produce(t, cfg, cfg.Topics.Placed, rest...)
	time.Sleep(time.Second) // several fetches (MaxWait is 100 ms)
	close(resume)

	eventually(t, "three failures of o3", func() bool { return failures.Load() >= 3 })
	time.Sleep(5 * cfg.CommitInterval)
	st := in.Stats()
	if st.Handled != 8 || st.DeadLettered != 1 {
		t.Errorf("while o3 fails, stats %+v: want the other 8 orders taken and o5 dead-lettered", st)
	}
	if got := committed(t, cfg, cfg.Topics.Placed, 0); got != 3 {
		t.Errorf("while o3 (offset 3) fails, the committed offset is %d, want 3", got)
	}
	close(release)
	eventually(t, "o3", func() bool { return in.Stats().Handled == 9 })
	time.Sleep(5 * cfg.CommitInterval)
	if got := committed(t, cfg, cfg.Topics.Placed, 0); got != 10 {
		t.Errorf("once o3 is taken, the committed offset is %d, want 10", got)
	}
	stop()

	mu.Lock()
	defer mu.Unlock()
	if len(calls) < 5 {
		t.Fatalf("%d calls, want o0, o1..o9, then o3 at least three times", len(calls))
	}
	if want := []string{"o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8", "o9"}; !slices.Equal(calls[1].ids, want) {
		t.Fatalf("second batch %q, want %q", calls[1].ids, want)
	}
	for i, c := range calls[2:] {
		if !slices.Equal(c.ids, []string{"o3"}) || c.metas[0].Offset != 3 {
			t.Errorf("call %d after the failure: %q, want o3 (offset 3) alone", i+2, c.ids)
		}
	}
	st = in.Stats()
	if n := failures.Load(); st.Retries != n || st.Batches != int64(len(calls)) || st.DeadLettered != 1 {
		t.Errorf("stats %+v: want %d retries, %d batches, one dead letter", st, n, len(calls))
	}
	dead := readAll(t, cfg, cfg.Topics.DeadLetter, 1)
	if d, err := kafka.DecodeDeadLetter(dead[0].Value); err != nil || d.Offset != 5 || !strings.Contains(d.Reason, "clashes") {
		t.Errorf("dead letter %+v, %v: want o5 (offset 5) and its conflict", d, err)
	}
}

// TestIntakeBatchBadResult checks that a handler that returns the wrong number of errors has
// its batch handed over again, as after a transient error, instead of having it taken.
func TestIntakeBatchBadResult(t *testing.T) {
	cfg := mustConfig(t, 1)
	produce(t, cfg, cfg.Topics.Placed, placed(t, incoming("o0"), ""))
	var n atomic.Int64
	in, err := kafka.NewIntakeBatch(cfg, func(_ context.Context, os []orders.Order, _ []kafka.Meta) []error {
		if n.Add(1) == 1 {
			return make([]error, len(os)+1)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, in)
	eventually(t, "o0", func() bool { return in.Stats().Handled == 1 })
	stop()
	if st := in.Stats(); n.Load() != 2 || st.Retries != 1 {
		t.Errorf("%d calls, stats %+v: want the batch handed over twice and one retry", n.Load(), st)
	}
}

// TestRiderLocationsBatch checks the batch consumer of rider positions: every good position
// reaches the handler once, each rider's in the order they were sent, in far fewer calls than
// messages, and the bad ones go to the dead-letter topic.
func TestRiderLocationsBatch(t *testing.T) {
	cfg := mustConfig(t, 3)
	prod, err := kafka.NewProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	points := areaPoints()
	const riders, pings = 100, 10
	var ls []kafka.Location
	for i := range pings {
		for r := range riders {
			p := points[r%len(points)] // each rider stays in one area, hence one partition
			ls = append(ls, kafka.Location{RiderID: fmt.Sprintf("r-%03d", r), Point: p,
				At: orderstest.FestivalStart.Add(time.Duration(i) * time.Second), AccuracyM: float64(i)})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := prod.ReportLocations(ctx, ls...); err != nil {
		t.Fatal(err)
	}
	if err := prod.ReportLocations(ctx, kafka.Location{RiderID: "r-bad", Point: geo.Point{Lat: math.Inf(1), Lng: 113.7}, At: orderstest.FestivalStart}); err != nil {
		t.Fatal(err)
	}
	produce(t, cfg, cfg.Topics.Locations, kafkago.Message{Key: []byte("no-rider"),
		Value:   []byte(`{"position":{"lat":34.75,"lng":113.62},"at":"2020-03-15T02:00:00Z"}`),
		Headers: []kafkago.Header{{Key: kafka.HeaderContentType, Value: []byte(kafka.ContentTypeJSON)}}})

	var mu sync.Mutex
	var calls []call
	got := map[string][]kafka.Location{}
	rl, err := kafka.NewRiderLocationsBatch(cfg, func(_ context.Context, ls []kafka.Location, ms []kafka.Meta) []error {
		c := call{metas: slices.Clone(ms)}
		mu.Lock()
		defer mu.Unlock()
		for i, l := range ls {
			if ms[i].Key != kafka.AreaKey(l.Point) {
				t.Errorf("location of %s keyed %q, want its area %q", l.RiderID, ms[i].Key, kafka.AreaKey(l.Point))
			}
			c.ids = append(c.ids, l.RiderID)
			got[l.RiderID] = append(got[l.RiderID], l)
		}
		calls = append(calls, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, rl)
	eventually(t, "every position and two dead letters", func() bool {
		st := rl.Stats()
		return st.Handled >= riders*pings && st.DeadLettered >= 2
	})
	stop()

	mu.Lock()
	defer mu.Unlock()
	checkCalls(t, calls, cfg.MaxBatch)
	for r := range riders {
		id := fmt.Sprintf("r-%03d", r)
		if len(got[id]) != pings {
			t.Errorf("rider %s: %d positions, want %d", id, len(got[id]), pings)
			continue
		}
		for i, l := range got[id] {
			if want := ls[i*riders+r]; l.Point != want.Point || !l.At.Equal(want.At) || l.AccuracyM != want.AccuracyM {
				t.Errorf("rider %s: position %d is %+v, want %+v", id, i, l, want)
			}
		}
	}
	t.Logf("%d positions in %d handler calls", riders*pings, len(calls))
	if len(calls)*10 > riders*pings {
		t.Errorf("%d handler calls for %d positions: want batches of 10 or more on average", len(calls), riders*pings)
	}
	if st := rl.Stats(); st.Handled != riders*pings || st.DeadLettered != 2 || st.Batches != int64(len(calls)) {
		t.Errorf("stats %+v: want %d handled, 2 dead-lettered, %d batches", st, riders*pings, len(calls))
	}
	fields := map[string]bool{}
	for _, m := range readAll(t, cfg, cfg.Topics.DeadLetter, 2) {
		d, err := kafka.DecodeDeadLetter(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		fields[d.Field] = true
	}
	if !fields["position.lat"] || !fields["rider_id"] {
		t.Errorf("dead letters on fields %v, want position.lat and rider_id", fields)
	}
}

func TestConfigMaxBatch(t *testing.T) {
	for _, tc := range []struct {
		in, want int
		bad      bool
	}{{0, 500, false}, {1, 1, false}, {10_000, 10_000, false}, {-1, 0, true}, {10_001, 0, true}} {
		cfg := kafka.Config{Brokers: []string{"127.0.0.1:9092"}, MaxBatch: tc.in}
		err := cfg.Validate()
		switch {
		case tc.bad && (!orders.IsKind(err, orders.KindInvalid) || !strings.Contains(err.Error(), "kafka.max_batch")):
			t.Errorf("MaxBatch %d: %v, want an invalid kafka.max_batch", tc.in, err)
		case !tc.bad && (err != nil || cfg.MaxBatch != tc.want):
			t.Errorf("MaxBatch %d: %v and %d, want %d", tc.in, err, cfg.MaxBatch, tc.want)
		}
	}
}
