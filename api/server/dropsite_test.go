package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"zhengxiang/api/auth"
	"zhengxiang/api/server/servertest"
	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// The drop sites of the tests: a compound's east gate, south-west of store A, where its locker
// and its drop point stand, about 2.9 km from the consumer's door near, and its west gate.
var (
	eastGate = geo.Point{Lat: 34.7300, Lng: 113.6150}
	westGate = geo.Point{Lat: 34.7452, Lng: 113.6190}
)

// siteEnv is an API with one rider per order (no bundles), a platform, a store and an operator.
type siteEnv struct {
	*env
	platform, merchant, operator string
}

func newSiteEnv(t *testing.T, backend string) siteEnv {
	t.Helper()
	e := servertest.New(t, servertest.Options{Backend: backend, Stores: []orders.Store{storeA, storeB, storeC},
		Configure: func(c *dispatch.Config) { c.MaxBundle = 1 }})
	return siteEnv{env: e,
		platform: e.Key(auth.Principal{Role: auth.RolePlatform, Platform: "meituan"}),
		merchant: e.Key(auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeA.ID}}),
		operator: e.Key(auth.Principal{Role: auth.RoleOperator}),
	}
}

func latLngOf(p geo.Point) map[string]any { return map[string]any{"lat": p.Lat, "lng": p.Lng} }

// register registers a site; slots 0 makes a drop point.
func (e siteEnv) register(id, name string, gate geo.Point, slots int) {
	e.T.Helper()
	kind := "HANDOVER_DROP_POINT"
	if slots > 0 {
		kind = "HANDOVER_LOCKER"
	}
	site := e.Must(e.operator, "POST", "/v1/drop-sites", map[string]any{"site_id": id, "kind": kind, "name": name,
		"compound": "建业森林半岛", "gate": latLngOf(gate), "slots": slots})
	if str(site, "site", "site_id") != id || num(get(site, "site", "free_slots")) != slots {
		e.T.Fatalf("registered %s: %v", id, site)
	}
}

// freeSlots returns the free slots of a site, as operators list them.
func (e siteEnv) freeSlots(id string) int {
	e.T.Helper()
	for _, s := range get(e.Must(e.operator, "GET", "/v1/drop-sites", nil), "sites").([]any) {
		if str(s, "site_id") == id {
			return num(get(s, "free_slots"))
		}
	}
	e.T.Fatalf("site %s not listed", id)
	return 0
}

// create places an order of store A for the consumer at near, to the site given (none: the door).
func (e siteEnv) create(key, method, site string) servertest.Reply {
	e.T.Helper()
	body := map[string]any{
		"store_id": storeA.ID, "address": "二七区 建设东路 8 号 3 单元",
		"items":   []any{map[string]any{"sku": "milk-1l", "name": "牛奶 1L", "qty": 1, "price_cents": 1290}},
		"dropoff": latLngOf(near), "dropoff_method": method, "dropoff_site_id": site,
	}
	if method == "" {
		delete(body, "dropoff_method")
	}
	return e.Call(e.platform, "POST", "/v1/orders", body, "Idempotency-Key", key)
}

// mustCreate places an order and has the store accept it and mark it ready; it returns the order.
func (e siteEnv) mustCreate(key, method, site string) map[string]any {
	e.T.Helper()
	r := e.create(key, method, site)
	if r.Status != http.StatusOK {
		e.T.Fatalf("create %s: %d %s", key, r.Status, r.Body)
	}
	o := get(r.JSON(e.T), "order").(map[string]any)
	e.Must(e.merchant, "POST", "/v1/orders/"+str(o, "id")+":accept", map[string]any{})
	e.Must(e.merchant, "POST", "/v1/orders/"+str(o, "id")+":markReady", map[string]any{})
	return o
}

// rider starts a rider's shift at store A and returns its key.
func (e siteEnv) rider(id string) string {
	e.T.Helper()
	k := e.Key(auth.Principal{Role: auth.RoleRider, Rider: id})
	e.Must(k, "POST", "/v1/riders/"+id+":startShift", map[string]any{"position": latLngOf(storeA.Point)})
	return k
}

// offer returns the trip offered to the rider and its first stop, after rounds until one is.
func (e siteEnv) offer(key, rider string) (string, map[string]any) {
	e.T.Helper()
	for range 10 {
		trips := e.Must(key, "GET", "/v1/riders/"+rider+"/trips", nil)
		if id := str(trips, "trips", 0, "trip_id"); id != "" {
			return id, get(trips, "trips", 0, "stops", 0).(map[string]any)
		}
		e.RoundUntilOffered(key, rider, storeA.Point)
	}
	e.T.Fatalf("no trip offered to %s", rider)
	return "", nil
}

// num returns a JSON number as an int; 0 when it is left out, as zero values are.
func num(v any) int { f, _ := v.(float64); return int(f) }

func getList(v any, k string) []any { l, _ := get(v, k).([]any); return l }

func wantStatus(t *testing.T, what string, r servertest.Reply, status int, field string) {
	t.Helper()
	if r.Status != status || (field != "" && !strings.Contains(string(r.Body), field)) {
		t.Fatalf("%s: %d %s, want %d naming %q", what, r.Status, r.Body, status, field)
	}
}

// TestDropSitesThroughREST registers, lists and closes drop sites, refuses orders to an unknown,
// closed or mismatched site, and checks that a drop point's order is delivered and promised to
// the compound's gate.
func TestDropSitesThroughREST(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newSiteEnv(t, backend)
			e.register("L1", "丰巢 东门柜", eastGate, 2)
			e.register("D1", "东门快递架", eastGate, 0)
			e.register("D2", "西门快递架", westGate, 0)
			site := func(body map[string]any) map[string]any {
				out := map[string]any{"kind": "HANDOVER_LOCKER", "name": "柜", "compound": "院", "gate": latLngOf(eastGate), "slots": 3}
				for k, v := range body {
					out[k] = v
				}
				return out
			}
			for field, body := range map[string]map[string]any{
				"kind": site(map[string]any{"kind": "HANDOVER_DOOR"}), "slots": site(map[string]any{"slots": 0}),
				"gate": site(map[string]any{"gate": latLngOf(geo.Point{Lat: 39.9, Lng: 116.4})}), "name": site(map[string]any{"name": ""}),
				"site_id": site(map[string]any{"site_id": "L 2"}),
			} {
				wantStatus(t, "a site with a bad "+field, e.Call(e.operator, "POST", "/v1/drop-sites", body), http.StatusBadRequest, field)
			}
			wantStatus(t, "a second L1", e.Call(e.operator, "POST", "/v1/drop-sites", site(map[string]any{"site_id": "L1"})), http.StatusConflict, "L1")
			wantStatus(t, "a platform registering", e.Call(e.platform, "POST", "/v1/drop-sites", site(nil)), http.StatusForbidden, "")
			wantStatus(t, "a platform listing without near", e.Call(e.platform, "GET", "/v1/drop-sites", nil), http.StatusBadRequest, "near")

			// The consumer at near sees the sites by distance, with the locker's free slots.
			list := e.Must(e.platform, "GET", fmt.Sprintf("/v1/drop-sites?near.lat=%v&near.lng=%v&radius_m=5000", near.Lat, near.Lng), nil)
			var ids []string
			for _, s := range getList(list, "sites") {
				ids = append(ids, str(s, "site_id"))
			}
			if strings.Join(ids, " ") != "D2 D1 L1" || get(list, "sites", 2, "free_slots") != 2.0 || get(list, "sites", 0, "distance_m") == nil {
				t.Fatalf("sites near the door: %v", list)
			}

			// Unknown, mismatched and missing sites are 400 naming dropoff_site_id.
			wantStatus(t, "an unknown site", e.create("mt-x1", "HANDOVER_LOCKER", "nope"), http.StatusBadRequest, "dropoff_site_id")
			wantStatus(t, "a locker order at a drop point", e.create("mt-x2", "HANDOVER_LOCKER", "D1"), http.StatusBadRequest, "dropoff_site_id")
			wantStatus(t, "a drop point order without its site", e.create("mt-x3", "HANDOVER_DROP_POINT", ""), http.StatusBadRequest, "dropoff_site_id")
			wantStatus(t, "a door order naming a site", e.create("mt-x4", "", "D1"), http.StatusBadRequest, "dropoff_site_id")

			// A drop point order goes, and is promised, to the gate; the consumer's address stays.
			placed := e.Clock.Now()
			o := e.mustCreate("mt-d1", "HANDOVER_DROP_POINT", "D1")
			cfg := e.Engine.Config()
			_, toGate := cfg.PromiseFor(storeA.Section, placed, storeA.PrepMinutes, geo.DefaultRoadModel(), storeA.Point, eastGate)
			_, toDoor := cfg.PromiseFor(storeA.Section, placed, storeA.PrepMinutes, geo.DefaultRoadModel(), storeA.Point, near)
			if toGate.Equal(toDoor) {
				t.Fatal("the test's gate and door are promised alike: move them apart")
			}
			if str(o, "promise_at") != toGate.UTC().Format(time.RFC3339) || get(o, "dropoff", "lat") != eastGate.Lat ||
				str(o, "dropoff_site_id") != "D1" || str(o, "address") != "二七区 建设东路 8 号 3 单元" {
				t.Fatalf("a drop point order (promise %s to the gate, %s to the door): %v", toGate.UTC(), toDoor.UTC(), o)
			}
			q := e.Must(e.platform, "POST", "/v1/quotes", map[string]any{"dropoff": latLngOf(near),
				"dropoff_method": "HANDOVER_DROP_POINT", "dropoff_site_id": "D1"})
			for _, s := range getList(q, "stores") {
				if str(s, "store_id") == storeA.ID && str(s, "promise_at") != str(o, "promise_at") {
					t.Fatalf("the quote to the gate promises %s, the order %s", str(s, "promise_at"), str(o, "promise_at"))
				}
			}
			if str(q, "dropoff_site", "name") != "东门快递架" || get(q, "locker_full") == true {
				t.Fatalf("quote to D1: %v", q)
			}
			tr := e.Must("", "GET", "/v1/tracking/"+str(o, "tracking_token"), nil)
			if str(tr, "tracking", "dropoff_site_name") != "东门快递架" || str(tr, "tracking", "dropoff_compound") != "建业森林半岛" {
				t.Fatalf("tracking of a drop point order: %v", tr)
			}
			r1 := e.rider("R1")
			trip, stop := e.offer(r1, "R1")
			if str(stop, "dropoff_site_id") != "D1" || str(stop, "dropoff_site_name") != "东门快递架" ||
				str(stop, "dropoff_compound") != "建业森林半岛" || get(stop, "dropoff", "lng") != eastGate.Lng {
				t.Fatalf("the rider's stop: %v", stop)
			}
			e.Must(r1, "POST", "/v1/riders/R1/trips/"+trip+":decline", map[string]any{})

			// A closed site takes no new order, and platforms no longer see it.
			if c := e.Must(e.operator, "POST", "/v1/drop-sites/D2:close", map[string]any{}); get(c, "site", "closed") != true {
				t.Fatalf("closed D2: %v", c)
			}
			wantStatus(t, "an order to a closed site", e.create("mt-x5", "HANDOVER_DROP_POINT", "D2"), http.StatusBadRequest, "dropoff_site_id")
			list = e.Must(e.platform, "GET", fmt.Sprintf("/v1/drop-sites?near.lat=%v&near.lng=%v&radius_m=5000", near.Lat, near.Lng), nil)
			if n := len(getList(list, "sites")); n != 2 {
				t.Fatalf("after closing D2 the platform sees %d sites: %v", n, list)
			}
			wantStatus(t, "closing an unknown site", e.Call(e.operator, "POST", "/v1/drop-sites/nope:close", map[string]any{}), http.StatusNotFound, "")
		})
	}
}

// TestLockerSlotsThroughREST follows a locker's slots: reserved when the rider accepts, freed when
// the order is cancelled, kept after the drop-off and freed when the consumer confirms the
// receipt; a full locker refuses new orders (409, and the quote says so); and a locker that
// fills between the order and the rider's acceptance refuses the acceptance, the order waiting
// for a slot.
func TestLockerSlotsThroughREST(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newSiteEnv(t, backend)
			e.register("L1", "丰巢 东门柜", eastGate, 1)
			r1 := e.rider("R1")

			// Accepted: the slot is reserved. Cancelled: it is free again.
			a := e.mustCreate("mt-a", "HANDOVER_LOCKER", "L1")
			if e.freeSlots("L1") != 1 {
				t.Fatal("a slot is held before any rider accepted the order")
			}
			trip, _ := e.offer(r1, "R1")
			e.Must(r1, "POST", "/v1/riders/R1/trips/"+trip+":accept", map[string]any{})
			if n := e.freeSlots("L1"); n != 0 {
				t.Fatalf("after the acceptance %d slots are free, want 0", n)
			}
			q := e.Must(e.platform, "POST", "/v1/quotes", map[string]any{"dropoff": latLngOf(near),
				"dropoff_method": "HANDOVER_LOCKER", "dropoff_site_id": "L1"})
			if get(q, "locker_full") != true || get(q, "dropoff_site", "free_slots") != nil {
				t.Fatalf("the quote to a full locker: %v", q)
			}
			wantStatus(t, "an order to a full locker", e.create("mt-full", "HANDOVER_LOCKER", "L1"), http.StatusConflict, "full")
			e.Must(e.platform, "POST", "/v1/orders/"+str(a, "id")+":cancel", map[string]any{"reason": "ordered twice"})
			if n := e.freeSlots("L1"); n != 1 {
				t.Fatalf("after the cancellation %d slots are free, want 1", n)
			}

			// Delivered into the locker: the slot stays taken until the consumer confirms.
			b := e.mustCreate("mt-b", "HANDOVER_LOCKER", "L1")
			trip, stop := e.offer(r1, "R1")
			if str(stop, "order_id") != str(b, "id") || str(stop, "dropoff_site_name") != "丰巢 东门柜" {
				t.Fatalf("the offered stop: %v", stop)
			}
			acc := e.Must(r1, "POST", "/v1/riders/R1/trips/"+trip+":accept", map[string]any{})
			e.Must(r1, "POST", "/v1/riders/R1/trips/"+trip+":arrive", map[string]any{})
			e.Must(r1, "POST", "/v1/riders/R1/trips/"+trip+":pickUp", map[string]any{"pickup_codes": []string{str(acc, "trip", "stops", 0, "pickup_code")}})
			e.Must(r1, "POST", "/v1/riders/R1/orders/"+str(b, "id")+":arrive", map[string]any{})
			wantStatus(t, "a door drop-off of a locker order", e.Call(r1, "POST", "/v1/riders/R1/orders/"+str(b, "id")+":dropOff",
				map[string]any{"handover": "HANDOVER_DOOR"}), http.StatusConflict, "LOCKER")
			e.Must(r1, "POST", "/v1/riders/R1/orders/"+str(b, "id")+":dropOff", map[string]any{"handover": "HANDOVER_LOCKER", "code": "L1-07 5531"})
			if n := e.freeSlots("L1"); n != 0 {
				t.Fatalf("after the drop-off %d slots are free, want 0: the goods are in it", n)
			}
			tr := e.Must("", "GET", "/v1/tracking/"+str(b, "tracking_token"), nil)
			if str(tr, "tracking", "dropoff_site_name") != "丰巢 东门柜" || str(tr, "tracking", "dropoff_code") != "L1-07 5531" {
				t.Fatalf("tracking of the locker order: %v", tr)
			}
			e.Must("", "POST", "/v1/tracking/"+str(b, "tracking_token")+":confirm", map[string]any{})
			if n := e.freeSlots("L1"); n != 1 {
				t.Fatalf("after the receipt %d slots are free, want 1", n)
			}

			// Two orders while the slot is free; the second rider to accept finds it taken.
			e.mustCreate("mt-c", "HANDOVER_LOCKER", "L1")
			e.mustCreate("mt-d", "HANDOVER_LOCKER", "L1")
			r2 := e.rider("R2")
			tripC, stopC := e.offer(r1, "R1")
			tripD, stopD := e.offer(r2, "R2")
			if str(stopC, "order_id") == str(stopD, "order_id") {
				t.Fatalf("both riders offered %s", str(stopC, "order_id"))
			}
			e.Must(r1, "POST", "/v1/riders/R1/trips/"+tripC+":accept", map[string]any{})
			wantStatus(t, "accepting an order of a full locker", e.Call(r2, "POST", "/v1/riders/R2/trips/"+tripD+":accept", map[string]any{}),
				http.StatusConflict, "locker L1 is full")
			waiting := str(stopD, "order_id")
			if o := e.Must(e.platform, "GET", "/v1/orders/"+waiting, nil); str(o, "order", "delivery") != "DELIVERY_STATUS_UNASSIGNED" ||
				str(o, "order", "reason") != "locker full" || e.freeSlots("L1") != 0 {
				t.Fatalf("the order refused for a full locker: %v", o)
			}
			for range 3 {
				if st := e.Round(); len(st.Offers) > 0 {
					t.Fatalf("the waiting order was offered again at once: %+v", st.Offers)
				}
			}
			// The first order is cancelled; after the wait the second is offered and taken.
			first := str(stopC, "order_id")
			e.Must(e.platform, "POST", "/v1/orders/"+first+":cancel", map[string]any{"reason": "changed my mind"})
			e.Clock.Set(e.Clock.Now().Add(dispatch.SlotWait))
			trip, stop = e.offer(r1, "R1")
			if str(stop, "order_id") != waiting {
				t.Fatalf("offered %v, want the waiting order %s", stop, waiting)
			}
			e.Must(r1, "POST", "/v1/riders/R1/trips/"+trip+":accept", map[string]any{})
			if n := e.freeSlots("L1"); n != 0 {
				t.Fatalf("after the waiting order's acceptance %d slots are free, want 0", n)
			}
		})
	}
}

// TestLockerSlotRace has eight riders accept, at once, eight orders of a locker of three slots:
// exactly three acceptances are taken and the locker is never over-booked.
func TestLockerSlotRace(t *testing.T) {
	const riders, slots = 8, 3
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newSiteEnv(t, backend)
			e.register("L1", "丰巢 东门柜", eastGate, slots)
			keys := make([]string, riders)
			for i := range riders {
				e.mustCreate(fmt.Sprintf("mt-r%d", i), "HANDOVER_LOCKER", "L1")
				keys[i] = e.rider(fmt.Sprintf("R%d", i))
			}
			e.RoundUntilOffered(keys[0], "R0", storeA.Point)
			trips := make([]string, riders)
			for range 5 {
				for i := range riders { // the rounds took minutes: the riders report where they are
					e.Must(keys[i], "POST", fmt.Sprintf("/v1/riders/R%d/locations:batchReport", i), map[string]any{"locations": []any{
						map[string]any{"position": latLngOf(storeA.Point), "at": e.Clock.Now().Format(time.RFC3339Nano)}}})
				}
				offered := 0
				for i := range riders {
					trips[i] = str(e.Must(keys[i], "GET", fmt.Sprintf("/v1/riders/R%d/trips", i), nil), "trips", 0, "trip_id")
					if trips[i] != "" {
						offered++
					}
				}
				if offered == riders {
					break
				}
				e.Round()
			}
			if slices.Contains(trips, "") {
				t.Fatalf("trips offered: %q, want one to each rider", trips)
			}
			var wg sync.WaitGroup
			status := make([]int, riders)
			for i := range riders {
				wg.Go(func() {
					r := e.Call(keys[i], "POST", fmt.Sprintf("/v1/riders/R%d/trips/%s:accept", i, trips[i]), map[string]any{})
					status[i] = r.Status
				})
			}
			wg.Wait()
			ok, full := 0, 0
			for _, s := range status {
				switch s {
				case http.StatusOK:
					ok++
				case http.StatusConflict:
					full++
				}
			}
			if ok != slots || full != riders-slots || e.freeSlots("L1") != 0 {
				t.Fatalf("accepted %d and refused %d of %d (statuses %v), %d slots free; want %d accepted, the rest refused, none free",
					ok, full, riders, status, e.freeSlots("L1"), slots)
			}
			ds := e.Repo.(orders.DropSiteStore)
			if site, err := ds.DropSite(e.Ctx, "L1"); err != nil || site.Reserved != slots {
				t.Fatalf("L1 = %+v, %v; want %d reserved", site, err, slots)
			}
		})
	}
}
