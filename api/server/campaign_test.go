package server_test

import (
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"zhengxiang/api/auth"
	"zhengxiang/orders"
)

// TestCampaigns checks campaigns through REST: the city's operator creates
// them, orders placed inside a campaign's days and sections carry it and
// those outside do not, an overlapping campaign is 409, ending one stops
// new orders joining it while its orders keep it, the figures split and
// filter by campaign, and bad input and other roles are refused.
func TestCampaigns(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			op := e.Key(auth.Principal{Role: auth.RoleOperator})
			platformOp := e.Key(auth.Principal{Role: auth.RoleOperator, Platform: "meituan"})
			mt := e.Key(auth.Principal{Role: auth.RolePlatform, Platform: "meituan"})
			merchant := e.Key(auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeA.ID}})
			bureau := e.Key(auth.Principal{Role: auth.RoleBureau})
			day0 := orders.DayOf(e.Clock.Now())
			campaign := func(name string, first, last orders.Day, sections ...string) map[string]any {
				return map[string]any{"name": name, "first_day": first.String(), "last_day": last.String(), "sections": sections}
			}
			create := func(body map[string]any) string {
				t.Helper()
				c := e.Must(op, "POST", "/v1/campaigns", body)
				if str(c, "campaign", "name") != body["name"] || str(c, "campaign", "first_day") != body["first_day"] {
					t.Fatalf("created %v, want %v", c, body)
				}
				return str(c, "campaign", "id")
			}
			n := 0
			place := func(store string) string {
				t.Helper()
				n++
				o := e.Must(mt, "POST", "/v1/orders", map[string]any{"client_order_id": "c-" + string(rune('a'+n)), "store_id": store,
					"dropoff": map[string]any{"lat": near.Lat, "lng": near.Lng},
					"items":   []any{map[string]any{"sku": "x", "name": "x", "qty": 1, "price_cents": 1000}}})
				return str(o, "order", "id")
			}
			campaignOf := func(id string) string {
				t.Helper()
				o := e.Must(mt, "GET", "/v1/orders/"+id, nil)
				if _, ok := get(o, "order").(map[string]any)["campaign_id"]; !ok {
					return ""
				}
				return str(o, "order", "campaign_id")
			}

			// 郑州消费节 over deals, today and the next three days.
			fest := create(campaign("郑州消费节", day0, day0.AddDays(3), "SECTION_DEALS"))
			dealsIn := place(storeA.ID)
			flavoursOut := place(storeB.ID)
			if got := campaignOf(dealsIn); got != fest {
				t.Errorf("a deals order inside the campaign: campaign %q, want %q", got, fest)
			}
			if got := campaignOf(flavoursOut); got != "" {
				t.Errorf("a flavours order: campaign %q, want none", got)
			}
			// Sharing a day and a section: 409. Other sections on the same days: fine.
			if r := e.Call(op, "POST", "/v1/campaigns", campaign("clash", day0.AddDays(3), day0.AddDays(5), "SECTION_MADE", "SECTION_DEALS")); r.Status != http.StatusConflict {
				t.Errorf("an overlapping campaign: %d %s, want 409", r.Status, r.Body)
			}
			meals := create(campaign("郑享百味 今日", day0, day0, "SECTION_FLAVOURS"))
			if got := campaignOf(place(storeB.ID)); got != meals {
				t.Errorf("a flavours order once its campaign exists: campaign %q, want %q", got, meals)
			}

			// Bad input names its field; other roles are refused.
			for _, c := range []struct {
				name  string
				body  map[string]any
				field string
			}{
				{"30 February", map[string]any{"name": "x", "first_day": "2020-02-30", "last_day": "2020-03-01", "sections": []string{"SECTION_MADE"}}, "first_day"},
				{"no last day", map[string]any{"name": "x", "first_day": "2020-03-01", "sections": []string{"SECTION_MADE"}}, "last_day"},
				{"last before first", campaign("x", day0.AddDays(40), day0.AddDays(39), "SECTION_MADE"), "last_day"},
				{"no name", campaign("", day0.AddDays(40), day0.AddDays(41), "SECTION_MADE"), "name"},
				{"no section", campaign("x", day0.AddDays(40), day0.AddDays(41)), "sections"},
				{"a section twice", campaign("x", day0.AddDays(40), day0.AddDays(41), "SECTION_MADE", "SECTION_MADE"), "sections[1]"},
				{"an unknown section", campaign("x", day0.AddDays(40), day0.AddDays(41), "SECTION_UNSPECIFIED"), "sections"},
				{"a long name", campaign(strings.Repeat("节", orders.MaxCampaignName+1), day0.AddDays(40), day0.AddDays(41), "SECTION_MADE"), "name"},
			} {
				r := e.Call(op, "POST", "/v1/campaigns", c.body)
				if f := str(r.JSON(t), "details", 0, "field_violations", 0, "field"); r.Status != http.StatusBadRequest || f != c.field {
					t.Errorf("%s: %d on %q (%s), want 400 on %s", c.name, r.Status, f, r.Body, c.field)
				}
			}
			for key, who := range map[string]string{merchant: "a store", platformOp: "a platform's operator", mt: "a platform", bureau: "the bureau"} {
				if r := e.Call(key, "POST", "/v1/campaigns", campaign("x", day0.AddDays(40), day0.AddDays(41), "SECTION_MADE")); r.Status != http.StatusForbidden {
					t.Errorf("%s creates a campaign: %d %s, want 403", who, r.Status, r.Body)
				}
				if r := e.Call(key, "POST", "/v1/campaigns/"+fest+":end", map[string]any{}); r.Status != http.StatusForbidden {
					t.Errorf("%s ends a campaign: %d %s, want 403", who, r.Status, r.Body)
				}
			}
			if r := e.Call(merchant, "GET", "/v1/campaigns", nil); r.Status != http.StatusForbidden {
				t.Errorf("a store lists the campaigns: %d, want 403", r.Status)
			}

			// Ended today, the festival takes no order from tomorrow; its orders keep it.
			if r := e.Call(op, "POST", "/v1/campaigns/"+fest+":end", map[string]any{"last_day": day0.AddDays(-1).String()}); r.Status != http.StatusBadRequest ||
				str(r.JSON(t), "details", 0, "field_violations", 0, "field") != "last_day" {
				t.Errorf("ending yesterday: %d %s, want 400 on last_day", r.Status, r.Body)
			}
			if r := e.Call(op, "POST", "/v1/campaigns/"+fest+":end", map[string]any{"last_day": day0.AddDays(4).String()}); r.Status != http.StatusBadRequest {
				t.Errorf("ending after its last day: %d %s, want 400", r.Status, r.Body)
			}
			if r := e.Call(op, "POST", "/v1/campaigns/C-none:end", map[string]any{}); r.Status != http.StatusNotFound {
				t.Errorf("ending an unknown campaign: %d %s, want 404", r.Status, r.Body)
			}
			ended := e.Must(op, "POST", "/v1/campaigns/"+fest+":end", map[string]any{})
			if str(ended, "campaign", "last_day") != day0.String() || get(ended, "withdrawn") != nil {
				t.Errorf("ended today: %v", ended)
			}
			e.Clock.Set(day0.AddDays(1).Start().Add(10 * time.Hour))
			if got := campaignOf(place(storeA.ID)); got != "" {
				t.Errorf("a deals order the day after the festival ended: campaign %q, want none", got)
			}
			if got := campaignOf(dealsIn); got != fest {
				t.Errorf("the festival's order after its end: campaign %q, want %q", got, fest)
			}
			// Its days after the end are free for another campaign.
			weekend := create(campaign("周末", day0.AddDays(1), day0.AddDays(2), "SECTION_DEALS", "SECTION_MADE"))
			if got := campaignOf(place(storeA.ID)); got != weekend {
				t.Errorf("a deals order of the next campaign: campaign %q, want %q", got, weekend)
			}
			// A campaign ended before its first day is withdrawn.
			later := create(campaign("later", day0.AddDays(20), day0.AddDays(21), "SECTION_DEALS"))
			if w := e.Must(op, "POST", "/v1/campaigns/"+later+":end", map[string]any{}); get(w, "withdrawn") != true {
				t.Errorf("ending a campaign not started: %v, want withdrawn", w)
			}

			// The list, for operators and the bureau.
			for _, key := range []string{op, platformOp, bureau} {
				l := e.Must(key, "GET", "/v1/campaigns", nil)
				var ids []string
				for _, c := range get(l, "campaigns").([]any) {
					ids = append(ids, str(c, "id"))
				}
				if len(ids) != 3 || !slices.Contains(ids, fest) || !slices.Contains(ids, meals) || ids[2] != weekend {
					t.Errorf("campaigns %v, want %s, %s and %s, by first day", ids, fest, meals, weekend)
				}
			}

			// The figures by campaign: 5 orders, one each in the festival, the meals and the
			// weekend, two in none; and filtered to one campaign.
			f := e.Must(bureau, "GET", "/v1/figures?group_by=GROUPING_CAMPAIGN", nil)
			rows := map[string]map[string]any{}
			for _, r := range get(f, "rows").([]any) {
				rows[str(r, "group")] = r.(map[string]any)
			}
			want := map[string]string{fest: "1", meals: "1", weekend: "1", "none": "2"}
			if len(rows) != len(want) {
				t.Errorf("rows by campaign %v, want %v", rows, want)
			}
			for id, n := range want {
				if r := rows[id]; r == nil || str(r, "orders") != n || str(r, "campaign") != id {
					t.Errorf("campaign %s: %v, want %s orders", id, r, n)
				}
			}
			if str(rows[fest], "campaign_name") != "郑州消费节" {
				t.Errorf("the festival's row: %v", rows[fest])
			}
			only := e.Must(bureau, "GET", "/v1/figures?group_by=GROUPING_SECTION&campaign="+meals, nil)
			if str(only, "total", "orders") != "1" || str(only, "rows", 0, "section") != "SECTION_FLAVOURS" {
				t.Errorf("the meals' figures: %v", only)
			}
			r := e.Call(bureau, "GET", "/v1/figures.csv?group_by=campaign&then_by=section", nil)
			recs, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
			if err != nil || r.Status != http.StatusOK {
				t.Fatalf("CSV: %d %v %s", r.Status, err, r.Body)
			}
			col := slices.Index(recs[0], "campaign_name")
			i := slices.IndexFunc(recs, func(rec []string) bool { return rec[0] == fest+" / deals" })
			if col < 0 || i < 0 || recs[i][col] != "郑州消费节" || recs[i][col-1] != fest {
				t.Errorf("CSV by campaign: %v", recs)
			}
		})
	}
}
