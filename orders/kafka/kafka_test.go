package kafka_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/kafka"
	"zhengxiang/orders/orderstest"
)

// The integration tests below need a broker: they find it in ZX_KAFKA_BROKERS (deploy/services.sh
// up writes it to .services.env) and skip without it, unless ZX_REQUIRE_SERVICES=1. Each test
// creates its own topics and consumer group, with random names, and deletes the topics at the end.

// mustBrokers returns the brokers of ZX_KAFKA_BROKERS or skips the test.
func mustBrokers(tb testing.TB) []string {
	tb.Helper()
	brokers := kafka.ParseBrokers(os.Getenv(kafka.EnvBrokers))
	if len(brokers) == 0 {
		if os.Getenv("ZX_REQUIRE_SERVICES") == "1" {
			tb.Fatalf("%s is unset but ZX_REQUIRE_SERVICES=1: start Kafka with deploy/services.sh up and load .services.env", kafka.EnvBrokers)
		}
		tb.Skipf("%s is unset: skipping the Kafka integration test (deploy/services.sh up, then set -a; . ./.services.env)", kafka.EnvBrokers)
	}
	return brokers
}

// random returns a short random hexadecimal string.
func random() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// mustConfig returns a Config on fresh topics with the given number of partitions and a fresh
// group, with fast timings for tests. The topics are deleted when the test ends.
func mustConfig(tb testing.TB, partitions int) kafka.Config {
	tb.Helper()
	brokers := mustBrokers(tb)
	id := "zxtest-" + random()
	cfg := kafka.Config{
		Brokers: brokers,
		GroupID: id,
		Topics: kafka.Topics{Placed: id + ".placed", Locations: id + ".locations", Events: id + ".events",
			DeadLetter: id + ".deadletter"},
		ClientID:       id,
		Logger:         testLogger(tb),
		CommitInterval: 100 * time.Millisecond,
		MaxWait:        100 * time.Millisecond,
		RetryMin:       10 * time.Millisecond,
		RetryMax:       100 * time.Millisecond,
		SessionTimeout: 6 * time.Second,
	}
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafka.EnsureTopics(ctx, brokers, cfg.Topics.Specs(partitions)); err != nil {
		tb.Fatalf("EnsureTopics: %v", err)
	}
	tb.Cleanup(func() { deleteTopics(tb, brokers, cfg.Topics) })
	return cfg
}

func deleteTopics(tb testing.TB, brokers []string, t kafka.Topics) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafka.DeleteTopics(ctx, brokers, t.Placed, t.Locations, t.Events, t.DeadLetter); err != nil {
		tb.Logf("delete topics: %v", err)
	}
}

// testLogger logs to the test at Info and above, with ZX_TEST_DEBUG=1 at Debug.
func testLogger(tb testing.TB) *slog.Logger {
	level := slog.LevelInfo
	if os.Getenv("ZX_TEST_DEBUG") == "1" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: level}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// run starts a consumer's Run in the background and returns the function that stops it and waits
// for Run to return.
func run(tb testing.TB, r interface{ Run(context.Context) error }) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					tb.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				tb.Errorf("Run did not return 30 s after its context was cancelled")
			}
		})
	}
	tb.Cleanup(stop)
	return stop
}

// produce writes raw messages to topic, keyed and partitioned as the Producer does.
func produce(tb testing.TB, cfg kafka.Config, topic string, msgs ...kafkago.Message) {
	tb.Helper()
	// A transport of its own: the shared default one caches the topics it knows for seconds.
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafkago.Writer{Addr: kafkago.TCP(cfg.Brokers...), Topic: topic, Balancer: kafkago.Murmur2Balancer{},
		RequiredAcks: kafkago.RequireAll, BatchTimeout: time.Millisecond, Transport: tr}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		tb.Fatalf("produce to %s: %v", topic, err)
	}
}

// readAll reads n messages from every partition of topic, from the start, and fails the test if
// they do not come within the timeout.
func readAll(tb testing.TB, cfg kafka.Config, topic string, n int) []kafkago.Message {
	tb.Helper()
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: cfg.Brokers, GroupID: "reader-" + random(),
		Topic: topic, StartOffset: kafkago.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []kafkago.Message
	for len(out) < n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			tb.Fatalf("read %s: %d of %d messages: %v", topic, len(out), n, err)
		}
		out = append(out, m)
	}
	return out
}

func header(m kafkago.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// eventually waits up to 30 s for cond, failing the test with what otherwise.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestEnsureTopicsIsIdempotent(t *testing.T) {
	cfg := mustConfig(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Again, with another partition count: the topics stay as they are.
	if err := kafka.EnsureTopics(ctx, cfg.Brokers, cfg.Topics.Specs(5)); err != nil {
		t.Fatalf("EnsureTopics on existing topics: %v", err)
	}
	conn, err := kafkago.DialContext(ctx, "tcp", cfg.Brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions(cfg.Topics.Placed, cfg.Topics.DeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 6 {
		t.Fatalf("%d partitions in two topics, want 2 × 3", len(parts))
	}
}

// lookup is an OrderLookup over a map.
type lookup map[string]orders.Order

func (l lookup) GetOrder(_ context.Context, id string) (orders.Order, error) {
	if o, ok := l[id]; ok {
		return o, nil
	}
	return orders.Order{}, orders.NotFound("order", id)
}

// life returns the first events of order id: created, ticket sent, accepted, offered to r-1.
func life(t *testing.T, id string) (orders.Order, []orders.Event) {
	t.Helper()
	o, created := orderstest.MustNewOrder(t, orderstest.SampleOrder(id))
	at := orderstest.FestivalStart
	evs := []orders.Event{created}
	for _, step := range []func() (orders.Event, error){
		func() (orders.Event, error) { return o.SendTicket(at.Add(time.Minute)) },
		func() (orders.Event, error) { return o.MerchantAccept(at.Add(2 * time.Minute)) },
		func() (orders.Event, error) { return o.Offer(at.Add(3*time.Minute), "r-1", at.Add(4*time.Minute)) },
	} {
		ev, err := step()
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	return o, evs
}

func TestPublisherRoundTrip(t *testing.T) {
	cfg := mustConfig(t, 6)
	known := lookup{}
	var all []orders.Event
	for i := range 5 {
		o, evs := life(t, fmt.Sprintf("O%d", i))
		known[o.ID] = o
		all = append(all, evs...)
	}
	p, err := kafka.NewPublisher(cfg, known)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// One call with everything, then one event per call: both keep each order's order.
	if err := p.Publish(ctx, all[:10]...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	for _, ev := range all[10:] {
		if err := p.Publish(ctx, ev); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	if err := p.Publish(ctx); err != nil {
		t.Fatalf("Publish of nothing: %v", err)
	}

	msgs := readAll(t, cfg, cfg.Topics.Events, len(all))
	partitionOf := map[string]int{}
	lastSeq := map[string]int64{}
	for _, m := range msgs {
		if ct := header(m, kafka.HeaderContentType); ct != kafka.ContentTypeProtobuf {
			t.Errorf("content-type %q, want %q", ct, kafka.ContentTypeProtobuf)
		}
		ev, ref, err := kafka.DecodeEvent(m.Value, header(m, kafka.HeaderContentType))
		if err != nil {
			t.Fatalf("decode the event at %d/%d: %v", m.Partition, m.Offset, err)
		}
		if string(m.Key) != ev.OrderID {
			t.Errorf("key %q, want the order id %q", m.Key, ev.OrderID)
		}
		if want := kafka.RefOf(known[ev.OrderID]); ref != want {
			t.Errorf("event of %s names %+v, want %+v", ev.OrderID, ref, want)
		}
		if p, ok := partitionOf[ev.OrderID]; ok && p != m.Partition {
			t.Errorf("order %s has events in partitions %d and %d", ev.OrderID, p, m.Partition)
		}
		partitionOf[ev.OrderID] = m.Partition
		if ev.Seq != lastSeq[ev.OrderID]+1 {
			t.Errorf("order %s: seq %d after %d", ev.OrderID, ev.Seq, lastSeq[ev.OrderID])
		}
		lastSeq[ev.OrderID] = ev.Seq
	}

	// An order the lookup does not know is the lookup's error, nothing is written.
	if err := p.Publish(ctx, orders.Event{OrderID: "nobody", Seq: 1, Type: orders.EventOrderCreated,
		At: orderstest.FestivalStart, Status: orders.StatusCreated, Delivery: orders.DeliveryUnassigned}); !orders.IsKind(err, orders.KindNotFound) {
		t.Fatalf("Publish for an unknown order: %v, want not found", err)
	}
	// An event the contract cannot carry is invalid.
	bad := all[0]
	bad.Type = "TELEPORTED"
	if err := p.Publish(ctx, bad); !orders.IsKind(err, orders.KindInvalid) {
		t.Fatalf("Publish of a bad event: %v, want invalid", err)
	}
}

func TestPublisherBrokerDown(t *testing.T) {
	cfg := kafka.Config{Brokers: []string{"127.0.0.1:1"}, MaxWait: time.Millisecond}
	p, err := kafka.NewPublisher(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, evs := life(t, "O1")
	err = p.Publish(ctx, evs...)
	if !orders.IsKind(err, orders.KindUnavailable) {
		t.Fatalf("Publish with no broker: %v, want unavailable", err)
	}
	t.Logf("Publish with no broker: %v", err)
}

// countingLookup is a lookup that counts its calls.
type countingLookup struct {
	lookup
	mu    sync.Mutex
	calls []string
}

func (l *countingLookup) GetOrder(ctx context.Context, id string) (orders.Order, error) {
	l.mu.Lock()
	l.calls = append(l.calls, id)
	l.mu.Unlock()
	return l.lookup.GetOrder(ctx, id)
}

// TestPublisherRemember checks that the events of an order the Publisher was told about, or
// already looked up, cost no lookup, and still name their order.
func TestPublisherRemember(t *testing.T) {
	cfg := mustConfig(t, 1)
	told, toldEvs := life(t, "told")
	other, otherEvs := life(t, "other")
	l := &countingLookup{lookup: lookup{told.ID: told, other.ID: other}}
	p, err := kafka.NewPublisher(cfg, l)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Remember(told, orders.Order{}) // an order without an id is skipped
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range toldEvs {
		if err := p.Publish(ctx, toldEvs[i], otherEvs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(l.calls, []string{other.ID}) {
		t.Errorf("lookups %q, want only %s, once", l.calls, other.ID)
	}
	for _, m := range readAll(t, cfg, cfg.Topics.Events, 2*len(toldEvs)) {
		ev, ref, err := kafka.DecodeEvent(m.Value, header(m, kafka.HeaderContentType))
		if err != nil {
			t.Fatal(err)
		}
		if want := kafka.RefOf(l.lookup[ev.OrderID]); ref != want {
			t.Errorf("event %d of %s names %+v, want %+v", ev.Seq, ev.OrderID, ref, want)
		}
	}
}

// placed returns a message for orders.placed, encoded as contentType ("" for no header).
func placed(t *testing.T, o orders.Order, contentType string) kafkago.Message {
	t.Helper()
	b, err := kafka.EncodeOrderPlaced(o, contentType)
	if err != nil {
		t.Fatal(err)
	}
	m := kafkago.Message{Key: []byte(kafka.AreaKey(o.Dropoff)), Value: b}
	if contentType != "" {
		m.Headers = []kafkago.Header{{Key: kafka.HeaderContentType, Value: []byte(contentType)}}
	}
	return m
}

// recorder is an OrderHandler that records what it was given, and refuses store "unknown".
type recorder struct {
	mu  sync.Mutex
	got []orders.Order
	at  []kafka.Meta
}

func (r *recorder) handle(_ context.Context, o orders.Order, m kafka.Meta) error {
	if o.StoreID == "unknown" {
		return fmt.Errorf("intake: %w", orders.NotFound("store", o.StoreID))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, o)
	r.at = append(r.at, m)
	return nil
}

func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, o := range r.got {
		out = append(out, o.PlatformOrderID)
	}
	return out
}

func TestIntakeDeadLetters(t *testing.T) {
	cfg := mustConfig(t, 1) // one partition: the order of the messages is the order of handling
	cfg.Area = geo.Zhengzhou()

	withID := func(id string) orders.Order { return incoming(id) }
	nan := withID("nan")
	nan.Dropoff.Lat = math.NaN()
	far := withID("far") // Beijing, Tian'anmen
	far.Dropoff = geo.Point{Lat: 39.9087, Lng: 116.3975}
	unknown := withID("unknown-store")
	unknown.StoreID = "unknown"

	type want struct{ field, reason string }
	msgs := []kafkago.Message{
		placed(t, withID("good-protobuf"), kafka.ContentTypeProtobuf),
		{Key: []byte("x"), Value: []byte{0xff, 0x00, 0x13}, Headers: []kafkago.Header{{Key: kafka.HeaderContentType, Value: []byte(kafka.ContentTypeProtobuf)}}},
		placed(t, withID("good-json"), kafka.ContentTypeJSON),
		{Key: []byte("y"), Value: []byte(`{"platform":"meituan","platformOrderId":"no-store","items":[{"sku":"a","qty":1}],"dropoff":{"lat":34.75,"lng":113.62},"placedAt":"2020-03-15T02:00:00Z"}`),
			Headers: []kafkago.Header{{Key: "Content-Type", Value: []byte("application/json; charset=utf-8")}}},
		placed(t, nan, ""),
		{Key: []byte("z"), Value: []byte(`{"platform":"meituan","platformOrderId":"lat-91","storeId":"s","items":[{"sku":"a","qty":1}],"dropoff":{"lat":91,"lng":113.62},"placedAt":"2020-03-15T02:00:00Z"}`),
			Headers: []kafkago.Header{{Key: kafka.HeaderContentType, Value: []byte(kafka.ContentTypeJSON)}}},
		placed(t, unknown, kafka.ContentTypeProtobuf),
		placed(t, far, kafka.ContentTypeProtobuf),
		placed(t, withID("good-no-header"), ""),
	}
	wants := []want{
		{"", "undecodable protobuf"},
		{"store_id", "invalid store_id: must not be empty"},
		{"dropoff.lat", "invalid dropoff.lat: NaN is not a coordinate"},
		{"dropoff.lat", "invalid dropoff.lat: 91 is outside [-90, 90]"},
		{"", `store "unknown" not found`},
		{"dropoff", "outside the service area"},
	}
	produce(t, cfg, cfg.Topics.Placed, msgs...)

	var rec recorder
	in, err := kafka.NewIntake(cfg, rec.handle)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, in)
	eventually(t, "three good orders", func() bool { return len(rec.ids()) == 3 })
	eventually(t, "six dead letters", func() bool { return in.Stats().DeadLettered == 6 })
	stop()

	if got := rec.ids(); !slices.Equal(got, []string{"good-protobuf", "good-json", "good-no-header"}) {
		t.Fatalf("handled %q, want the three good orders in order", got)
	}
	for i, o := range rec.got {
		if o.ID != "" || o.District == "" || o.StoreID != "store-1" || len(o.Items) != 2 {
			t.Errorf("order %d handed over as %+v: want no ID, a district, the sample's store and items", i, o)
		}
		if m := rec.at[i]; m.Topic != cfg.Topics.Placed || m.Key != kafka.AreaKey(o.Dropoff) || m.Time.IsZero() {
			t.Errorf("order %d with meta %+v", i, m)
		}
	}
	if st := in.Stats(); st.Handled != 3 || st.Retries != 0 || st.Commits == 0 || st.Generations != 1 {
		t.Errorf("stats %+v: want 3 handled, no retries, some commits, one generation", st)
	}

	dead := readAll(t, cfg, cfg.Topics.DeadLetter, len(wants))
	bad := []kafkago.Message{msgs[1], msgs[3], msgs[4], msgs[5], msgs[6], msgs[7]}
	for i, m := range dead {
		d, err := kafka.DecodeDeadLetter(m.Value)
		if err != nil {
			t.Fatalf("dead letter %d: %v", i, err)
		}
		w, src := wants[i], bad[i]
		if d.Field != w.field || !bytes.Contains([]byte(d.Reason), []byte(w.reason)) {
			t.Errorf("dead letter %d: field %q, reason %q; want %q, %q", i, d.Field, d.Reason, w.field, w.reason)
		}
		if header(m, kafka.HeaderReason) != d.Reason || header(m, kafka.HeaderField) != d.Field ||
			header(m, kafka.HeaderContentType) != kafka.ContentTypeProtobuf {
			t.Errorf("dead letter %d: headers %v do not match %q, %q", i, m.Headers, d.Reason, d.Field)
		}
		if !bytes.Equal(d.Payload, src.Value) || !bytes.Equal(d.Key, src.Key) || !bytes.Equal(m.Key, src.Key) {
			t.Errorf("dead letter %d does not keep the original key and payload", i)
		}
		if d.SourceTopic != cfg.Topics.Placed || d.Partition != 0 || d.At.IsZero() {
			t.Errorf("dead letter %d: source %s/%d at %v", i, d.SourceTopic, d.Partition, d.At)
		}
		if d.ContentType != header(src, kafka.HeaderContentType) && d.ContentType != header(src, "Content-Type") {
			t.Errorf("dead letter %d: content type %q", i, d.ContentType)
		}
	}
}

// TestIntakeRetriesTransientErrors checks that a transient failure holds the partition: the
// message is handled again until it succeeds, and the next one waits for it.
func TestIntakeRetriesTransientErrors(t *testing.T) {
	cfg := mustConfig(t, 1)
	produce(t, cfg, cfg.Topics.Placed, placed(t, incoming("first"), ""), placed(t, incoming("second"), ""))

	var mu sync.Mutex
	var seen []string
	in, err := kafka.NewIntake(cfg, func(ctx context.Context, o orders.Order, m kafka.Meta) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, o.PlatformOrderID)
		if o.PlatformOrderID == "first" && len(seen) <= 3 {
			if len(seen) == 3 {
				return errors.New("a failure without a kind is retried too")
			}
			return orders.Unavailable("the database is down")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, in)
	eventually(t, "the second order", func() bool { return in.Stats().Handled == 2 })
	stop()
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"first", "first", "first", "first", "second"}; !slices.Equal(seen, want) {
		t.Fatalf("handled %q, want %q", seen, want)
	}
	if st := in.Stats(); st.Retries != 3 || st.DeadLettered != 0 {
		t.Fatalf("stats %+v: want 3 retries and no dead letter", st)
	}
}

// TestIntakeCommitsAfterHandling checks at-least-once delivery across restarts: a message whose
// handling was cut short is delivered again to the next member, the ones handled before are not.
func TestIntakeCommitsAfterHandling(t *testing.T) {
	cfg := mustConfig(t, 1)
	var first []orders.Order
	for i := range 10 {
		first = append(first, incoming(fmt.Sprintf("o%d", i)))
	}
	msgs := make([]kafkago.Message, len(first))
	for i, o := range first {
		msgs[i] = placed(t, o, "")
	}
	produce(t, cfg, cfg.Topics.Placed, msgs...)

	// The first member handles o0..o4 and is stopped while it handles o5, which fails with the
	// cancelled context: o5 must not be committed.
	ctx, cancel := context.WithCancel(context.Background())
	var rec1 recorder
	in1, err := kafka.NewIntake(cfg, func(hctx context.Context, o orders.Order, m kafka.Meta) error {
		if o.PlatformOrderID == "o5" {
			cancel()
			<-hctx.Done()
			return hctx.Err()
		}
		return rec1.handle(hctx, o, m)
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- in1.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the first member did not stop")
	}
	if got := rec1.ids(); !slices.Equal(got, []string{"o0", "o1", "o2", "o3", "o4"}) {
		t.Fatalf("the first member handled %q", got)
	}

	// The second member, in the same group, starts at o5.
	var rec2 recorder
	in2, err := kafka.NewIntake(cfg, rec2.handle)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, in2)
	eventually(t, "o5..o9", func() bool { return len(rec2.ids()) >= 5 })
	stop()
	if got := rec2.ids(); !slices.Equal(got, []string{"o5", "o6", "o7", "o8", "o9"}) {
		t.Fatalf("after the restart the group handled %q, want o5..o9 exactly once", got)
	}

	// A third member, after a clean stop, gets nothing again.
	produce(t, cfg, cfg.Topics.Placed, placed(t, incoming("o10"), ""))
	var rec3 recorder
	in3, err := kafka.NewIntake(cfg, rec3.handle)
	if err != nil {
		t.Fatal(err)
	}
	stop = run(t, in3)
	eventually(t, "o10", func() bool { return len(rec3.ids()) >= 1 })
	time.Sleep(300 * time.Millisecond) // room for a wrong redelivery to show
	stop()
	if got := rec3.ids(); !slices.Equal(got, []string{"o10"}) {
		t.Fatalf("after a clean stop the group handled %q, want only the new o10", got)
	}
}

// TestIntakePartitions checks that members see their partitions, and that two members split the
// topic between them.
func TestIntakePartitions(t *testing.T) {
	cfg := mustConfig(t, 6)
	var rec recorder
	in1, err := kafka.NewIntake(cfg, rec.handle)
	if err != nil {
		t.Fatal(err)
	}
	run(t, in1)
	all := []int{0, 1, 2, 3, 4, 5}
	eventually(t, "the first member to own all partitions", func() bool { return slices.Equal(in1.Partitions(), all) })

	in2, err := kafka.NewIntake(cfg, rec.handle)
	if err != nil {
		t.Fatal(err)
	}
	stop2 := run(t, in2)
	eventually(t, "two members to split the partitions", func() bool {
		p1, p2 := in1.Partitions(), in2.Partitions()
		union := slices.Sorted(slices.Values(append(slices.Clone(p1), p2...)))
		return len(p1) == 3 && len(p2) == 3 && slices.Equal(union, all)
	})

	// Orders of all areas reach one of them, each exactly once.
	var list []orders.Order
	var msgs []kafkago.Message
	for i, c := range slices.Collect(func(yield func(geo.Cell) bool) {
		seen := map[geo.Cell]bool{}
		for _, c := range geo.Zhengzhou().Cells() {
			a := c.Parent(geo.AreaRes)
			if !seen[a] {
				seen[a] = true
				if !yield(c) {
					return
				}
			}
		}
	}) {
		o := incoming(fmt.Sprintf("area-%d", i))
		o.Dropoff = c.Center()
		list = append(list, o)
		msgs = append(msgs, placed(t, o, ""))
	}
	produce(t, cfg, cfg.Topics.Placed, msgs...)
	eventually(t, "every order", func() bool { return len(rec.ids()) >= len(list) })
	stop2()
	eventually(t, "the first member to take all partitions back", func() bool { return slices.Equal(in1.Partitions(), all) })
	if got := rec.ids(); len(got) != len(list) {
		t.Fatalf("handled %d orders, want %d", len(got), len(list))
	}
	if g := in1.Stats().Generations; g < 3 {
		t.Errorf("the first member joined %d generations, want 3 (alone, with the second, alone)", g)
	}
}

func TestProducerAndRiderLocations(t *testing.T) {
	cfg := mustConfig(t, 2)
	prod, err := kafka.NewProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	at := orderstest.FestivalStart
	good := []kafka.Location{
		{RiderID: "r-1", Point: orderstest.Erqi, At: at, AccuracyM: 5},
		{RiderID: "r-2", Point: geo.Point{Lat: 34.80, Lng: 113.70}, At: at.Add(time.Second)},
	}
	if err := prod.ReportLocations(ctx, good...); err != nil {
		t.Fatal(err)
	}
	if err := prod.ReportLocations(ctx, kafka.Location{RiderID: "r-3", Point: geo.Point{Lat: math.Inf(1), Lng: 113.7}, At: at}); err != nil {
		t.Fatal(err)
	}
	if err := prod.PlaceOrders(ctx, incoming("via-producer")); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	got := map[string]kafka.Location{}
	rl, err := kafka.NewRiderLocations(cfg, func(_ context.Context, l kafka.Location, m kafka.Meta) error {
		if m.Key != kafka.AreaKey(l.Point) {
			t.Errorf("location of %s keyed %q, want its area %q", l.RiderID, m.Key, kafka.AreaKey(l.Point))
		}
		mu.Lock()
		got[l.RiderID] = l
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var rec recorder
	in, err := kafka.NewIntake(cfg, rec.handle)
	if err != nil {
		t.Fatal(err)
	}
	run(t, rl)
	run(t, in)
	eventually(t, "two locations and a dead letter", func() bool {
		st := rl.Stats()
		return st.Handled == 2 && st.DeadLettered == 1
	})
	eventually(t, "the produced order", func() bool { return len(rec.ids()) == 1 })
	mu.Lock()
	defer mu.Unlock()
	for _, w := range good {
		if l := got[w.RiderID]; l.Point != w.Point || !l.At.Equal(w.At) || l.AccuracyM != w.AccuracyM {
			t.Errorf("rider %s: got %+v, want %+v", w.RiderID, l, w)
		}
	}
	dead := readAll(t, cfg, cfg.Topics.DeadLetter, 1)
	if d, err := kafka.DecodeDeadLetter(dead[0].Value); err != nil || d.Field != "position.lat" || d.SourceTopic != cfg.Topics.Locations {
		t.Errorf("dead letter %+v, %v: want the infinite latitude from %s", d, err, cfg.Topics.Locations)
	}
}

// TestAreasStayTogether checks that two dispatcher processes in one group each get the same
// partitions of orders.placed and riders.locations, hence the orders and the riders of the same
// areas, because their members are ordered by client id.
func TestAreasStayTogether(t *testing.T) {
	cfg := mustConfig(t, 6)
	type process struct {
		in *kafka.Intake
		rl *kafka.RiderLocations
	}
	var procs []process
	// Start them in the order that would cross the partitions if members were ordered at random.
	for _, name := range []string{"b", "a"} {
		c := cfg
		c.ClientID = cfg.ClientID + "-" + name
		in, err := kafka.NewIntake(c, func(context.Context, orders.Order, kafka.Meta) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		rl, err := kafka.NewRiderLocations(c, func(context.Context, kafka.Location, kafka.Meta) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		run(t, rl)
		run(t, in)
		procs = append(procs, process{in, rl})
	}
	eventually(t, "each process to own half of both topics", func() bool {
		for _, p := range procs {
			if len(p.in.Partitions()) != 3 || !slices.Equal(p.in.Partitions(), p.rl.Partitions()) {
				return false
			}
		}
		return true
	})
	if got := procs[1].in.Partitions(); !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("process a owns %v, want the first half", got)
	}
}

// TestWritesKeepPartitionAndOrder checks the writers' two promises: a message goes to the
// partition PartitionOf names for its key, the one Kafka's Java producer would choose, and the
// messages of a partition keep the order of the write, also when they take several requests.
func TestWritesKeepPartitionAndOrder(t *testing.T) {
	cfg := mustConfig(t, 6)
	cfg.BatchSize = 4 // some partitions get 20 or more of the pings: several requests each
	prod, err := kafka.NewProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	points := areaPoints()
	var ls []kafka.Location
	for i := range 120 {
		ls = append(ls, kafka.Location{RiderID: fmt.Sprintf("r-%03d", i), Point: points[i%len(points)],
			At: orderstest.FestivalStart.Add(time.Duration(i) * time.Second)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := prod.ReportLocations(ctx, ls...); err != nil {
		t.Fatal(err)
	}

	last := map[int]int{} // partition → index in ls of its last ping read
	multi := 0            // partitions with more pings than one request holds
	count := map[int]int{}
	for _, m := range readAll(t, cfg, cfg.Topics.Locations, len(ls)) {
		l, err := kafka.DecodeRiderLocation(m.Value, header(m, kafka.HeaderContentType))
		if err != nil {
			t.Fatalf("decode the ping at %d/%d: %v", m.Partition, m.Offset, err)
		}
		var i int
		fmt.Sscanf(l.RiderID, "r-%d", &i)
		if want := kafka.PartitionOf(string(m.Key), 6); m.Partition != want {
			t.Errorf("ping %d keyed %q in partition %d, want %d", i, m.Key, m.Partition, want)
		}
		if prev, ok := last[m.Partition]; ok && i <= prev {
			t.Errorf("partition %d: ping %d after ping %d", m.Partition, i, prev)
		}
		last[m.Partition] = i
		if count[m.Partition]++; count[m.Partition] == cfg.BatchSize+1 {
			multi++
		}
	}
	if multi == 0 {
		t.Fatalf("no partition got more than %d pings: the test does not cover several requests", cfg.BatchSize)
	}
}
