package server_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zhengxiang/api/auth"
	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// The tests of suspensions (立即下架) and merchants' acknowledgements, through
// the REST API on both records.

var (
	milk = map[string]any{"sku": "milk-1l", "name": "牛奶 1L", "qty": 1, "price_cents": 1290}
	loaf = map[string]any{"sku": "bread", "name": "面包", "qty": 1, "price_cents": 800}
)

// fastKey issues a key for p with a rate no test reaches.
func fastKey(e *env, p auth.Principal) string {
	e.T.Helper()
	k, stored, err := auth.NewKey(p)
	if err != nil {
		e.T.Fatal(err)
	}
	stored.RatePerSecond, stored.Burst = 1e6, 1e6
	if err := e.Keys.Put(e.Ctx, stored); err != nil {
		e.T.Fatal(err)
	}
	return k
}

// keyID returns the id of a key, as the API names its caller ("operator:"
// and the id).
func keyID(e *env, key string) string {
	e.T.Helper()
	id, err := auth.ParseKey(key)
	if err != nil {
		e.T.Fatal(err)
	}
	return id
}

// place creates an order at store with the items through REST and returns
// its id; the answer must be 200.
func place(e *env, platform string, store orders.Store, key string, items ...map[string]any) string {
	e.T.Helper()
	r := e.Call(platform, "POST", "/v1/orders", orderBody(store, items...), "Idempotency-Key", key)
	if r.Status != http.StatusOK {
		e.T.Fatalf("create %s at %s: %d %s", key, store.ID, r.Status, r.Body)
	}
	return str(r.JSON(e.T), "order", "id")
}

func orderBody(store orders.Store, items ...map[string]any) map[string]any {
	door := geo.Point{Lat: store.Point.Lat + 0.006, Lng: store.Point.Lng + 0.004}
	list := make([]any, len(items))
	for i, it := range items {
		list[i] = it
	}
	return map[string]any{"store_id": store.ID, "address": "门口", "items": list,
		"dropoff": map[string]any{"lat": door.Lat, "lng": door.Lng}}
}

// readied accepts and readies orders as their store.
func readied(e *env, merchant string, ids ...string) {
	e.T.Helper()
	for _, id := range ids {
		e.Must(merchant, "POST", "/v1/orders/"+id+":accept", map[string]any{})
		e.Must(merchant, "POST", "/v1/orders/"+id+":markReady", map[string]any{})
	}
}

// startRider starts a rider's shift through REST at p.
func startRider(e *env, key, id string, p geo.Point, capacity int) {
	e.T.Helper()
	e.Must(key, "POST", "/v1/riders/"+id+":startShift", map[string]any{"position": map[string]any{"lat": p.Lat, "lng": p.Lng}, "capacity": capacity})
}

// offerTo runs rounds a minute apart, every rider of pings reporting where
// it is, until rider has an offer, and returns its trip.
func offerTo(e *env, rider string, pings map[string]geo.Point) string {
	e.T.Helper()
	for range 60 {
		for id, p := range pings {
			if err := e.Engine.Ping(id, p); err != nil {
				e.T.Fatal(err)
			}
		}
		e.Round()
		if off, ok := e.Engine.Offered(rider); ok {
			return off.TripID
		}
		e.Clock.Set(e.Clock.Now().Add(time.Minute))
	}
	e.T.Fatalf("%s got no offer in an hour of rounds", rider)
	return ""
}

// order reads an order from the record.
func order(e *env, id string) orders.Order {
	e.T.Helper()
	o, err := e.Repo.GetOrder(e.Ctx, id)
	if err != nil {
		e.T.Fatal(err)
	}
	return o
}

// events reads an order's events from the record.
func events(e *env, id string) []orders.Event {
	e.T.Helper()
	evs, err := e.Repo.Events(e.Ctx, id)
	if err != nil {
		e.T.Fatal(err)
	}
	return evs
}

// mustCancelledBy checks that an order ended CANCELLED by actor with a
// reason holding why, releasing rider (none: "").
func mustCancelledBy(e *env, id, actor, why, rider string) {
	e.T.Helper()
	evs := events(e, id)
	last := evs[len(evs)-1]
	if last.Type != orders.EventCancelled || last.Actor != actor || !strings.Contains(last.Reason, why) || last.RiderID != rider {
		e.T.Errorf("order %s's last event: %+v, want CANCELLED by %s for %q releasing %q", id, last, actor, why, rider)
	}
	for _, ev := range evs {
		if ev.Type == orders.EventPickedUp {
			e.T.Errorf("order %s was picked up, then cancelled", id)
		}
	}
}

// holds returns the orders offered to a rider or on its trips, as its app
// sees them through REST.
func holds(e *env, key, rider string) []string {
	e.T.Helper()
	var out []string
	trips := e.Must(key, "GET", "/v1/riders/"+rider+"/trips", nil)
	for _, t := range asList(get(trips, "trips")) {
		for _, s := range asList(get(t, "stops")) {
			out = append(out, str(s, "order_id"))
		}
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// deliver takes a picked-up order to its door through REST.
func deliver(e *env, key, rider, id string) {
	e.T.Helper()
	e.Must(key, "POST", "/v1/riders/"+rider+"/orders/"+id+":arrive", map[string]any{})
	e.Must(key, "POST", "/v1/riders/"+rider+"/orders/"+id+":dropOff", map[string]any{"handover": "HANDOVER_DOOR"})
}

// suspensionKeys are the keys of a suspension test.
type suspensionKeys struct {
	platform, merchantA, merchantB, op, opE string
	riders                                  map[string]string
}

func newSuspensionKeys(e *env, riders ...string) suspensionKeys {
	k := suspensionKeys{
		platform:  fastKey(e, auth.Principal{Role: auth.RolePlatform, Platform: "meituan"}),
		merchantA: fastKey(e, auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeA.ID}}),
		merchantB: fastKey(e, auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeB.ID}}),
		op:        fastKey(e, auth.Principal{Role: auth.RoleOperator}),
		opE:       fastKey(e, auth.Principal{Role: auth.RoleOperator, Platform: "eleme"}),
		riders:    map[string]string{},
	}
	for _, r := range riders {
		k.riders[r] = fastKey(e, auth.Principal{Role: auth.RoleRider, Rider: r})
	}
	return k
}

// staged holds store A's orders at every stage before pickup and one on the
// road: picked up by R1, R2 at the store, R3 on its way, offered to R4, and
// pending. Each rider ends its shift once it has its order, so that the
// next takes the next one.
type staged struct {
	picked, atStore, assigned, offered, pending string
	offeredTrip                                 string
}

func stage(e *env, k suspensionKeys, items ...map[string]any) staged {
	e.T.Helper()
	var s staged
	pings := map[string]geo.Point{}
	next := func(rider, key string) (string, string) {
		id := place(e, k.platform, storeA, key, items...)
		readied(e, k.merchantA, id)
		startRider(e, k.riders[rider], rider, storeA.Point, 3)
		pings[rider] = storeA.Point
		return id, offerTo(e, rider, pings)
	}
	var trip string
	s.picked, trip = next("R1", "st-picked")
	rk := k.riders["R1"]
	e.Must(rk, "POST", "/v1/riders/R1/trips/"+trip+":accept", map[string]any{})
	e.Must(rk, "POST", "/v1/riders/R1/trips/"+trip+":arrive", map[string]any{})
	e.Must(rk, "POST", "/v1/riders/R1/trips/"+trip+":pickUp", map[string]any{"pickup_codes": []string{order(e, s.picked).PickupCode}})
	e.Must(rk, "POST", "/v1/riders/R1:endShift", map[string]any{})

	s.atStore, trip = next("R2", "st-at-store")
	e.Must(k.riders["R2"], "POST", "/v1/riders/R2/trips/"+trip+":accept", map[string]any{})
	e.Must(k.riders["R2"], "POST", "/v1/riders/R2/trips/"+trip+":arrive", map[string]any{})
	e.Must(k.riders["R2"], "POST", "/v1/riders/R2:endShift", map[string]any{})

	s.assigned, trip = next("R3", "st-assigned")
	e.Must(k.riders["R3"], "POST", "/v1/riders/R3/trips/"+trip+":accept", map[string]any{})
	e.Must(k.riders["R3"], "POST", "/v1/riders/R3:endShift", map[string]any{})

	s.offered, s.offeredTrip = next("R4", "st-offered")
	s.pending = place(e, k.platform, storeA, "st-pending", items...)

	for id, want := range map[string]orders.DeliveryStatus{s.picked: orders.DeliveryPickedUp, s.atStore: orders.DeliveryArrivedAtPickup,
		s.assigned: orders.DeliveryAssigned, s.offered: orders.DeliveryOffered, s.pending: orders.DeliveryUnassigned} {
		if got := order(e, id).Delivery; got != want {
			e.T.Fatalf("staged order %s is %s, want %s", id, got, want)
		}
	}
	return s
}

// TestSuspendStoreThroughREST suspends a store with orders at every stage:
// new orders are refused, the orders not picked up are cancelled with the
// reason and their riders released, the one on the road is delivered, the
// audit lists the suspension and what it cancelled, and a restore lets the
// store sell again.
func TestSuspendStoreThroughREST(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			k := newSuspensionKeys(e, "R1", "R2", "R3", "R4")
			s := stage(e, k, milk)
			other := place(e, k.platform, storeB, "st-other", milk)

			if r := e.Call(k.opE, "POST", "/v1/stores/"+storeA.ID+":suspend", map[string]any{"reason": "fakes"}); r.Status != http.StatusForbidden {
				t.Fatalf("a platform's operator suspends: %d %s, want 403", r.Status, r.Body)
			}
			if r := e.Call(k.op, "POST", "/v1/stores/"+storeA.ID+":suspend", map[string]any{}); r.Status != http.StatusBadRequest {
				t.Fatalf("a suspension without a reason: %d %s, want 400", r.Status, r.Body)
			}
			if r := e.Call(k.op, "POST", "/v1/stores/S-X:suspend", map[string]any{"reason": "fakes"}); r.Status != http.StatusNotFound {
				t.Fatalf("a suspension of an unknown store: %d %s, want 404", r.Status, r.Body)
			}
			resp := e.Must(k.op, "POST", "/v1/stores/"+storeA.ID+":suspend", map[string]any{"reason": "counterfeit goods"})
			var got []string
			for _, id := range asList(get(resp, "cancelled_order_ids")) {
				got = append(got, id.(string))
			}
			want := []string{s.atStore, s.assigned, s.offered, s.pending}
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Fatalf("cancelled %v, want %v", got, want)
			}
			who := "operator:" + keyID(e, k.op)
			mustCancelledBy(e, s.atStore, who, "store suspended: counterfeit goods", "R2")
			mustCancelledBy(e, s.assigned, who, "store suspended: counterfeit goods", "R3")
			mustCancelledBy(e, s.offered, who, "store suspended: counterfeit goods", "R4")
			mustCancelledBy(e, s.pending, who, "store suspended: counterfeit goods", "")
			// The platform's events say so too.
			evs := e.Must(k.platform, "GET", "/v1/orders/"+s.assigned+"/events", nil)
			list := asList(get(evs, "events"))
			if last := list[len(list)-1]; str(last, "type") != "EVENT_TYPE_CANCELLED" || str(last, "actor") != who {
				t.Fatalf("the platform's last event of %s: %v", s.assigned, last)
			}

			// The riders are free: R4's offer is gone, R2 and R3 hold nothing.
			for _, r := range []string{"R2", "R3", "R4"} {
				if h := holds(e, k.riders[r], r); len(h) != 0 {
					t.Errorf("%s still holds %v", r, h)
				}
			}
			if _, ok := e.Engine.Offered("R4"); ok {
				t.Errorf("R4 still has an offer")
			}
			if r := e.Call(k.riders["R4"], "POST", "/v1/riders/R4/trips/"+s.offeredTrip+":accept", map[string]any{}); r.Status == http.StatusOK {
				t.Errorf("R4 accepted the withdrawn offer")
			}

			// New orders are refused, and the quote leaves the store out.
			r := e.Call(k.platform, "POST", "/v1/orders", orderBody(storeA, loaf), "Idempotency-Key", "st-new")
			if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "suspended") {
				t.Fatalf("an order at a suspended store: %d %s, want 409 saying suspended", r.Status, r.Body)
			}
			q := e.Must(k.platform, "POST", "/v1/quotes", map[string]any{"dropoff": map[string]any{"lat": near.Lat, "lng": near.Lng}})
			for _, st := range asList(get(q, "stores")) {
				if str(st, "store_id") == storeA.ID {
					t.Errorf("the quote lists the suspended store")
				}
			}
			stores := e.Must(k.op, "GET", "/v1/stores", nil)
			for _, st := range asList(get(stores, "stores")) {
				if str(st, "store_id") == storeA.ID && get(st, "suspended") != true {
					t.Errorf("store A is not suspended in the list: %v", st)
				}
			}

			// The order on the road finishes; the other store's is untouched.
			deliver(e, k.riders["R1"], "R1", s.picked)
			if o := order(e, s.picked); o.Delivery != orders.DeliveryDelivered {
				t.Errorf("the picked-up order after its drop-off: %s", o.Delivery)
			}
			if o := order(e, other); !o.Active() {
				t.Errorf("store B's order: %s/%s", o.Status, o.Delivery)
			}

			// The audit: one suspension with exactly the cancelled orders.
			sus := e.Must(k.op, "GET", "/v1/suspensions?store_id="+storeA.ID, nil)
			recs := asList(get(sus, "records"))
			if len(recs) != 1 || str(recs[0], "action") != "SUSPENSION_ACTION_SUSPEND" || str(recs[0], "actor") != who ||
				str(recs[0], "reason") != "counterfeit goods" || str(recs[0], "sku") != "" || str(recs[0], "at") == "" {
				t.Fatalf("audit: %v", recs)
			}
			var listed []string
			for _, id := range asList(get(recs[0], "cancelled_order_ids")) {
				listed = append(listed, id.(string))
			}
			sort.Strings(listed)
			if !slices.Equal(listed, want) {
				t.Fatalf("audit lists %v, want %v", listed, want)
			}
			if in := asList(get(sus, "in_force")); len(in) != 1 || str(in[0], "store_id") != storeA.ID {
				t.Fatalf("in force: %v", in)
			}
			// A platform's operator sees the entry without other platforms' orders.
			if r := e.Must(k.opE, "GET", "/v1/suspensions", nil); len(asList(get(r, "records", 0, "cancelled_order_ids"))) != 0 {
				t.Errorf("eleme's operator sees meituan's cancelled orders: %v", r)
			}

			// Restored, the store takes orders again, and the audit says so.
			if r := e.Call(k.opE, "POST", "/v1/stores/"+storeA.ID+":restore", map[string]any{"reason": "cleared"}); r.Status != http.StatusForbidden {
				t.Fatalf("a platform's operator restores: %d %s, want 403", r.Status, r.Body)
			}
			e.Must(k.op, "POST", "/v1/stores/"+storeA.ID+":restore", map[string]any{"reason": "goods removed from sale"})
			if r := e.Call(k.op, "POST", "/v1/stores/"+storeA.ID+":restore", map[string]any{"reason": "again"}); r.Status != http.StatusConflict {
				t.Fatalf("a second restore: %d %s, want 409", r.Status, r.Body)
			}
			place(e, k.platform, storeA, "st-after", loaf)
			sus = e.Must(k.op, "GET", "/v1/suspensions", nil)
			if str(sus, "records", 0, "action") != "SUSPENSION_ACTION_RESTORE" || str(sus, "records", 0, "reason") != "goods removed from sale" ||
				len(asList(get(sus, "in_force"))) != 0 {
				t.Fatalf("audit after the restore: %v", sus)
			}
		})
	}
}

// TestSuspendProductThroughREST suspends one product of a store: orders with
// it are refused naming the item, its open orders not picked up are
// cancelled, and the store's other orders, and other stores' orders of the
// product, go on. The suspension outlives a restart of the engine.
func TestSuspendProductThroughREST(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			k := newSuspensionKeys(e, "R1", "R2", "R3", "R4")
			s := stage(e, k, loaf, milk)
			breadOnly := place(e, k.platform, storeA, "p-loaf", loaf)
			otherMilk := place(e, k.platform, storeB, "p-b-milk", milk)

			resp := e.Must(k.op, "POST", "/v1/stores/"+storeA.ID+":suspend", map[string]any{"sku": "milk-1l", "reason": "recalled batch"})
			got := []string{}
			for _, id := range asList(get(resp, "cancelled_order_ids")) {
				got = append(got, id.(string))
			}
			want := []string{s.atStore, s.assigned, s.offered, s.pending}
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) || str(resp, "sku") != "milk-1l" || str(resp, "record", "sku") != "milk-1l" {
				t.Fatalf("product suspension: %v, want %v cancelled", resp, want)
			}
			who := "operator:" + keyID(e, k.op)
			mustCancelledBy(e, s.assigned, who, "product milk-1l suspended: recalled batch", "R3")
			mustCancelledBy(e, s.offered, who, "product milk-1l suspended: recalled batch", "R4")
			for _, id := range []string{breadOnly, otherMilk} {
				if o := order(e, id); !o.Active() {
					t.Errorf("order %s without the product, or of another store: %s/%s", id, o.Status, o.Delivery)
				}
			}
			for _, r := range []string{"R2", "R3"} {
				if h := holds(e, k.riders[r], r); len(h) != 0 {
					t.Errorf("%s still holds %v", r, h)
				}
			}

			// An order with the product is refused naming the item; without it, and
			// at another store, it is taken.
			r := e.Call(k.platform, "POST", "/v1/orders", orderBody(storeA, loaf, milk), "Idempotency-Key", "p-new")
			if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "items[1].sku") || !strings.Contains(string(r.Body), "recalled batch") {
				t.Fatalf("an order with the suspended product: %d %s, want 400 naming items[1].sku", r.Status, r.Body)
			}
			place(e, k.platform, storeA, "p-new-loaf", loaf)
			place(e, k.platform, storeB, "p-new-b-milk", milk)
			stores := e.Must(k.op, "GET", "/v1/stores", nil)
			for _, st := range asList(get(stores, "stores")) {
				if str(st, "store_id") == storeA.ID && (get(st, "suspended") == true || fmt.Sprint(get(st, "suspended_skus")) != "[milk-1l]") {
					t.Errorf("store A in the list: %v, want selling with milk-1l suspended", st)
				}
			}

			// The order on the road finishes.
			deliver(e, k.riders["R1"], "R1", s.picked)

			// A new engine on the same record (a restart) still refuses the product.
			eng, err := dispatch.New(dispatch.Config{}, e.Repo, geo.DefaultRoadModel(), e.Clock, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := eng.Restore(e.Ctx); err != nil {
				t.Fatal(err)
			}
			now := e.Clock.Now()
			_, err = eng.Submit(e.Ctx, orders.Order{Platform: "meituan", PlatformOrderID: "p-restart", StoreID: storeA.ID, Section: storeA.Section,
				Items: []orders.Item{{SKU: "milk-1l", Name: "牛奶", Qty: 1, PriceCents: 1290}}, SubtotalCents: 1290, Dropoff: near,
				PlacedAt: now, ReadyAt: now.Add(8 * time.Minute), PromiseAt: now.Add(40 * time.Minute)})
			if !orders.IsKind(err, orders.KindInvalid) || !strings.Contains(err.Error(), "items[0].sku") {
				t.Fatalf("after a restart, an order with the suspended product: %v, want invalid items[0].sku", err)
			}

			// Restored, the product sells again.
			e.Must(k.op, "POST", "/v1/stores/"+storeA.ID+":restore", map[string]any{"sku": "milk-1l", "reason": "new batch checked"})
			place(e, k.platform, storeA, "p-after", milk)
			sus := e.Must(k.op, "GET", "/v1/suspensions?store_id="+storeA.ID, nil)
			if recs := asList(get(sus, "records")); len(recs) != 2 || str(recs[0], "action") != "SUSPENSION_ACTION_RESTORE" || str(recs[0], "sku") != "milk-1l" {
				t.Fatalf("audit: %v", recs)
			}
		})
	}
}

// TestSuspensionDuringDispatch suspends a store while rounds run without
// pause, riders accept, reach the store and pick up through REST, and a
// platform keeps ordering: every order of the store is then cancelled or on
// the road, those on the road are delivered, no cancelled order is offered
// again or held by a rider, new orders are refused, and the audit has one
// entry listing exactly the cancelled orders.
func TestSuspensionDuringDispatch(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) { suspensionDuringDispatch(t, backend) })
	}
}

func suspensionDuringDispatch(t *testing.T, backend string) {
	e := newEnv(t, backend)
	const nRiders = 12
	var riders []string
	for i := range nRiders {
		riders = append(riders, fmt.Sprintf("D%02d", i))
	}
	k := newSuspensionKeys(e, riders...)
	var ordersA []string
	for i := range 45 { // 15 trips of 3 for 12 riders: some wait
		id := place(e, k.platform, storeA, fmt.Sprintf("dd-%d", i), milk)
		readied(e, k.merchantA, id)
		ordersA = append(ordersA, id)
	}
	for i := range 4 {
		id := place(e, k.platform, storeB, fmt.Sprintf("dd-b-%d", i), milk)
		readied(e, k.merchantB, id)
	}
	// Past the goods' expected ready time, so that rounds offer at once.
	e.Clock.Set(e.Clock.Now().Add(10 * time.Minute))
	for _, r := range riders {
		startRider(e, k.riders[r], r, storeA.Point, 3)
	}

	ctx, stop := context.WithCancel(e.Ctx)
	defer stop()
	suspended := make(chan struct{})
	race := make(chan struct{}) // closed as the suspension is sent
	var wg sync.WaitGroup
	var rounds atomic.Int64
	wg.Go(func() {
		for ctx.Err() == nil {
			if _, err := e.Engine.Round(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("round: %v", err)
			}
			rounds.Add(1)
			time.Sleep(200 * time.Microsecond)
		}
	})
	// Riders through REST, three orders at most each, by their number
	// modulo 4: 0 picks up every trip it gets (and delivers once the store
	// is suspended), 1 accepts and waits at the store until the suspension
	// is sent, then picks up as 0 does, racing it, 2 accepts and stays away,
	// 3 never answers.
	for i, r := range riders {
		wg.Go(func() { rideDuring(ctx, e, k.riders[r], r, i%4, race, suspended) })
	}
	// Suspend once some orders are on the road and others at every stage
	// before it, or after 10 seconds whatever they are.
	deadline := time.Now().Add(10 * time.Second)
	var n map[orders.DeliveryStatus]int
	for time.Now().Before(deadline) {
		n = map[orders.DeliveryStatus]int{}
		for _, id := range ordersA {
			n[order(e, id).Delivery]++
		}
		if n[orders.DeliveryPickedUp] >= 2 && n[orders.DeliveryArrivedAtPickup] >= 1 && n[orders.DeliveryAssigned] >= 1 &&
			n[orders.DeliveryOffered] >= 1 && n[orders.DeliveryUnassigned] >= 1 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	// A platform that keeps ordering while the suspension lands.
	var late []string
	var lateMu sync.Mutex
	placing, placed := context.WithCancel(ctx)
	var placer sync.WaitGroup
	placer.Go(func() {
		for i := 0; placing.Err() == nil; i++ {
			r := e.Call(k.platform, "POST", "/v1/orders", orderBody(storeA, milk), "Idempotency-Key", fmt.Sprintf("dd-late-%d", i))
			switch r.Status {
			case http.StatusOK:
				lateMu.Lock()
				late = append(late, str(r.JSON(t), "order", "id"))
				lateMu.Unlock()
			case http.StatusConflict:
			default:
				t.Errorf("a late order: %d %s", r.Status, r.Body)
			}
			time.Sleep(time.Millisecond)
		}
	})
	time.Sleep(20 * time.Millisecond)
	// The riders waiting at the store start to pick up; the suspension
	// lands as the first of them has, the others on their way.
	close(race)
	for wait := time.Now().Add(2 * time.Second); time.Now().Before(wait); time.Sleep(200 * time.Microsecond) {
		picked := 0
		for _, id := range ordersA {
			if order(e, id).Delivery == orders.DeliveryPickedUp {
				picked++
			}
		}
		if picked > n[orders.DeliveryPickedUp] {
			break
		}
	}
	resp := e.Must(k.op, "POST", "/v1/stores/"+storeA.ID+":suspend", map[string]any{"reason": "counterfeit milk"})
	placed()
	placer.Wait()
	close(suspended)
	e.Engine.Stats() // the engine takes in what was handed to it meanwhile
	answered := map[string]bool{}
	for _, id := range asList(get(resp, "cancelled_order_ids")) {
		answered[id.(string)] = true
	}
	all := append(append([]string(nil), ordersA...), late...)

	// Right after the suspension: every order of the store is cancelled or on the road.
	cancelled := map[string]bool{}
	seqs := map[string]int64{}
	onRoad := 0
	for _, id := range all {
		o := order(e, id)
		seqs[id] = o.Seq
		switch {
		case o.Status == orders.StatusCancelled:
			cancelled[id] = true
		case o.Delivery == orders.DeliveryPickedUp || o.Delivery == orders.DeliveryArrivedAtDropoff || o.Delivery == orders.DeliveryDelivered:
			onRoad++
		default:
			t.Errorf("order %s after the suspension: %s/%s, neither cancelled nor on the road", id, o.Status, o.Delivery)
		}
	}
	for id := range answered {
		if !cancelled[id] {
			t.Errorf("order %s listed as cancelled is not", id)
		}
	}
	if onRoad == 0 || len(cancelled) == 0 {
		t.Errorf("the suspension met %d orders on the road and cancelled %d: the test did not catch both", onRoad, len(cancelled))
	}

	// The riders deliver what they picked up, rounds going on; nothing of
	// the store is offered again.
	end := time.Now().Add(20 * time.Second)
	for {
		left := 0
		for _, id := range all {
			if !cancelled[id] && order(e, id).Delivery != orders.DeliveryDelivered {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%d orders on the road not delivered", left)
		}
		time.Sleep(5 * time.Millisecond)
	}
	before := rounds.Load()
	for rounds.Load() < before+20 {
		time.Sleep(time.Millisecond)
	}
	stop()
	wg.Wait()

	who := "operator:" + keyID(e, k.op)
	withRider := 0
	for id := range cancelled {
		if o := order(e, id); o.Seq != seqs[id] {
			t.Errorf("cancelled order %s changed after the suspension: seq %d, was %d", id, o.Seq, seqs[id])
		}
		evs := events(e, id)
		last := evs[len(evs)-1]
		if last.Actor != who || last.Reason != "store suspended: counterfeit milk" {
			t.Errorf("order %s's cancellation: %+v", id, last)
		}
		if last.RiderID != "" {
			withRider++
		}
		for _, ev := range evs {
			if ev.Type == orders.EventPickedUp {
				t.Errorf("cancelled order %s had been picked up", id)
			}
		}
	}
	if withRider == 0 {
		t.Errorf("no cancelled order had a rider: the test did not catch offers or trips")
	}
	for _, r := range riders {
		off, ok := e.Engine.Offered(r)
		held := append([]string(nil), off.OrderIDs...)
		for _, tr := range e.Engine.Trips(r) {
			held = append(held, tr.OrderIDs...)
		}
		for _, id := range held {
			if cancelled[id] {
				t.Errorf("rider %s holds cancelled order %s (offer %v)", r, id, ok)
			}
		}
		for _, id := range holds(e, k.riders[r], r) {
			if slices.Contains(all, id) {
				t.Errorf("rider %s's app shows order %s of the suspended store", r, id)
			}
		}
	}
	if r := e.Call(k.platform, "POST", "/v1/orders", orderBody(storeA, milk), "Idempotency-Key", "dd-after"); r.Status != http.StatusConflict {
		t.Errorf("an order after the suspension: %d %s, want 409", r.Status, r.Body)
	}
	sus := e.Must(k.op, "GET", "/v1/suspensions?store_id="+storeA.ID, nil)
	recs := asList(get(sus, "records"))
	if len(recs) != 1 {
		t.Fatalf("audit: %d entries, want 1: %v", len(recs), recs)
	}
	listed := map[string]bool{}
	for _, id := range asList(get(recs[0], "cancelled_order_ids")) {
		if listed[id.(string)] {
			t.Errorf("audit lists %s twice", id)
		}
		listed[id.(string)] = true
	}
	for id := range cancelled {
		if !listed[id] {
			t.Errorf("cancelled order %s missing from the audit", id)
		}
	}
	for id := range listed {
		if !cancelled[id] {
			t.Errorf("audit lists order %s, which is not cancelled", id)
		}
	}
	t.Logf("%s: stages before the suspension %v; %d orders, %d late, %d cancelled (%d with a rider), %d on the road, %d rounds",
		backend, n, len(all), len(late), len(cancelled), withRider, onRoad, rounds.Load())
}

// rideDuring plays a rider through REST until ctx ends: kind 0 picks up
// every trip it gets and delivers once suspended is closed, kind 1 accepts
// and waits at the store until race is closed, then does as kind 0, kind 2
// accepts, kind 3 never answers. Refusals of steps (a trip taken back by
// the suspension) are part of the game.
func rideDuring(ctx context.Context, e *env, key, rider string, kind int, race, suspended <-chan struct{}) {
	base := "/v1/riders/" + rider
	post := func(path string, body any) int { return e.Call(key, "POST", base+path, body).Status }
	for ctx.Err() == nil {
		if kind == 1 {
			select {
			case <-race:
				kind = 0
			default:
			}
		}
		_ = e.Engine.Ping(rider, storeA.Point)
		trips := e.Call(key, "GET", base+"/trips", nil)
		if trips.Status != http.StatusOK {
			return
		}
		for _, tr := range asList(get(trips.JSON(e.T), "trips")) {
			id := str(tr, "trip_id")
			switch {
			case kind == 3:
			case get(tr, "offered") == true:
				post("/trips/"+id+":accept", map[string]any{})
			case kind == 0 && get(tr, "picked_up") != true:
				var codes []string
				for _, s := range asList(get(tr, "stops")) {
					codes = append(codes, str(s, "pickup_code"))
				}
				post("/trips/"+id+":arrive", map[string]any{})
				post("/trips/"+id+":pickUp", map[string]any{"pickup_codes": codes})
			case kind == 0:
				select {
				case <-suspended:
					for _, s := range asList(get(tr, "stops")) {
						if str(s, "delivery") == "DELIVERY_STATUS_DELIVERED" {
							continue
						}
						o := "/orders/" + str(s, "order_id")
						post(o+":arrive", map[string]any{})
						post(o+":dropOff", map[string]any{"handover": "HANDOVER_DOOR"})
					}
				default:
				}
			case kind == 1:
				post("/trips/"+id+":arrive", map[string]any{})
			}
		}
		time.Sleep(time.Millisecond)
	}
}
