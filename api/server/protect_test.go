package server_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"zhengxiang/api/auth"
	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// TestProtectCapacity: a rider of capacity 1 holding an order is offered
// no second one, neither alone nor chained after its trip, however long the
// second waits; once the first is delivered it gets the second.
func TestProtectCapacity(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			platform := fastKey(e, auth.Principal{Role: auth.RolePlatform, Platform: "meituan"})
			merchant := fastKey(e, auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeA.ID}})
			keys := map[string]string{"R1": fastKey(e, auth.Principal{Role: auth.RoleRider, Rider: "R1"})}
			at := map[string]geo.Point{"R1": storeA.Point}
			startRider(e, keys["R1"], "R1", storeA.Point, 1)
			first := place(e, platform, storeA, "cap-1", milk)
			readied(e, merchant, first)
			if rider := roundsUntil(e, 20, keys, at); rider != "R1" {
				t.Fatalf("first order offered to %q, want R1", rider)
			}
			trip := str(e.Must(keys["R1"], "GET", "/v1/riders/R1/trips", nil), "trips", 0, "trip_id")
			e.Must(keys["R1"], "POST", "/v1/riders/R1/trips/"+trip+":accept", map[string]any{})

			second := place(e, platform, storeA, "cap-2", loaf)
			readied(e, merchant, second)
			if rider := roundsUntil(e, 15, keys, at); rider != "" {
				t.Fatalf("%s was offered the second order while holding the first at capacity 1", rider)
			}
			if got := holds(e, keys["R1"], "R1"); !slices.Equal(got, []string{first}) {
				t.Fatalf("R1 holds %v, want only %s", got, first)
			}
			e.Must(keys["R1"], "POST", "/v1/riders/R1/trips/"+trip+":pickUp", map[string]any{"pickup_codes": []string{order(e, first).PickupCode}})
			if rider := roundsUntil(e, 5, keys, at); rider != "" {
				t.Fatalf("%s was offered the second order with the first on board", rider)
			}
			deliver(e, keys["R1"], "R1", first)
			if rider := roundsUntil(e, 20, keys, at); rider != "R1" {
				t.Fatalf("second order offered to %q after the first was delivered, want R1", rider)
			}
			if got := holds(e, keys["R1"], "R1"); !slices.Equal(got, []string{second}) {
				t.Fatalf("R1 holds %v, want %s", got, second)
			}
		})
	}
}

// dispatchRider returns a rider of the operators' dispatch view.
func dispatchRider(e *env, key, id string) any {
	e.T.Helper()
	for _, r := range asList(get(e.Must(key, "GET", "/v1/dispatch", nil), "riders")) {
		if str(r, "rider_id") == id {
			return r
		}
	}
	e.T.Fatalf("rider %s is not on the dispatch view", id)
	return nil
}

// TestWorkingTime follows a rider's time on shift over a day of China
// Standard Time, across two shifts, on the engine's clock: before eight
// hours the operators see it without a warning and it is offered trips;
// past eight hours with a warning, still offered trips; from twelve hours
// it is offered nothing, while a fresh rider beside it is. The next day
// counts from zero.
func TestWorkingTime(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			day := orders.DayOf(e.Clock.Now()).AddDays(1)
			e.Clock.Set(day.Start().Add(30 * time.Minute)) // 00:30
			platform := fastKey(e, auth.Principal{Role: auth.RolePlatform, Platform: "meituan"})
			merchant := fastKey(e, auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeA.ID}})
			operator := fastKey(e, auth.Principal{Role: auth.RoleOperator})
			keys := map[string]string{
				"R1": fastKey(e, auth.Principal{Role: auth.RoleRider, Rider: "R1"}),
				"R2": fastKey(e, auth.Principal{Role: auth.RoleRider, Rider: "R2"}),
			}
			r1 := map[string]geo.Point{"R1": storeA.Point}
			shift := func(hours int) {
				end := e.Clock.Now().Add(time.Duration(hours) * time.Hour)
				e.Must(keys["R1"], "POST", "/v1/riders/R1:startShift", map[string]any{
					"position": map[string]any{"lat": storeA.Point.Lat, "lng": storeA.Point.Lng}, "shift_end": end.Format(time.RFC3339)})
			}
			work := func(wantMin, wantMax int, warning bool) {
				t.Helper()
				r := dispatchRider(e, operator, "R1")
				m, _ := get(r, "working_minutes").(float64)
				stopped := wantMin >= 12*60
				if int(m) < wantMin || int(m) > wantMax || (get(r, "warning") == true) != warning || (get(r, "stopped") == true) != stopped {
					t.Fatalf("R1 on the dispatch view at %s: %v; want %d to %d working minutes, warning %v, stopped %v",
						e.Clock.Now().In(orders.CST).Format("15:04"), r, wantMin, wantMax, warning, stopped)
				}
			}
			// delivered takes an order through R1's hands.
			delivered := func(key string) {
				t.Helper()
				id := place(e, platform, storeA, key, milk)
				readied(e, merchant, id)
				if rider := roundsUntil(e, 20, keys, r1); rider != "R1" {
					t.Fatalf("order %s offered to %q at %s, want R1", key, rider, e.Clock.Now().In(orders.CST).Format("15:04"))
				}
				trip := str(e.Must(keys["R1"], "GET", "/v1/riders/R1/trips", nil), "trips", 0, "trip_id")
				e.Must(keys["R1"], "POST", "/v1/riders/R1/trips/"+trip+":accept", map[string]any{})
				e.Must(keys["R1"], "POST", "/v1/riders/R1/trips/"+trip+":pickUp", map[string]any{"pickup_codes": []string{order(e, id).PickupCode}})
				deliver(e, keys["R1"], "R1", id)
			}

			// A first shift of seven hours, 00:30 to 07:30, ended early at 07:00.
			shift(7)
			delivered("wt-1")
			e.Clock.Set(day.Start().Add(7 * time.Hour))
			work(390, 390, false)
			e.Must(keys["R1"], "POST", "/v1/riders/R1:endShift", map[string]any{})
			// A second shift from 08:00 counts on from the first: off shift the
			// time did not run. Past eight hours in the day at 09:30.
			e.Clock.Set(day.Start().Add(8 * time.Hour))
			shift(12)
			work(390, 390, false)
			e.Clock.Set(day.Start().Add(9 * time.Hour))
			work(450, 450, false)
			e.Clock.Set(day.Start().Add(9*time.Hour + 31*time.Minute))
			work(481, 481, true)
			delivered("wt-2")
			// From twelve hours in the day, 13:30: no offer, even alone with an order.
			e.Clock.Set(day.Start().Add(13*time.Hour + 31*time.Minute))
			work(721, 721, true)
			id := place(e, platform, storeA, "wt-3", milk)
			readied(e, merchant, id)
			if rider := roundsUntil(e, 15, keys, r1); rider != "" {
				t.Fatalf("%s was offered a trip past twelve hours of work", rider)
			}
			e.Must(keys["R2"], "POST", "/v1/riders/R2:startShift", map[string]any{"position": map[string]any{"lat": storeA.Point.Lat, "lng": storeA.Point.Lng}})
			if rider := roundsUntil(e, 20, keys, map[string]geo.Point{"R1": storeA.Point, "R2": storeA.Point}); rider != "R2" {
				t.Fatalf("the order went to %q, want R2, the fresh rider", rider)
			}
			trip := str(e.Must(keys["R2"], "GET", "/v1/riders/R2/trips", nil), "trips", 0, "trip_id")
			e.Must(keys["R2"], "POST", "/v1/riders/R2/trips/"+trip+":accept", map[string]any{})
			e.Must(keys["R2"], "POST", "/v1/riders/R2/trips/"+trip+":pickUp", map[string]any{"pickup_codes": []string{order(e, id).PickupCode}})
			deliver(e, keys["R2"], "R2", id)
			// The next day counts from zero: a shift from 07:00 is offered trips.
			e.Must(keys["R1"], "POST", "/v1/riders/R1:endShift", map[string]any{})
			e.Clock.Set(day.AddDays(1).Start().Add(7 * time.Hour))
			shift(8)
			work(0, 0, false)
			delivered("wt-4")
		})
	}
}

// TestStaleRiderReassigned: a rider who accepted a trip and stops
// reporting its position loses it when its position goes stale: the order
// is reassigned with the reason "rider position stale", as its events say
// through the API, and another rider gets it.
func TestStaleRiderReassigned(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			platform := fastKey(e, auth.Principal{Role: auth.RolePlatform, Platform: "meituan"})
			merchant := fastKey(e, auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeA.ID}})
			keys := map[string]string{
				"R1": fastKey(e, auth.Principal{Role: auth.RoleRider, Rider: "R1"}),
				"R2": fastKey(e, auth.Principal{Role: auth.RoleRider, Rider: "R2"}),
			}
			startRider(e, keys["R1"], "R1", storeA.Point, 0)
			id := place(e, platform, storeA, "st-1", milk)
			readied(e, merchant, id)
			if rider := roundsUntil(e, 20, keys, map[string]geo.Point{"R1": storeA.Point}); rider != "R1" {
				t.Fatalf("offered to %q, want R1", rider)
			}
			trip := str(e.Must(keys["R1"], "GET", "/v1/riders/R1/trips", nil), "trips", 0, "trip_id")
			e.Must(keys["R1"], "POST", "/v1/riders/R1/trips/"+trip+":accept", map[string]any{})
			startRider(e, keys["R2"], "R2", storeA.Point, 0)

			// R1 goes silent; R2 keeps reporting. Past the stale limit a round
			// takes the order back from R1 and offers it to R2.
			e.Clock.Set(e.Clock.Now().Add(e.Engine.Config().StaleAfter + time.Minute))
			pingAll(e, keys, map[string]geo.Point{"R2": storeA.Point})
			st := e.Round()
			if st.Reassigned != 1 || !slices.Contains(st.Withdrawn, trip) {
				t.Fatalf("round: %d reassigned, withdrew %v; want R1's trip %s", st.Reassigned, st.Withdrawn, trip)
			}
			if !slices.ContainsFunc(st.Offers, func(o dispatch.Offer) bool { return o.RiderID == "R2" }) {
				if rider := roundsUntil(e, 10, keys, map[string]geo.Point{"R2": storeA.Point}); rider != "R2" {
					t.Fatalf("after the reassignment the order went to %q, want R2", rider)
				}
			}
			if got := holds(e, keys["R1"], "R1"); len(got) != 0 {
				t.Fatalf("R1 still holds %v", got)
			}
			evs := asList(get(e.Must(platform, "GET", "/v1/orders/"+id+"/events", nil), "events"))
			var types []string
			reassigned, reoffered := -1, -1
			for i, ev := range evs {
				types = append(types, str(ev, "type"))
				switch {
				case str(ev, "type") == "EVENT_TYPE_REASSIGNED":
					if str(ev, "reason") != "rider position stale" || str(ev, "rider_id") != "R1" {
						t.Errorf("REASSIGNED event %v, want R1 released for \"rider position stale\"", ev)
					}
					reassigned = i
				case str(ev, "type") == "EVENT_TYPE_OFFERED" && str(ev, "rider_id") == "R2":
					reoffered = i
				}
			}
			if reassigned < 0 || reoffered < reassigned {
				t.Fatalf("events %v: want REASSIGNED from R1, then OFFERED to R2", types)
			}
			// The order goes on with R2.
			trip = str(e.Must(keys["R2"], "GET", "/v1/riders/R2/trips", nil), "trips", 0, "trip_id")
			if r := e.Call(keys["R2"], "POST", "/v1/riders/R2/trips/"+trip+":accept", map[string]any{}); r.Status != http.StatusOK {
				t.Fatalf("R2 accepts: %d %s", r.Status, r.Body)
			}
		})
	}
}
