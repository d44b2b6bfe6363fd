package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zhengxiang/geo"
)

// TestServeIntakeFreeDelivery runs serve on the real Kafka, over PostgreSQL
// and over memory, sets a platform's quota of free deliveries through REST
// and publishes orders of 郑享百味 to orders.placed with kcat: of the orders
// that ask for a free delivery (a fee of 0), exactly the quota are created
// free and the others are dead-lettered; paid orders and orders of other
// sections take nothing. Publishing every order again takes nothing more and
// creates nothing.
func TestServeIntakeFreeDelivery(t *testing.T) {
	brokers, pgURL := services(t)
	kcat := mustKcat(t)
	for _, backend := range []string{"postgres", "memory"} {
		t.Run(backend, func(t *testing.T) {
			const quota, asking = 3, 5
			sv := startKafkaServe(t, backend, brokers, pgURL, "--free-delivery-quota", "0")
			prefix, call, errOut := sv.prefix, sv.call, sv.errOut
			call("POST", "/v1/platforms/meituan/freeDeliveryQuota:set", map[string]any{"quota": quota})

			// A store of 郑享百味 and one of another section.
			stores := sv.firstStores()
			flavours, other := stores["SECTION_FLAVOURS"], stores["SECTION_DEALS"]

			// asking orders with a fee of 0 (left out), two paid, two of Deals with 0.
			var in bytes.Buffer
			now := time.Now().UTC().Format(time.RFC3339)
			msg := func(id string, s intakeStore, fee int) { placedLine(&in, id, s, fee, now) }
			for i := range asking {
				msg(fmt.Sprintf("fl-%d", i), flavours, 0)
			}
			msg("fl-paid-1", flavours, 300)
			msg("fl-paid-2", flavours, 300)
			msg("deals-1", other, 0)
			msg("deals-2", other, 0)
			batch := in.String()
			const created = quota + 4

			check := func(round int, letters int) {
				t.Helper()
				var list []any
				var dead string
				for end := time.Now().Add(60 * time.Second); ; time.Sleep(300 * time.Millisecond) {
					list, _ = call("GET", "/v1/orders", nil)["orders"].([]any)
					out, err := exec.Command(kcat, "-C", "-b", brokers, "-t", prefix+"orders.deadletter", "-o", "beginning", "-e", "-q", "-f", "%h\n").Output()
					if err != nil {
						t.Fatalf("kcat -C dead letters: %v", err)
					}
					dead = strings.TrimSpace(string(out))
					n := 0
					if dead != "" {
						n = len(strings.Split(dead, "\n"))
					}
					if len(list) >= created && n >= letters {
						if n != letters {
							t.Fatalf("round %d: %d dead letters, want %d:\n%s", round, n, letters, dead)
						}
						break
					}
					if time.Now().After(end) {
						t.Fatalf("round %d: %d orders and %d dead letters within a minute, want %d and %d:\n%s\n%s", round, len(list), n, created, letters, dead, errOut)
					}
				}
				free := 0
				for _, o := range list {
					o := o.(map[string]any)
					id, fee := o["client_order_id"].(string), o["delivery_fee_cents"]
					switch {
					case strings.HasPrefix(id, "fl-paid") && fee != "300":
						t.Errorf("round %d: paid order %s has fee %v", round, id, fee)
					case strings.HasPrefix(id, "fl-") && !strings.HasPrefix(id, "fl-paid"):
						if fee != nil {
							t.Errorf("round %d: %s was created with fee %v, not free", round, id, fee)
						}
						free++
					}
				}
				if len(list) != created || free != quota {
					t.Fatalf("round %d: %d orders, %d free; want %d and exactly the quota %d free", round, len(list), free, created, quota)
				}
				if c := strings.Count(dead, "no free delivery left today"); c != letters {
					t.Fatalf("round %d: %d of the dead letters say no free delivery is left, want %d:\n%s", round, c, letters, dead)
				}
				q := call("GET", "/v1/platforms/meituan/freeDeliveryQuota", nil)["quota"].(map[string]any)
				if q["used"] != float64(quota) || q["quota"] != float64(quota) {
					t.Fatalf("round %d: quota %v, want %d used of %d", round, q, quota, quota)
				}
			}
			publish := func() { sv.publish(kcat, batch) }
			publish()
			check(1, asking-quota)
			// The resend: the same orders, the same answers, nothing more taken.
			publish()
			check(2, 2*(asking-quota))
		})
	}
}

// kafkaServe is serve running for a test on the real Kafka, on topics of
// its own, over PostgreSQL (a schema of its own) or memory, with a key of
// the city's operator.
type kafkaServe struct {
	t                          *testing.T
	brokers, prefix, addr, key string
	errOut                     *bytes.Buffer
}

// startKafkaServe starts serve over the backend with args added, and waits
// until it is ready; it stops when the test ends.
func startKafkaServe(t *testing.T, backend, brokers, pgURL string, args ...string) *kafkaServe {
	t.Helper()
	sv := &kafkaServe{t: t, brokers: brokers, prefix: topicPrefix(t, brokers), addr: freeAddr(t)}
	args = append([]string{"serve", "--kafka", brokers, "--topic-prefix", sv.prefix, "--group", sv.prefix + "dispatch",
		"--stores", "20", "--http-addr", sv.addr, "--grpc-addr", "127.0.0.1:0"}, args...)
	keyArgs := []string{"keys", "create", "--role", "operator"}
	if backend == "postgres" {
		url := mustSchema(t, pgURL)
		args = append(args, "--pg", url)
		keyArgs = append(keyArgs, "--pg", url)
		MustRun(t, "migrate", "--pg", url)
	} else {
		t.Setenv(EnvPGURL, "") // the record and the keys in memory and a file
		file := filepath.Join(t.TempDir(), "keys.json")
		args = append(args, "--key-file", file)
		keyArgs = append(keyArgs, "--file", file)
	}
	_, out, _ := MustRun(t, keyArgs...)
	sv.key = strings.TrimSpace(out)

	ctx, cancel := context.WithCancel(context.Background())
	m, _, errOut := newTestMain()
	sv.errOut = errOut
	if err := m.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if resp, err := http.Get("http://" + sv.addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready within a minute:\n%s", errOut)
		}
	}
	return sv
}

// call sends a request with the operator's key and fails the test unless
// it is answered 200.
func (sv *kafkaServe) call(method, path string, body any) map[string]any {
	sv.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+sv.addr+path, rd)
	req.Header.Set("Authorization", "Bearer "+sv.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		sv.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != http.StatusOK {
		sv.t.Fatalf("%s %s: %d %v %v", method, path, resp.StatusCode, v, err)
	}
	return v
}

// publish sends lines of "key\tJSON" to orders.placed with kcat.
func (sv *kafkaServe) publish(kcat, lines string) {
	sv.t.Helper()
	produce := exec.Command(kcat, "-P", "-b", sv.brokers, "-t", sv.prefix+"orders.placed", "-K", "\t", "-H", "content-type=application/json")
	produce.Stdin = strings.NewReader(lines)
	if out, err := produce.CombinedOutput(); err != nil {
		sv.t.Fatalf("kcat -P: %v\n%s", err, out)
	}
}

// awaitIntake waits up to a minute until the record holds at least orders
// orders and orders.deadletter at least dead messages, and returns the
// orders and the dead letters' headers, a line each.
func (sv *kafkaServe) awaitIntake(kcat string, orders, dead int) ([]any, string) {
	sv.t.Helper()
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		list, _ := sv.call("GET", "/v1/orders", nil)["orders"].([]any)
		out, err := exec.Command(kcat, "-C", "-b", sv.brokers, "-t", sv.prefix+"orders.deadletter", "-o", "beginning", "-e", "-q", "-f", "%h\n").Output()
		if err != nil {
			sv.t.Fatalf("kcat -C dead letters: %v", err)
		}
		headers := strings.TrimSpace(string(out))
		if n := len(strings.Split(headers, "\n")); len(list) >= orders && (dead == 0 || headers != "" && n >= dead) {
			return list, headers
		}
		if time.Now().After(end) {
			sv.t.Fatalf("%d orders and dead letters %q within a minute, want %d and %d:\n%s", len(list), headers, orders, dead, sv.errOut)
		}
	}
}

// intakeStore is a store of the running serve.
type intakeStore struct {
	id  string
	pos geo.Point
}

// firstStores returns the first store of each section serve registered,
// by the API's name of the section (SECTION_DEALS, ...); it fails the test
// unless there is one of 郑享特惠 and one of 郑享百味.
func (sv *kafkaServe) firstStores() map[string]intakeStore {
	sv.t.Helper()
	out := map[string]intakeStore{}
	for _, s := range sv.call("GET", "/v1/stores", nil)["stores"].([]any) {
		s := s.(map[string]any)
		pos := s["position"].(map[string]any)
		if sec := s["section"].(string); out[sec].id == "" {
			out[sec] = intakeStore{s["store_id"].(string), geo.Point{Lat: pos["lat"].(float64), Lng: pos["lng"].(float64)}}
		}
	}
	if out["SECTION_FLAVOURS"].id == "" || out["SECTION_DEALS"].id == "" {
		sv.t.Fatalf("serve's stores lack a Flavours or a Deals store: %v", out)
	}
	return out
}

// placedLine writes a kcat line of an order of meituan at store s, placed
// at placed (RFC 3339), with the delivery fee fee.
func placedLine(w io.Writer, id string, s intakeStore, fee int, placed string) {
	drop := geo.Point{Lat: s.pos.Lat + 0.004, Lng: s.pos.Lng + 0.002}
	fmt.Fprintf(w, "%s\t{\"platform\":\"meituan\",\"platformOrderId\":%q,\"storeId\":%q,"+
		"\"items\":[{\"sku\":\"meal\",\"name\":\"复工套餐\",\"qty\":1,\"priceCents\":1800}],"+
		"\"deliveryFeeCents\":%d,\"dropoff\":{\"lat\":%v,\"lng\":%v},\"placedAt\":%q}\n",
		geo.AreaOf(drop), id, s.id, fee, drop.Lat, drop.Lng, placed)
}
