package console_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"zhengxiang/api/server/servertest"
)

// checkTrackedSite checks the drop site the tracking page shows against
// the API's tracking of the order: its name and compound, or none for an
// order to the door (want "").
func checkTrackedSite(t *testing.T, tb *tab, e *env, o order, wantName, wantCompound string) {
	t.Helper()
	tr := servertest.Get(e.Must("", "GET", "/v1/tracking/"+o.token, nil), "tracking")
	if str(tr, "dropoff_site_name") != wantName || str(tr, "dropoff_compound") != wantCompound {
		t.Fatalf("the API tracks order %s to %q (%q), want %q (%q)", o.id, str(tr, "dropoff_site_name"),
			str(tr, "dropoff_compound"), wantName, wantCompound)
	}
	type site struct{ Name, Compound, Card string }
	got := poll[site](tb, "the drop site", `document.getElementById('handover') && {
		name: (document.getElementById('dropoff-site-name') || {}).textContent || '',
		compound: (document.getElementById('dropoff-compound') || {}).textContent || '',
		card: document.getElementById('handover').closest('section').innerText,
	}`)
	if got.Name != wantName || got.Compound != wantCompound {
		t.Errorf("order %s: the page shows the drop site %q (%q), want %q (%q):\n%s", o.id, got.Name, got.Compound,
			wantName, wantCompound, got.Card)
	}
	if wantName != "" && !strings.Contains(got.Card, "快递柜") {
		t.Errorf("the drop-off card does not name the kind of site:\n%s", got.Card)
	}
}

// checkSitesAndQuotas checks the drop sites and the free deliveries on the
// operators' desk against the API: a row per site with its kind, compound,
// slots held and state; a row per platform the console knows with today's
// quota, used and left (meituan's set to 3 by the scene).
func checkSitesAndQuotas(t *testing.T, tb *tab, sc *scene, dir string) {
	t.Helper()
	e := sc.e
	kinds := map[string]string{"HANDOVER_LOCKER": "快递柜 Locker", "HANDOVER_DROP_POINT": "取货点 Drop point"}
	var sites []string
	for _, x := range e.Must(sc.operator, "GET", "/v1/drop-sites", nil)["sites"].([]any) {
		slots, _ := servertest.Get(x, "slots").(float64)
		free, _ := servertest.Get(x, "free_slots").(float64)
		held, state := "—", "开放 Open"
		if str(x, "kind") == "HANDOVER_LOCKER" {
			held = fmt.Sprintf("%d / %d", int(slots-free), int(slots))
		}
		if servertest.Get(x, "closed") == true {
			state = "已关闭 Closed"
		}
		sites = append(sites, strings.Join([]string{str(x, "site_id"), kinds[str(x, "kind")], str(x, "compound"), held, state}, "|"))
	}
	var quotas []string
	for _, p := range []string{"eleme", "meituan", "jddj", "uupt"} {
		q := servertest.Get(e.Must(sc.operator, "GET", "/v1/platforms/"+p+"/freeDeliveryQuota", nil), "quota")
		n := func(k string) int { f, _ := servertest.Get(q, k).(float64); return int(f) }
		quotas = append(quotas, fmt.Sprintf("%s|%d|%d|%d", p, n("quota"), n("used"), n("left")))
		if p == "meituan" && n("quota") != 3 {
			t.Fatalf("meituan's quota of today is %v, want the scene's 3", q)
		}
	}
	type desk struct {
		Sites, Quotas []string
		Text          string
	}
	got := poll[desk](tb, "the drop sites and the free deliveries", `(() => {
		const sites = [...document.querySelectorAll('#sites-table tbody tr[data-site]')];
		const quotas = [...document.querySelectorAll('#quota-table tbody tr[data-platform]')];
		if (sites.length < 3 || quotas.length < 4) return false;
		const cells = (tr) => [...tr.cells].slice(2).map((c) => c.innerText.replace(/\s+/g, ' ').trim());
		return {
			sites: sites.map((tr) => [tr.dataset.site, tr.cells[1].innerText.replace(/\s+/g, ' ').trim(), ...cells(tr)].join('|')),
			quotas: quotas.map((tr) => [tr.dataset.platform, ...[...tr.cells].slice(1).map((c) => c.innerText.replace(/[^0-9]/g, ''))].join('|')),
			text: document.getElementById('ops-sites').innerText,
		};
	})()`)
	slices.Sort(sites)
	slices.Sort(got.Sites)
	if len(sites) != 3 || !slices.Equal(got.Sites, sites) {
		t.Errorf("drop sites shown %q; the API has %q", got.Sites, sites)
	}
	if !slices.Equal(got.Quotas, quotas) {
		t.Errorf("free deliveries shown %q; the API has %q", got.Quotas, quotas)
	}
	for _, s := range []string{"丰巢 3 号柜", "南门取货点", "速递易 2 号柜", "美团", "饿了么"} {
		if !strings.Contains(got.Text, s) {
			t.Errorf("the desk does not show %q:\n%s", s, got.Text)
		}
	}
	shotOf(t, tb, "#ops-sites", filepath.Join(dir, "console-drop-sites.png"))
}

// checkContacts traces, through the bureau's form, the delivered order by
// its id and then the compound of its locker (L1, chosen from the drop
// sites), and checks the riders and stores listed against the API's.
func checkContacts(t *testing.T, tb *tab, sc *scene, dir string) {
	t.Helper()
	// The sites reach the form with the desk's refresh.
	cell := poll[string](tb, "the drop sites in the tracing form",
		`(document.querySelector('#trace-site option[data-site="L1"]') || {}).value`)
	for _, tc := range []struct{ what, query, order, cell string }{
		{"the delivered order", "order_id=" + sc.delivered.id, sc.delivered.id, ""},
		{"locker L1's compound", "cell=" + cell, "", "L1"},
	} {
		var want []string
		resp := sc.e.Must(sc.bureau, "GET", "/v1/contacts?"+tc.query, nil)
		for _, c := range resp["contacts"].([]any) {
			want = append(want, str(c, "kind")+" "+str(c, "id"))
		}
		if len(want) != 2 || !slices.Contains(resp["order_ids"].([]any), any(sc.delivered.id)) {
			t.Fatalf("%s: the API traces %v to %v, want a rider and a store of %s", tc.what, resp["order_ids"], want, sc.delivered.id)
		}
		// The order's id typed, or the locker chosen in the list (which
		// fills the cell); the last answer cleared, then Trace clicked.
		poll[bool](tb, "choose "+tc.what, `(() => {
			document.getElementById('trace-order').value = '';
			const site = document.getElementById('trace-site');
			site.value = `+strconv.Quote(map[bool]string{true: cell}[tc.cell != ""])+`;
			site.dispatchEvent(new Event('change'));
			document.querySelector('#contacts-table tbody').replaceChildren();
			return true;
		})()`)
		if tc.order != "" {
			tb.do("type the order's id", chromedp.SendKeys(chromedp.CSS("#trace-order"), tc.order))
		}
		tb.do("trace "+tc.what, chromedp.Click(chromedp.CSS("#trace")))
		type traced struct {
			Rows              []string
			Cell, Text, Error string
		}
		got := poll[traced](tb, "the contacts of "+tc.what, `(() => {
			const rows = [...document.querySelectorAll('#contacts-table tbody tr[data-kind]')];
			const err = document.getElementById('contacts-msg').innerText;
			if (!rows.length && !err) return false;
			return { rows: rows.map((tr) => tr.dataset.kind + ' ' + tr.dataset.id), cell: document.getElementById('trace-cell').value,
				text: document.getElementById('contacts').innerText, error: err };
		})()`)
		if got.Error != "" || !slices.Equal(got.Rows, want) {
			t.Errorf("%s: contacts shown %q (error %q); the API has %q", tc.what, got.Rows, got.Error, want)
		}
		if tc.cell != "" && got.Cell != cell {
			t.Errorf("choosing L1 set the cell %q, want %q", got.Cell, cell)
		}
		for _, s := range []string{"骑手 Rider", "R1", "门店 Store", storeA.Name, "1 单 orders traced"} {
			if !strings.Contains(got.Text, s) {
				t.Errorf("%s: the tracing does not show %q:\n%s", tc.what, s, got.Text)
			}
		}
	}
	shotOf(t, tb, "#contacts", filepath.Join(dir, "console-contacts.png"))
}

// shotOf saves a screenshot of the element sel.
func shotOf(t *testing.T, tb *tab, sel, path string) {
	t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.Screenshot(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", sel, err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
