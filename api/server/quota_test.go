package server_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"zhengxiang/api/auth"
	"zhengxiang/api/server/servertest"
	"zhengxiang/orders"
)

// fastPlatformKey issues a platform key whose rate limit lets a thousand
// orders through at once.
func fastPlatformKey(t *testing.T, e *env, platform string) string {
	t.Helper()
	k, stored, err := auth.NewKey(auth.Principal{Role: auth.RolePlatform, Platform: platform})
	if err != nil {
		t.Fatal(err)
	}
	stored.RatePerSecond, stored.Burst = 1e6, 1e6
	if err := e.Keys.Put(e.Ctx, stored); err != nil {
		t.Fatal(err)
	}
	return k
}

// fee reads a fee in cents from the JSON of an order, where 0 is left out.
func fee(v any, path ...any) string {
	if s := str(v, path...); s != "" {
		return s
	}
	return "0"
}

// quoteOf returns the quote of store id in a QuoteDelivery answer.
func quoteOf(t *testing.T, q map[string]any, id string) any {
	t.Helper()
	for _, s := range get(q, "stores").([]any) {
		if str(s, "store_id") == id {
			return s
		}
	}
	t.Fatalf("quote lacks store %s: %v", id, q)
	return nil
}

// TestFreeDeliveryRace sends a thousand orders of a 郑享百味 store at once
// through REST, from a platform with a quota of a hundred free deliveries a
// day: exactly a hundred orders are free (fee 0, free_delivery), the others
// pay the quoted fee, and sending them all again changes nothing.
func TestFreeDeliveryRace(t *testing.T) {
	const orderCount, quota = 1000, 100
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := servertest.New(t, servertest.Options{Backend: backend, Stores: []orders.Store{storeA, storeB, storeC}, FreeDeliveryQuota: quota})
			platform := fastPlatformKey(t, e, "eleme")
			drop := map[string]any{"lat": near.Lat, "lng": near.Lng}

			q := e.Must(platform, "POST", "/v1/quotes", map[string]any{"dropoff": drop})
			if get(q, "free_deliveries_left") != float64(quota) || get(quoteOf(t, q, storeB.ID), "free_delivery_available") != true ||
				get(quoteOf(t, q, storeA.ID), "free_delivery_available") != nil {
				t.Fatalf("quote before: %v; want %d left, free delivery at %s only", q, quota, storeB.ID)
			}
			quoted := str(quoteOf(t, q, storeB.ID), "delivery_fee_cents")

			client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 64, MaxIdleConnsPerHost: 64}}
			defer client.CloseIdleConnections()
			type answer struct {
				status  int
				id, fee string
				free    bool
				created bool
			}
			send := func(n int) answer {
				body, _ := json.Marshal(map[string]any{
					"store_id": storeB.ID, "dropoff": drop,
					"items": []any{map[string]any{"sku": "meal-1", "name": "复工套餐", "qty": 1, "price_cents": 1800}},
				})
				req, _ := http.NewRequestWithContext(e.Ctx, "POST", e.URL+"/v1/orders", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+platform)
				req.Header.Set("Idempotency-Key", fmt.Sprintf("el-%04d", n))
				resp, err := client.Do(req)
				if err != nil {
					return answer{id: err.Error()}
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				var m map[string]any
				if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &m) != nil {
					return answer{status: resp.StatusCode, id: string(b)}
				}
				return answer{status: 200, id: str(m, "order", "id"), fee: fee(m, "order", "delivery_fee_cents"),
					free: get(m, "free_delivery") == true, created: get(m, "created") == true}
			}
			sendAll := func() ([]answer, time.Duration) {
				out := make([]answer, orderCount)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range orderCount {
					wg.Go(func() { <-start; out[i] = send(i) })
				}
				began := time.Now()
				close(start)
				wg.Wait()
				return out, time.Since(began)
			}

			first, took := sendAll()
			free := 0
			for i, a := range first {
				switch {
				case a.status != 200 || !a.created:
					t.Fatalf("order %d: %d %s (created %v)", i, a.status, a.id, a.created)
				case a.free != (a.fee == "0"):
					t.Fatalf("order %d: free_delivery %v with fee %s", i, a.free, a.fee)
				case !a.free && a.fee != quoted:
					t.Fatalf("order %d pays %s, want the quoted %s", i, a.fee, quoted)
				}
				if a.free {
					free++
				}
			}
			t.Logf("%s: %d orders at once through REST, quota %d: %d free, in %v", backend, orderCount, quota, free, took.Round(time.Millisecond))
			if free != quota {
				t.Fatalf("%d orders free, want exactly the quota %d", free, quota)
			}

			// Sent again, every order is the stored one with its first answer.
			again, took := sendAll()
			for i, a := range again {
				if a.status != 200 || a.created || a.id != first[i].id || a.free != first[i].free || a.fee != first[i].fee {
					t.Fatalf("resend of order %d: %+v, first %+v", i, a, first[i])
				}
			}
			t.Logf("%s: the %d orders sent again in %v", backend, orderCount, took.Round(time.Millisecond))

			// The record agrees, and the quota is spent.
			stored, err := e.Repo.ListOrders(e.Ctx, orders.OrderFilter{Platform: "eleme"})
			if err != nil {
				t.Fatal(err)
			}
			zero := 0
			for _, o := range stored {
				if o.DeliveryFeeCents == 0 {
					zero++
				}
			}
			if len(stored) != orderCount || zero != quota {
				t.Fatalf("record: %d orders, %d free; want %d, %d", len(stored), zero, orderCount, quota)
			}
			q = e.Must(platform, "POST", "/v1/quotes", map[string]any{"dropoff": drop})
			if get(q, "free_deliveries_left") != nil || get(quoteOf(t, q, storeB.ID), "free_delivery_available") != nil {
				t.Fatalf("quote after: %v; want none left", q)
			}
			today := orders.DayOf(e.Clock.Now())
			used, err := e.Quota.FreeDeliveriesUsed(e.Ctx, today, today)
			if want := (orders.QuotaUse{Platform: "eleme", Day: today, Used: quota, Quota: quota}); err != nil || len(used) != 1 || used[0] != want {
				t.Fatalf("FreeDeliveriesUsed = %+v, %v; want %+v", used, err, want)
			}
		})
	}
}

// TestFreeDeliveryFees checks the fees a platform may ask for: 0 on a
// 郑享百味 store takes a free delivery or is refused; a fee above 0 takes
// none; other sections take none; the quota is per platform and per day of
// China Standard Time; the receipt marks the free delivery.
func TestFreeDeliveryFees(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := servertest.New(t, servertest.Options{Backend: backend, Stores: []orders.Store{storeA, storeB, storeC}, FreeDeliveryQuota: 5})
			eleme := e.Key(auth.Principal{Role: auth.RolePlatform, Platform: "eleme"})
			meituan := e.Key(auth.Principal{Role: auth.RolePlatform, Platform: "meituan"})
			operator := e.Key(auth.Principal{Role: auth.RoleOperator})
			merchant := e.Key(auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeB.ID}})
			// Noon in Zhengzhou; eleme has one free delivery today.
			noon := orders.DayOf(e.Clock.Now()).Start().Add(12 * time.Hour)
			e.Clock.Set(noon)
			today := orders.DayOf(noon)
			if err := e.Quota.SetFreeDeliveryQuota(e.Ctx, "eleme", today, 1); err != nil {
				t.Fatal(err)
			}
			drop := map[string]any{"lat": near.Lat, "lng": near.Lng}
			order := func(store string, fee *int64) map[string]any {
				b := map[string]any{"store_id": store, "dropoff": drop,
					"items": []any{map[string]any{"sku": "meal-1", "name": "复工套餐", "qty": 1, "price_cents": 1800}}}
				if fee != nil {
					b["delivery_fee_cents"] = *fee
				}
				return b
			}
			cents := func(n int64) *int64 { return &n }
			left := func(key string) any {
				return get(e.Must(key, "POST", "/v1/quotes", map[string]any{"dropoff": drop}), "free_deliveries_left")
			}

			// A fee above 0, and an order of another section, take nothing.
			paid := e.Must(eleme, "POST", "/v1/orders", order(storeB.ID, cents(300)), "Idempotency-Key", "el-paid")
			deals := e.Must(eleme, "POST", "/v1/orders", order(storeA.ID, nil), "Idempotency-Key", "el-deals")
			if fee(paid, "order", "delivery_fee_cents") != "300" || paid["free_delivery"] != nil ||
				fee(deals, "order", "delivery_fee_cents") == "0" || deals["free_delivery"] != nil || left(eleme) != float64(1) {
				t.Fatalf("paid %v, deals %v, left %v: want no free delivery taken", paid, deals, left(eleme))
			}
			// 0 asked: the one left.
			free := e.Must(eleme, "POST", "/v1/orders", order(storeB.ID, cents(0)), "Idempotency-Key", "el-free")
			if free["free_delivery"] != true || fee(free, "order", "delivery_fee_cents") != "0" || left(eleme) != nil {
				t.Fatalf("free %v, left %v", free, left(eleme))
			}
			// Its resend: the same order, still free, nothing more taken.
			again := e.Must(eleme, "POST", "/v1/orders", order(storeB.ID, cents(0)), "Idempotency-Key", "el-free")
			if again["free_delivery"] != true || again["created"] == true || str(again, "order", "id") != str(free, "order", "id") {
				t.Fatalf("resend of the free order: %v", again)
			}
			rc := e.Must(merchant, "GET", "/v1/orders/"+str(free, "order", "id")+"/receipt", nil)
			if get(rc, "receipt", "free_delivery") != true {
				t.Fatalf("receipt of the free order: %v", rc)
			}
			// None left: 0 asked is refused, and nothing is stored.
			r := e.Call(eleme, "POST", "/v1/orders", order(storeB.ID, cents(0)), "Idempotency-Key", "el-late")
			if r.Status != http.StatusConflict || !bytes.Contains(r.Body, []byte("no free delivery left today")) {
				t.Fatalf("0 asked with none left: %d %s, want 409", r.Status, r.Body)
			}
			// Left out, the fee is the quoted one.
			late := e.Must(eleme, "POST", "/v1/orders", order(storeB.ID, nil), "Idempotency-Key", "el-late")
			if late["created"] != true || late["free_delivery"] != nil || fee(late, "order", "delivery_fee_cents") == "0" {
				t.Fatalf("fee left out with none left: %v", late)
			}

			// Other platforms have their own quota: meituan the default.
			if left(meituan) != float64(5) {
				t.Fatalf("meituan has %v left, want 5", left(meituan))
			}
			mt := e.Must(meituan, "POST", "/v1/orders", order(storeB.ID, nil), "Idempotency-Key", "mt-1")
			if mt["free_delivery"] != true || left(meituan) != float64(4) {
				t.Fatalf("meituan's order %v, left %v", mt, left(meituan))
			}
			// An operator of the city has no platform: none.
			if left(operator) != nil {
				t.Fatalf("operator sees %v left", left(operator))
			}

			// At midnight in Zhengzhou (16:00 UTC), a new day and the default quota.
			e.Clock.Set(today.AddDays(1).Start().Add(-time.Second))
			if left(eleme) != nil {
				t.Fatalf("a second before midnight: %v left", left(eleme))
			}
			e.Clock.Set(today.AddDays(1).Start())
			if left(eleme) != float64(5) {
				t.Fatalf("at midnight: %v left, want 5", left(eleme))
			}
			// The order refused yesterday is counted on yesterday: still no free delivery.
			if r := e.Call(eleme, "POST", "/v1/orders", order(storeB.ID, cents(0)), "Idempotency-Key", "el-late"); r.Status != http.StatusConflict {
				t.Fatalf("yesterday's order sent today with 0: %d %s", r.Status, r.Body)
			}
			next := e.Must(eleme, "POST", "/v1/orders", order(storeB.ID, nil), "Idempotency-Key", "el-next")
			if next["free_delivery"] != true || left(eleme) != float64(4) {
				t.Fatalf("next day's order %v, left %v", next, left(eleme))
			}
		})
	}
}

// TestFreeDeliveryQuotaAPI sets a platform's quota through REST: a quota of
// 3 makes exactly 3 of 5 orders free, a lowered one grants nothing more,
// a raised one grants again; platforms and the bureau read it, and no one
// sets another platform's quota.
func TestFreeDeliveryQuotaAPI(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := servertest.New(t, servertest.Options{Backend: backend, Stores: []orders.Store{storeA, storeB, storeC}, FreeDeliveryQuota: 10})
			operator := e.Key(auth.Principal{Role: auth.RoleOperator})
			meituan := e.Key(auth.Principal{Role: auth.RolePlatform, Platform: "meituan"})
			elemeOp := e.Key(auth.Principal{Role: auth.RoleOperator, Platform: "eleme"})
			eleme := e.Key(auth.Principal{Role: auth.RolePlatform, Platform: "eleme"})
			bureau := e.Key(auth.Principal{Role: auth.RoleBureau})
			merchant := e.Key(auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeB.ID}})
			today := orders.DayOf(e.Clock.Now())
			const path = "/v1/platforms/meituan/freeDeliveryQuota"
			// num reads a count of the answer, where 0 is left out.
			num := func(v any, field string) string { return fmt.Sprint(cmp.Or(get(v, "quota", field), any(0.0))) }
			quota := func(key string) (quota, used, left string) {
				q := e.Must(key, "GET", path, nil)
				return num(q, "quota"), num(q, "used"), num(q, "left")
			}
			set := func(n int) map[string]any {
				return e.Must(operator, "POST", path+":set", map[string]any{"quota": n})
			}
			n := 0
			create := func() bool {
				n++
				r := e.Must(meituan, "POST", "/v1/orders", map[string]any{"store_id": storeB.ID, "dropoff": map[string]any{"lat": near.Lat, "lng": near.Lng},
					"items": []any{map[string]any{"sku": "meal-1", "name": "复工套餐", "qty": 1, "price_cents": 1800}}},
					"Idempotency-Key", fmt.Sprintf("mt-%d", n))
				return r["free_delivery"] == true
			}

			if q, u, l := quota(meituan); q != "10" || u != "0" || l != "10" {
				t.Fatalf("before: quota %s used %s left %s; want the default 10", q, u, l)
			}
			if r := set(3); str(r, "quota", "day") != today.String() || num(r, "quota") != "3" || num(r, "left") != "3" {
				t.Fatalf("set 3: %v", r)
			}
			free := 0
			for range 5 {
				if create() {
					free++
				}
			}
			if q, u, l := quota(meituan); free != 3 || q != "3" || u != "3" || l != "0" {
				t.Fatalf("5 orders, quota 3: %d free; quota %s used %s left %s", free, q, u, l)
			}
			// Lowered below those granted: none more, none taken back.
			set(2)
			if q, u, l := quota(bureau); create() || q != "2" || u != "3" || l != "0" {
				t.Fatalf("lowered to 2: quota %s used %s left %s", q, u, l)
			}
			// Raised: one more.
			set(4)
			if !create() || create() {
				t.Fatal("raised to 4: want exactly one more free delivery")
			}
			// Another day's quota is that day's only.
			tomorrow := today.AddDays(1).String()
			e.Must(operator, "POST", path+":set", map[string]any{"quota": 1, "day": tomorrow})
			if q := e.Must(operator, "GET", path+"?day="+tomorrow, nil); num(q, "quota") != "1" || num(q, "used") != "0" {
				t.Fatalf("tomorrow: %v", q)
			}
			if q, u, _ := quota(operator); q != "4" || u != "4" {
				t.Fatalf("today after setting tomorrow: quota %s used %s", q, u)
			}

			// Only the city's operators and the platform's own set it; the
			// platform itself, the bureau and the city read it.
			for _, c := range []struct {
				name, key, method string
				body              any
			}{
				{"a store's key sets", merchant, "POST", map[string]any{"quota": 100}},
				{"a store's key reads", merchant, "GET", nil},
				{"another platform's operator sets", elemeOp, "POST", map[string]any{"quota": 100}},
				{"another platform's operator reads", elemeOp, "GET", nil},
				{"another platform reads", eleme, "GET", nil},
				{"the platform sets its own", meituan, "POST", map[string]any{"quota": 100}},
				{"the bureau sets", bureau, "POST", map[string]any{"quota": 100}},
			} {
				p := path
				if c.method == "POST" {
					p += ":set"
				}
				if r := e.Call(c.key, c.method, p, c.body); r.Status != http.StatusForbidden {
					t.Errorf("%s: %d %s, want 403", c.name, r.Status, r.Body)
				}
			}
			if r := e.Must(elemeOp, "POST", "/v1/platforms/eleme/freeDeliveryQuota:set", map[string]any{"quota": 7}); num(r, "quota") != "7" {
				t.Fatalf("eleme's operator sets eleme's quota: %v", r)
			}
			if q, _, _ := quota(meituan); q != "4" {
				t.Fatalf("after the refused calls: quota %s, want 4", q)
			}

			// Bad input: 400 naming the field.
			for _, c := range []struct {
				body  map[string]any
				field string
			}{
				{map[string]any{"quota": -1}, "quota"},
				{map[string]any{}, "quota"},
				{map[string]any{"quota": 1, "day": "2020-02-30"}, "day"},
				{map[string]any{"quota": 1, "day": "tomorrow"}, "day"},
			} {
				r := e.Call(operator, "POST", path+":set", c.body)
				if f := str(r.JSON(t), "details", 0, "field_violations", 0, "field"); r.Status != http.StatusBadRequest || f != c.field {
					t.Errorf("set %v: %d %s, want 400 on %s", c.body, r.Status, r.Body, c.field)
				}
			}
			if q, _, _ := quota(meituan); q != "4" {
				t.Fatalf("after the bad calls: quota %s, want 4", q)
			}
		})
	}
}
