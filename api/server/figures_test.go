package server_test

import (
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"zhengxiang/api/auth"
	"zhengxiang/api/server/servertest"
	"zhengxiang/orders"
)

// TestFestivalFigures checks the bureau's figures through REST: orders of
// two platforms and two sections, one delivered, two cancelled for
// different reasons, split by platform then section, as JSON and as CSV.
func TestFestivalFigures(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			// One free delivery a day for each platform: meituan's Flavours order gets it.
			e := servertest.New(t, servertest.Options{Backend: backend, Stores: []orders.Store{storeA, storeB, storeC}, FreeDeliveryQuota: 1})
			mt := e.Key(auth.Principal{Role: auth.RolePlatform, Platform: "meituan"})
			el := e.Key(auth.Principal{Role: auth.RolePlatform, Platform: "eleme"})
			merchant := e.Key(auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeA.ID, storeB.ID}})
			rider := e.Key(auth.Principal{Role: auth.RoleRider, Rider: "R1"})
			bureau := e.Key(auth.Principal{Role: auth.RoleBureau})
			create := func(key, client, store string) string {
				return str(e.Must(key, "POST", "/v1/orders", map[string]any{"client_order_id": client, "store_id": store,
					"dropoff": map[string]any{"lat": near.Lat, "lng": near.Lng},
					"items":   []any{map[string]any{"sku": "x", "name": "x", "qty": 1, "price_cents": 1000}}}), "order", "id")
			}
			delivered := create(mt, "m-1", storeA.ID)
			second := create(mt, "m-2", storeA.ID)
			rejected := create(mt, "m-3", storeB.ID)
			cancelled := create(el, "e-1", storeA.ID)
			e.Must(merchant, "POST", "/v1/orders/"+rejected+":reject", map[string]any{"reason": "sold out"})
			e.Must(el, "POST", "/v1/orders/"+cancelled+":cancel", map[string]any{"reason": "changed my mind"})
			for _, id := range []string{delivered, second} {
				e.Must(merchant, "POST", "/v1/orders/"+id+":accept", map[string]any{})
				e.Must(merchant, "POST", "/v1/orders/"+id+":markReady", map[string]any{})
			}
			e.Must(rider, "POST", "/v1/riders/R1:startShift", map[string]any{"position": map[string]any{"lat": storeA.Point.Lat, "lng": storeA.Point.Lng}})
			e.RoundUntilOffered(rider, "R1", storeA.Point)
			trips := e.Must(rider, "GET", "/v1/riders/R1/trips", nil)
			trip := str(trips, "trips", 0, "trip_id")
			e.Must(rider, "POST", "/v1/riders/R1/trips/"+trip+":accept", map[string]any{})
			var codes []string
			for _, s := range get(e.Must(rider, "GET", "/v1/riders/R1/trips", nil), "trips", 0, "stops").([]any) {
				codes = append(codes, str(s, "pickup_code"))
			}
			e.Must(rider, "POST", "/v1/riders/R1/trips/"+trip+":pickUp", map[string]any{"pickup_codes": codes})
			for _, s := range get(e.Must(rider, "GET", "/v1/riders/R1/trips", nil), "trips", 0, "stops").([]any) {
				id := str(s, "order_id")
				e.Must(rider, "POST", "/v1/riders/R1/orders/"+id+":arrive", map[string]any{})
				e.Must(rider, "POST", "/v1/riders/R1/orders/"+id+":dropOff", map[string]any{"handover": "HANDOVER_DOOR"})
			}
			day := e.Clock.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)

			f := e.Must(bureau, "GET", "/v1/figures?group_by=GROUPING_PLATFORM&then_by=GROUPING_SECTION&then_by=GROUPING_DAY", nil)
			rows := map[string]map[string]any{}
			for _, r := range get(f, "rows").([]any) {
				rows[str(r, "group")] = r.(map[string]any)
			}
			deals := rows["meituan / deals / "+day]
			if deals == nil || str(deals, "orders") != "2" || str(deals, "platform") != "meituan" || str(deals, "section") != "SECTION_DEALS" || str(deals, "day") != day {
				t.Fatalf("meituan's deals: %v (rows %v)", deals, f)
			}
			// The rider took m-1 and m-2 in one trip, or m-1 alone.
			if d := str(deals, "delivered"); (d != "1" && d != "2") || get(deals, "within_60_min_share") != 1.0 {
				t.Errorf("meituan's deals delivered: %v", deals)
			}
			if r := rows["meituan / flavours / "+day]; r == nil || str(r, "cancelled") != "1" || str(r, "cancelled_by_reason", "sold out") != "1" || str(r, "free_deliveries") != "1" {
				t.Errorf("meituan's flavours: %v", r)
			}
			if r := rows["eleme / deals / "+day]; r == nil || str(r, "cancelled_by_reason", "changed my mind") != "1" {
				t.Errorf("eleme's deals: %v", r)
			}
			if str(f, "total", "orders") != "4" || str(f, "total", "cancelled") != "2" || str(f, "total", "free_deliveries") != "1" {
				t.Errorf("total: %v", get(f, "total"))
			}

			// The same as CSV.
			r := e.Call(bureau, "GET", "/v1/figures.csv?group_by=platform&then_by=section&then_by=day", nil)
			if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("CSV: %d %s %s", r.Status, r.Header.Get("Content-Type"), r.Body)
			}
			recs, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1+len(rows)+1 || recs[0][0] != "group" {
				t.Fatalf("CSV has %d lines, want a header, %d rows and the total:\n%s", len(recs), len(rows), r.Body)
			}
			i := slices.IndexFunc(recs, func(rec []string) bool { return rec[0] == "meituan / flavours / "+day })
			if i < 0 || recs[i][2] != "flavours" || recs[i][11] != "1" || recs[i][12] != "sold out=1" {
				t.Errorf("CSV row of meituan's flavours: %v", recs)
			}
			if last := recs[len(recs)-1]; last[0] != "total" || last[5] != "4" || last[13] != "1" {
				t.Errorf("CSV total: %v", last)
			}
			// Refusals and bad input.
			if r := e.Call("", "GET", "/v1/figures.csv", nil); r.Status != http.StatusUnauthorized {
				t.Errorf("CSV without a key: %d", r.Status)
			}
			if r := e.Call(merchant, "GET", "/v1/figures.csv", nil); r.Status != http.StatusForbidden {
				t.Errorf("CSV with a merchant's key: %d", r.Status)
			}
			if r := e.Call(bureau, "GET", "/v1/figures.csv?group_by=colour", nil); r.Status != http.StatusBadRequest {
				t.Errorf("CSV by colour: %d %s", r.Status, r.Body)
			}
			if r := e.Call(bureau, "GET", "/v1/figures?group_by=GROUPING_DAY&then_by=GROUPING_DAY", nil); r.Status != http.StatusBadRequest {
				t.Errorf("split by day twice: %d %s", r.Status, r.Body)
			}
		})
	}
}
