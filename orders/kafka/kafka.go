// Package kafka is Zhengxiang's adapter to Apache Kafka, on segmentio/kafka-go: the topics of the
// stream contract (api/proto/zhengxiang/v1/stream.proto), their codecs, the Publisher of order
// events, the Producer of placed orders and rider locations, and the consumers that feed the
// dispatcher, Intake and RiderLocations. No other package imports kafka-go.
//
// # Topics and keys
//
// orders.placed and riders.locations are keyed by dispatch area (AreaKey), so that each member
// of the consumer group owns whole areas; orders.events is keyed by order id, so that the events
// of one order stay in one partition, in seq order; orders.deadletter is keyed like the message
// it holds. Every writer of this package partitions with murmur2, as Kafka's Java producer does,
// so that a platform producing with the Java client puts an area in the same partition.
//
// # Delivery
//
// Delivery is at least once, end to end. A consumer hands a partition's messages to its handler
// in batches (Config.MaxBatch) and settles each message on its own: it commits a message's
// offset only after the handler took it or it was written to orders.deadletter, together with
// every message before it, so a message that keeps failing holds its partition's offset. It
// commits periodically (Config.CommitInterval), so after a crash, or when a partition moves to
// another member, the messages handled since the last commit are delivered again. Handlers must
// therefore be idempotent: creating an order is, by the platform's order key (orders.Order.Key),
// and a rider's position is, by its time. A clean shutdown (Run returning) commits everything
// handled, so a restart redelivers nothing.
//
// The Publisher returns only after every broker in the in-sync replica set has the events. When a
// write is retried the broker may keep two copies, so readers of orders.events apply an event
// only when its seq is past the last one they applied for that order.
package kafka

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"zhengxiang/geo"
	"zhengxiang/orders"
)

// The default topic names.
const (
	TopicPlaced     = "orders.placed"     // OrderPlaced from platforms and the REST API
	TopicLocations  = "riders.locations"  // RiderLocation from riders' apps
	TopicEvents     = "orders.events"     // OrderEvent to platforms, tracking and statistics
	TopicDeadLetter = "orders.deadletter" // DeadLetter: what the consumers could not take
)

// EnvBrokers is the environment variable that lists the brokers, comma-separated, for the
// binaries and the integration tests.
const EnvBrokers = "ZX_KAFKA_BROKERS"

// DefaultGroupID is the consumer group of the dispatchers when Config.GroupID is empty.
const DefaultGroupID = "zhengxiang-dispatch"

// DefaultPartitions is the number of partitions EnsureTopics gives a topic when its TopicSpec
// says none: a few dispatchers can share a city's areas, and more partitions can be added when
// the group grows (which moves areas between partitions once).
const DefaultPartitions = 6

// maxMaxBatch bounds Config.MaxBatch: a batch is meant to go into one database transaction, and
// larger ones only hold the partition longer when one of its messages fails.
const maxMaxBatch = 10_000

// Topics names the four topics of the stream contract. An empty name takes the default.
type Topics struct {
	Placed, Locations, Events, DeadLetter string
}

// Config configures the Publisher, the Producer and the consumers. Validate fills the defaults;
// every constructor calls it on its own copy.
type Config struct {
	// Brokers are the addresses, "host:port", of some of the cluster's brokers; required.
	Brokers []string

	// GroupID is the consumer group that Intake and RiderLocations join (DefaultGroupID when
	// empty). Every dispatcher of a deployment uses the same one.
	GroupID string
	// LocationsGroupID, when set, is the consumer group of RiderLocations instead of GroupID:
	// a dispatcher that shares its areas with others gives it a group of its own, so that it
	// reads every rider's position whatever the area, and a new group starts at the end of
	// riders.locations.
	LocationsGroupID string

	// Topics names the topics; empty names take TopicPlaced, TopicLocations, TopicEvents and
	// TopicDeadLetter.
	Topics Topics

	// EventsJSON makes the Publisher write events in the JSON form of OrderEvent instead of
	// protobuf, for readers that prefer it; the content-type header says which.
	EventsJSON bool

	// TopicPrefix, when set, is put before the default name of every topic left unnamed in
	// Topics, so that several deployments (or tests) can share a cluster.
	TopicPrefix string

	// ClientID names this process to the brokers, in their logs and quotas. When empty it is
	// "zhengxiang-<host>-<pid>", unique per process, which the group needs: its members are
	// ordered by client id before partitions are handed out by range, so that one process's
	// Intake and RiderLocations get the same partition numbers of their two topics, hence the
	// orders and the riders of the same areas. Processes sharing one ClientID lose that.
	ClientID string

	// Area, when set, is the service area: Intake sends an order whose dropoff lies outside to
	// the dead-letter topic without calling its handler, and fills Order.District for the others.
	Area *geo.Area

	// Logger receives the reports of the consumers and writers (nothing is logged when nil).
	Logger *slog.Logger

	// BatchTimeout is how long the dead-letter writer waits for more messages to fill a batch
	// before it sends one (5 ms when zero); a dead-letter write waits for it once.
	BatchTimeout time.Duration

	// BatchSize is the most messages a writer sends to one partition in one request (100 when
	// zero). A write sends larger shares of a partition in several requests, one after the
	// other, and stops at the first that fails, so a failed write never leaves a later message
	// of a key stored and an earlier one not.
	BatchSize int

	// CommitInterval is how often a consumer commits the offsets it has handled (1 s when zero).
	// It bounds what a crash makes the group handle twice.
	CommitInterval time.Duration

	// MaxWait is the longest a consumer's fetch waits on the broker for new messages (500 ms
	// when zero).
	MaxWait time.Duration

	// MaxBatch is the most messages of one partition that a consumer hands to its handler in one
	// call (500 when zero, at most 10,000). The consumer never waits to fill a batch: it takes
	// what has been fetched when the handler is free, so batches are single messages when the
	// stream is quiet and grow with the load. It also sets how far a partition is read ahead of
	// its handler, about two batches, so it bounds the memory of a consumer too.
	MaxBatch int

	// RetryMin and RetryMax bound the backoff between two attempts at a message whose handler
	// failed with a transient error (100 ms and 10 s when zero); the wait doubles from RetryMin
	// up to RetryMax.
	RetryMin, RetryMax time.Duration

	// SessionTimeout is how long the group waits for a silent member before it gives its
	// partitions to the others (10 s when zero).
	SessionTimeout time.Duration
}

// Validate checks c and fills its defaults. The error is a KindInvalid orders.Error naming the
// field, like "kafka.brokers".
func (c *Config) Validate() error {
	brokers := make([]string, 0, len(c.Brokers))
	for _, b := range c.Brokers {
		if b = strings.TrimSpace(b); b == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			return orders.Invalid("kafka.brokers", "%q is not host:port", b)
		}
		brokers = append(brokers, b)
	}
	if len(brokers) == 0 {
		return orders.Invalid("kafka.brokers", "no broker given (set %s)", EnvBrokers)
	}
	c.Brokers = brokers
	c.GroupID = cmp.Or(c.GroupID, DefaultGroupID)
	if c.ClientID == "" {
		c.ClientID = defaultClientID()
	}
	c.Topics.Placed = cmp.Or(c.Topics.Placed, c.TopicPrefix+TopicPlaced)
	c.Topics.Locations = cmp.Or(c.Topics.Locations, c.TopicPrefix+TopicLocations)
	c.Topics.Events = cmp.Or(c.Topics.Events, c.TopicPrefix+TopicEvents)
	c.Topics.DeadLetter = cmp.Or(c.Topics.DeadLetter, c.TopicPrefix+TopicDeadLetter)
	seen := map[string]string{}
	for _, t := range [...]struct{ field, name string }{
		{"kafka.topics.placed", c.Topics.Placed},
		{"kafka.topics.locations", c.Topics.Locations},
		{"kafka.topics.events", c.Topics.Events},
		{"kafka.topics.dead_letter", c.Topics.DeadLetter},
	} {
		if err := checkTopic(t.field, t.name); err != nil {
			return err
		}
		if other, dup := seen[t.name]; dup {
			return orders.Invalid(t.field, "%q is also %s", t.name, other)
		}
		seen[t.name] = t.field
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	for _, d := range [...]struct {
		field string
		v     *time.Duration
		def   time.Duration
	}{
		{"kafka.batch_timeout", &c.BatchTimeout, 5 * time.Millisecond},
		{"kafka.commit_interval", &c.CommitInterval, time.Second},
		{"kafka.max_wait", &c.MaxWait, 500 * time.Millisecond},
		{"kafka.retry_min", &c.RetryMin, 100 * time.Millisecond},
		{"kafka.retry_max", &c.RetryMax, 10 * time.Second},
		{"kafka.session_timeout", &c.SessionTimeout, 10 * time.Second},
	} {
		if *d.v < 0 {
			return orders.Invalid(d.field, "%v is negative", *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.RetryMin > c.RetryMax {
		return orders.Invalid("kafka.retry_min", "%v is more than retry_max %v", c.RetryMin, c.RetryMax)
	}
	if c.MaxWait < time.Millisecond {
		return orders.Invalid("kafka.max_wait", "%v is less than a millisecond", c.MaxWait)
	}
	if c.BatchSize < 0 {
		return orders.Invalid("kafka.batch_size", "%d is negative", c.BatchSize)
	}
	if c.BatchSize == 0 {
		c.BatchSize = 100
	}
	switch {
	case c.MaxBatch < 0:
		return orders.Invalid("kafka.max_batch", "%d is negative", c.MaxBatch)
	case c.MaxBatch > maxMaxBatch:
		return orders.Invalid("kafka.max_batch", "%d is more than %d", c.MaxBatch, maxMaxBatch)
	case c.MaxBatch == 0:
		c.MaxBatch = 500
	}
	return nil
}

// checkTopic reports a name that Kafka refuses: empty, "." or "..", longer than 249 characters,
// or with a character other than ASCII letters, digits, '.', '_' and '-'.
func checkTopic(field, name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 249 {
		return orders.Invalid(field, "%q is not a topic name", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return orders.Invalid(field, "%q is not a topic name: %q is not allowed", name, r)
		}
	}
	return nil
}

// defaultClientID returns "zhengxiang-<host>-<pid>", keeping to the characters that every
// broker version accepts.
func defaultClientID() string {
	host, _ := os.Hostname()
	id := []byte(fmt.Sprintf("zhengxiang-%s-%d", host, os.Getpid()))
	for i, b := range id {
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '.' || b == '_' || b == '-') {
			id[i] = '_'
		}
	}
	return string(id)
}

// ParseBrokers splits a comma-separated list of brokers, as EnvBrokers holds it, dropping
// spaces and empty entries.
func ParseBrokers(s string) []string {
	var out []string
	for b := range strings.SplitSeq(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// TopicSpec describes a topic for EnsureTopics.
type TopicSpec struct {
	// Name is the topic's name; required.
	Name string
	// Partitions is the number of partitions (DefaultPartitions when zero).
	Partitions int
	// Replicas is the replication factor (when zero, three or the number of brokers if fewer).
	Replicas int
	// Configs are topic settings such as "retention.ms"; nil keeps the broker's defaults.
	Configs map[string]string
}

// Specs returns the specs of the four topics with the given number of partitions, zero for
// DefaultPartitions. The dead-letter topic keeps its messages for 30 days, so that an operator
// has time to look at them.
func (t Topics) Specs(partitions int) []TopicSpec {
	return []TopicSpec{
		{Name: t.Placed, Partitions: partitions},
		{Name: t.Locations, Partitions: partitions},
		{Name: t.Events, Partitions: partitions},
		{Name: t.DeadLetter, Partitions: partitions, Configs: map[string]string{
			"retention.ms": strconv.FormatInt((30 * 24 * time.Hour).Milliseconds(), 10)}},
	}
}

// EnsureTopics creates the topics that do not exist yet, on the cluster's controller, and waits
// until every partition of every topic has a leader. It is idempotent: a topic that exists is
// left as it is, even with another number of partitions (changing it would move dispatch areas
// between partitions; that is an operator's decision). The context bounds the whole operation.
func EnsureTopics(ctx context.Context, brokers []string, topics []TopicSpec) error {
	if len(topics) == 0 {
		return nil
	}
	conn, cc, all, err := dialController(ctx, brokers, "ensure topics")
	if err != nil {
		return err
	}
	defer conn.Close()
	defer cc.Close()

	configs := make([]kafkago.TopicConfig, 0, len(topics))
	want := map[string]int{}
	for i, t := range topics {
		if err := checkTopic(fmt.Sprintf("topics[%d].name", i), t.Name); err != nil {
			return err
		}
		if t.Partitions < 0 || t.Replicas < 0 {
			return orders.Invalid(fmt.Sprintf("topics[%d]", i), "topic %s: negative partitions or replicas", t.Name)
		}
		tc := kafkago.TopicConfig{
			Topic:             t.Name,
			NumPartitions:     cmp.Or(t.Partitions, DefaultPartitions),
			ReplicationFactor: cmp.Or(t.Replicas, min(3, len(all))),
		}
		for _, k := range slices.Sorted(maps.Keys(t.Configs)) {
			tc.ConfigEntries = append(tc.ConfigEntries, kafkago.ConfigEntry{ConfigName: k, ConfigValue: t.Configs[k]})
		}
		configs = append(configs, tc)
		want[t.Name] = tc.NumPartitions
	}
	if err := cc.CreateTopics(configs...); err != nil {
		return unavailable(err, "ensure topics: create")
	}

	// Creation returns before the partitions have leaders that serve them: wait until every
	// leader answers for its partition, so that the first read or write does not fail.
	names := slices.Sorted(maps.Keys(want))
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		parts, err := conn.ReadPartitions(names...)
		if err == nil && ready(parts, want) && serving(ctx, brokers, parts) {
			return nil
		}
		select {
		case <-ctx.Done():
			return unavailable(context.Cause(ctx), "ensure topics: waiting for the leaders of %s", strings.Join(names, ", "))
		case <-time.After(wait):
		}
	}
}

// ready reports whether parts has, for every topic of want, at least one partition and each with a
// leader.
func ready(parts []kafkago.Partition, want map[string]int) bool {
	n := map[string]int{}
	for _, p := range parts {
		if p.Error != nil || p.Leader.Host == "" {
			return false
		}
		n[p.Topic]++
	}
	for t := range want {
		if n[t] == 0 {
			return false
		}
	}
	return true
}

// serving reports whether the leader of every partition in parts answers a ListOffsets request
// for it. A fresh transport each time: a cached one would not see the new topics for seconds.
func serving(ctx context.Context, brokers []string, parts []kafkago.Partition) bool {
	tr := &kafkago.Transport{DialTimeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	c := &kafkago.Client{Addr: kafkago.TCP(brokers...), Transport: tr, Timeout: 5 * time.Second}
	req := &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{}}
	for _, p := range parts {
		req.Topics[p.Topic] = append(req.Topics[p.Topic], kafkago.FirstOffsetOf(p.ID))
	}
	res, err := c.ListOffsets(ctx, req)
	if err != nil {
		return false
	}
	n := 0
	for _, ps := range res.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return false
			}
			n++
		}
	}
	return n == len(parts)
}

// dialAny connects to the first broker that answers.
// DeleteTopics deletes the topics named, on the cluster's controller; the context bounds the
// whole operation. A topic that does not exist is an error.
func DeleteTopics(ctx context.Context, brokers []string, names ...string) error {
	conn, cc, _, err := dialController(ctx, brokers, "delete topics")
	if err != nil {
		return err
	}
	defer conn.Close()
	defer cc.Close()
	if err := cc.DeleteTopics(names...); err != nil {
		return unavailable(err, "delete topics %s", strings.Join(names, ", "))
	}
	return nil
}

// dialController returns a connection to one of brokers, the cluster's brokers, and a connection
// to its controller, both with ctx's deadline; op names the operation in errors. The caller
// closes both connections.
func dialController(ctx context.Context, brokers []string, op string) (conn, cc *kafkago.Conn, all []kafkago.Broker, err error) {
	d := &kafkago.Dialer{Timeout: 10 * time.Second, DualStack: true}
	conn, err = dialAny(ctx, d, brokers)
	if err != nil {
		return nil, nil, nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	fail := func(err error, format string, args ...any) (*kafkago.Conn, *kafkago.Conn, []kafkago.Broker, error) {
		conn.Close()
		return nil, nil, nil, unavailable(err, op+": "+format, args...)
	}
	all, err = conn.Brokers()
	if err != nil {
		return fail(err, "list brokers")
	}
	ctrl, err := conn.Controller()
	if err != nil {
		return fail(err, "find the controller")
	}
	cc, err = d.DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		return fail(err, "dial the controller %s:%d", ctrl.Host, ctrl.Port)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = cc.SetDeadline(dl)
	}
	return conn, cc, all, nil
}

func dialAny(ctx context.Context, d *kafkago.Dialer, brokers []string) (*kafkago.Conn, error) {
	if len(brokers) == 0 {
		return nil, orders.Invalid("kafka.brokers", "no broker given (set %s)", EnvBrokers)
	}
	var last error
	for _, b := range brokers {
		conn, err := d.DialContext(ctx, "tcp", b)
		if err == nil {
			return conn, nil
		}
		last = err
	}
	return nil, unavailable(last, "dial %s", strings.Join(brokers, ","))
}

// unavailable wraps err as a KindUnavailable orders.Error: the broker could not do it now.
func unavailable(err error, format string, args ...any) error {
	return &orders.Error{Kind: orders.KindUnavailable, Msg: fmt.Sprintf(format, args...), Err: err}
}

// logger adapts slog to kafka-go's Logger at the given level.
func logger(l *slog.Logger, level slog.Level, component string) kafkago.LoggerFunc {
	return func(msg string, args ...any) {
		if l.Enabled(context.Background(), level) {
			l.Log(context.Background(), level, strings.TrimSpace(fmt.Sprintf(msg, args...)), "component", component)
		}
	}
}
