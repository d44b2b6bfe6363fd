package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"zhengxiang/api/auth"
	"zhengxiang/api/server/servertest"
	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// newCardEnv serves the API over the backend with the three stores, the
// engine requiring health cards as serve's does, and the clock at 10:00 of
// the next day of China Standard Time, so that a test's hours stay within
// one day.
func newCardEnv(t *testing.T, backend string) *env {
	t.Helper()
	e := servertest.New(t, servertest.Options{Backend: backend, Stores: []orders.Store{storeA, storeB, storeC},
		Configure: func(c *dispatch.Config) { c.RequireHealthCard = true }})
	e.Clock.Set(orders.DayOf(e.Clock.Now()).AddDays(1).Start().Add(10 * time.Hour))
	return e
}

// pingAll reports each rider's position through REST, with its key.
func pingAll(e *env, keys map[string]string, at map[string]geo.Point) {
	e.T.Helper()
	for id, p := range at {
		e.Must(keys[id], "POST", "/v1/riders/"+id+"/locations:batchReport", map[string]any{"locations": []any{map[string]any{
			"position": map[string]any{"lat": p.Lat, "lng": p.Lng}, "at": e.Clock.Now().Format(time.RFC3339Nano)}}})
	}
}

// roundsUntil runs rounds a minute apart, the riders of at reporting their
// positions through REST before each, until a round offers a trip, and
// returns its rider ("" when none came in n rounds).
func roundsUntil(e *env, n int, keys map[string]string, at map[string]geo.Point) string {
	e.T.Helper()
	for range n {
		pingAll(e, keys, at)
		if st := e.Round(); len(st.Offers) > 0 {
			return st.Offers[0].RiderID
		}
		e.Clock.Set(e.Clock.Now().Add(time.Minute))
	}
	return ""
}

// recordCard records a rider's card through REST and returns the answer.
func recordCard(e *env, key, rider string, temp float64, code string) servertest.Reply {
	e.T.Helper()
	return e.Call(key, "POST", "/v1/riders/"+rider+"/healthCard", map[string]any{"temperature_c": temp, "health_code": code})
}

// TestHealthCardGatesOffers: with cards required, riders without a card,
// one at 37.8 °C and one with a yellow code get no offer, however long the
// order waits; a rider on shift who then records a valid card gets it. The consumer's tracking
// shows that rider's card, without naming the rider, from the assignment to
// the drop-off.
func TestHealthCardGatesOffers(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newCardEnv(t, backend)
			platform := fastKey(e, auth.Principal{Role: auth.RolePlatform, Platform: "meituan"})
			merchant := fastKey(e, auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeA.ID}})
			keys, at := map[string]string{}, map[string]geo.Point{}
			for _, id := range []string{"R1", "R2", "R3", "R4"} {
				keys[id] = fastKey(e, auth.Principal{Role: auth.RoleRider, Rider: id})
			}
			// R1 has no card; R3 a fever; R4 a yellow code.
			for id, c := range map[string]struct {
				temp  float64
				code  string
				valid bool
			}{"R3": {37.8, "HEALTH_CODE_GREEN", false}, "R4": {36.4, "HEALTH_CODE_YELLOW", false}} {
				r := recordCard(e, keys[id], id, c.temp, c.code)
				card := get(r.JSON(t), "card")
				if r.Status != http.StatusOK || get(card, "valid") != nil || str(card, "health_code") != c.code ||
					get(card, "temperature_c") != c.temp || str(card, "day") != orders.DayOf(e.Clock.Now()).String() {
					t.Fatalf("%s's card: %d %s", id, r.Status, r.Body)
				}
			}
			for _, id := range []string{"R1", "R2", "R3", "R4"} {
				startRider(e, keys[id], id, storeA.Point, 0)
				at[id] = storeA.Point
			}
			// Cards the API refuses: implausible, without a code, another rider's.
			for _, c := range []struct {
				key, rider string
				temp       float64
				code       string
				want       int
			}{
				{keys["R1"], "R1", 33.5, "HEALTH_CODE_GREEN", http.StatusBadRequest},
				{keys["R1"], "R1", 42.5, "HEALTH_CODE_GREEN", http.StatusBadRequest},
				{keys["R1"], "R1", 36.5, "HEALTH_CODE_UNSPECIFIED", http.StatusBadRequest},
				{keys["R1"], "R2", 36.5, "HEALTH_CODE_GREEN", http.StatusForbidden},
				{platform, "R1", 36.5, "HEALTH_CODE_GREEN", http.StatusForbidden},
				{"", "R1", 36.5, "HEALTH_CODE_GREEN", http.StatusUnauthorized},
			} {
				if r := recordCard(e, c.key, c.rider, c.temp, c.code); r.Status != c.want {
					t.Errorf("card of %s at %v %s: %d %s, want %d", c.rider, c.temp, c.code, r.Status, r.Body, c.want)
				}
			}

			id := place(e, platform, storeA, "hc-1", milk)
			readied(e, merchant, id)
			if rider := roundsUntil(e, 20, keys, at); rider != "" {
				t.Fatalf("%s was offered a trip without a valid card", rider)
			}
			// R2, on shift, records a valid card and gets the order at once.
			if r := recordCard(e, keys["R2"], "R2", 36.6, "HEALTH_CODE_GREEN"); r.Status != http.StatusOK || get(r.JSON(t), "card", "valid") != true {
				t.Fatalf("R2's card: %d %s", r.Status, r.Body)
			}
			if rider := roundsUntil(e, 10, keys, at); rider != "R2" {
				t.Fatalf("offered to %q, want R2, the one rider with a valid card", rider)
			}
			token := order(e, id).TrackingToken()
			if tr := e.Must("", "GET", "/v1/tracking/"+token, nil); get(tr, "tracking", "rider_health") != nil {
				t.Fatalf("tracking shows a card while the trip is only offered: %v", tr)
			}
			trip := str(e.Must(keys["R2"], "GET", "/v1/riders/R2/trips", nil), "trips", 0, "trip_id")
			e.Must(keys["R2"], "POST", "/v1/riders/R2/trips/"+trip+":accept", map[string]any{})
			for _, step := range []func(){
				func() {},
				func() {
					e.Must(keys["R2"], "POST", "/v1/riders/R2/trips/"+trip+":pickUp", map[string]any{"pickup_codes": []string{order(e, id).PickupCode}})
				},
			} {
				step()
				r := e.Call("", "GET", "/v1/tracking/"+token, nil)
				h := get(r.JSON(t), "tracking", "rider_health")
				if get(h, "temperature_c") != 36.6 || str(h, "health_code") != "HEALTH_CODE_GREEN" || get(h, "valid") != true ||
					str(h, "recorded_at") == "" || str(h, "day") != orders.DayOf(e.Clock.Now()).String() {
					t.Fatalf("tracking's rider_health: %v", h)
				}
				if strings.Contains(string(r.Body), `"R2"`) || strings.Contains(string(r.Body), "rider_id") {
					t.Fatalf("tracking names the rider: %s", r.Body)
				}
			}
			deliver(e, keys["R2"], "R2", id)
			if tr := e.Must("", "GET", "/v1/tracking/"+token, nil); get(tr, "tracking", "rider_health") != nil {
				t.Fatalf("tracking shows the card after the drop-off: %v", tr)
			}
		})
	}
}

// TestTraceContacts delivers an order and asks, as the bureau, who touched
// it and who touched the compound it went to: the rider offered it first
// (who declined), the rider who delivered it and the store; nothing outside
// the window, another compound's own contacts only; and nobody but the
// bureau may ask.
func TestTraceContacts(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newCardEnv(t, backend)
			platform := fastKey(e, auth.Principal{Role: auth.RolePlatform, Platform: "meituan"})
			merchant := fastKey(e, auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeA.ID}})
			bureau := fastKey(e, auth.Principal{Role: auth.RoleBureau})
			keys := map[string]string{}
			for _, id := range []string{"R1", "R2"} {
				keys[id] = fastKey(e, auth.Principal{Role: auth.RoleRider, Rider: id})
				if r := recordCard(e, keys[id], id, 36.5, "HEALTH_CODE_GREEN"); r.Status != http.StatusOK {
					t.Fatalf("%s's card: %d %s", id, r.Status, r.Body)
				}
			}
			placed := e.Clock.Now()
			id := place(e, platform, storeA, "tc-1", milk)
			readied(e, merchant, id)
			// R1 is offered the trip and declines it; R2 delivers it.
			startRider(e, keys["R1"], "R1", storeA.Point, 0)
			if rider := roundsUntil(e, 20, keys, map[string]geo.Point{"R1": storeA.Point}); rider != "R1" {
				t.Fatalf("first offer to %q, want R1", rider)
			}
			trip := str(e.Must(keys["R1"], "GET", "/v1/riders/R1/trips", nil), "trips", 0, "trip_id")
			e.Must(keys["R1"], "POST", "/v1/riders/R1/trips/"+trip+":decline", map[string]any{})
			e.Clock.Set(e.Clock.Now().Add(5 * time.Minute))
			startRider(e, keys["R2"], "R2", storeA.Point, 0)
			if rider := roundsUntil(e, 20, keys, map[string]geo.Point{"R1": storeA.Point, "R2": storeA.Point}); rider != "R2" {
				t.Fatalf("second offer to %q, want R2", rider)
			}
			trip = str(e.Must(keys["R2"], "GET", "/v1/riders/R2/trips", nil), "trips", 0, "trip_id")
			e.Must(keys["R2"], "POST", "/v1/riders/R2/trips/"+trip+":accept", map[string]any{})
			e.Must(keys["R2"], "POST", "/v1/riders/R2/trips/"+trip+":pickUp", map[string]any{"pickup_codes": []string{order(e, id).PickupCode}})
			e.Clock.Set(e.Clock.Now().Add(10 * time.Minute))
			deliver(e, keys["R2"], "R2", id)
			delivered := e.Clock.Now()
			// Another order, delivered to another compound, by nobody yet.
			other := place(e, platform, storeC, "tc-2", milk)

			door := order(e, id).Dropoff
			cell := geo.CellOf(door, geo.PositionRes).String()
			if geo.CellOf(order(e, other).Dropoff, geo.PositionRes).String() == cell {
				t.Fatal("the two orders go to one cell")
			}
			trace := func(q url.Values) map[string]any {
				t.Helper()
				return e.Must(bureau, "GET", "/v1/contacts?"+q.Encode(), nil)
			}
			contacts := func(m map[string]any) []string {
				var out []string
				for _, c := range asList(get(m, "contacts")) {
					out = append(out, strings.TrimPrefix(str(c, "kind"), "CONTACT_KIND_")+":"+str(c, "id"))
				}
				return out
			}
			rfc := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
			want := []string{"RIDER:R1", "RIDER:R2", "STORE:" + storeA.ID}

			byOrder := trace(url.Values{"order_id": {id}})
			if got := contacts(byOrder); !slices.Equal(got, want) {
				t.Fatalf("contacts of the order: %v, want %v: %v", got, want, byOrder)
			}
			r2 := asList(get(byOrder, "contacts"))[1]
			if !slices.Equal(strList(get(r2, "order_ids")), []string{id}) || str(r2, "first_at") == "" || str(r2, "last_at") != rfcMilli(delivered) {
				t.Errorf("R2's contact: %v, want the order, from its offer to the drop-off at %s", r2, rfcMilli(delivered))
			}
			byCell := trace(url.Values{"cell": {cell}, "from": {rfc(placed.Add(-time.Hour))}, "to": {rfc(delivered.Add(time.Hour))}})
			if got := contacts(byCell); !slices.Equal(got, want) || !slices.Equal(strList(get(byCell, "order_ids")), []string{id}) {
				t.Fatalf("contacts of the compound: %v, want %v: %v", got, want, byCell)
			}
			// Windows that the order's life does not reach, and another compound.
			for _, q := range []url.Values{
				{"order_id": {id}, "from": {rfc(placed.Add(-3 * time.Hour))}, "to": {rfc(placed.Add(-time.Hour))}},
				{"order_id": {id}, "from": {rfc(delivered.Add(time.Minute))}, "to": {rfc(delivered.Add(time.Hour))}},
				{"cell": {cell}, "from": {rfc(delivered.Add(time.Minute))}, "to": {rfc(delivered.Add(time.Hour))}},
				{"cell": {geo.CellOf(storeC.Point, geo.PositionRes).String()}},
			} {
				if m := trace(q); len(asList(get(m, "contacts"))) != 0 {
					t.Errorf("contacts for %v: %v, want none", q, m)
				}
			}
			// The other compound: its order's store only, nobody rode it.
			if got := contacts(trace(url.Values{"cell": {geo.CellOf(order(e, other).Dropoff, geo.PositionRes).String()}})); !slices.Equal(got, []string{"STORE:" + storeC.ID}) {
				t.Errorf("contacts of the other compound: %v, want store C only", got)
			}
			// Within the window, only the riders in touch then: R1's offer
			// was declined before R2's was made.
			r1 := asList(get(byOrder, "contacts"))[0]
			r1Last, _ := time.Parse(time.RFC3339Nano, str(r1, "last_at"))
			if got := contacts(trace(url.Values{"order_id": {id}, "from": {rfc(r1Last.Add(time.Minute))}, "to": {rfc(delivered)}})); !slices.Equal(got, want[1:]) {
				t.Errorf("contacts after R1 declined: %v, want %v", got, want[1:])
			}

			// Questions the API refuses, and callers it refuses.
			for _, c := range []struct {
				key, query string
				want       int
			}{
				{bureau, "order_id=" + id + "&cell=" + cell, http.StatusBadRequest},
				{bureau, "", http.StatusBadRequest},
				{bureau, "cell=" + geo.CellOf(door, geo.CoverageRes).String(), http.StatusBadRequest},
				{bureau, "cell=nonsense", http.StatusBadRequest},
				{bureau, "order_id=" + id + "&from=" + url.QueryEscape(rfc(delivered)) + "&to=" + url.QueryEscape(rfc(placed)), http.StatusBadRequest},
				{bureau, "order_id=Onosuchorder", http.StatusNotFound},
				{platform, "order_id=" + id, http.StatusForbidden},
				{merchant, "order_id=" + id, http.StatusForbidden},
				{keys["R2"], "order_id=" + id, http.StatusForbidden},
				{fastKey(e, auth.Principal{Role: auth.RoleOperator}), "order_id=" + id, http.StatusForbidden},
				{"", "order_id=" + id, http.StatusUnauthorized},
			} {
				if r := e.Call(c.key, "GET", "/v1/contacts?"+c.query, nil); r.Status != c.want {
					t.Errorf("GET /v1/contacts?%s: %d %s, want %d", c.query, r.Status, r.Body, c.want)
				}
			}
		})
	}
}

// strList reads a JSON array of strings.
func strList(v any) []string {
	var out []string
	for _, x := range asList(v) {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// rfcMilli formats a time as the gateway writes a timestamp.
func rfcMilli(t time.Time) string {
	b, _ := json.Marshal(t.UTC())
	return strings.Trim(string(b), `"`)
}
