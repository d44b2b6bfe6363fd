package console_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"zhengxiang/api/auth"
	"zhengxiang/api/server/servertest"
	"zhengxiang/orders"
)

// The browser tests load the console's pages in headless Chromium against
// the whole API on loopback, read what the pages show, and keep a
// screenshot of each in $ZX_ARTIFACTS (default out/artifacts).

// EnvArtifacts names the folder the screenshots go to.
const EnvArtifacts = "ZX_ARTIFACTS"

// scene is the data the pages show: five orders of store A through the
// REST API, one delivered to a parcel locker (and its receipt), one on the
// road, one waiting for a rider, one the store rejected and one the
// platform cancelled, store C suspended, two products of store B suspended
// (one restored since) and store B flagged for missed tickets, riders R2
// past eight hours of work and R3 past twelve, a drop point and a closed
// locker beside the delivered order's, meituan's free deliveries of today
// set to 3, and the keys of everyone who looks at them.
type scene struct {
	e                                    *env
	operator, bureau, merchant, platform string
	delivered, onRoad, waiting           order
}

// The locker the delivered order was left in, the rider's photo of it, and
// why the two other orders ended.
const (
	lockerCode   = "A-17 4821"
	photoRef     = "photos/locker-1.jpg"
	rejectReason = "sold out"
	cancelReason = "顾客取消 customer cancelled"
)

type order struct{ id, token, code string }

func mustScene(t *testing.T) *scene {
	t.Helper()
	e := mustEnv(t)
	sc := &scene{
		e:        e,
		operator: e.Key(auth.Principal{Role: auth.RoleOperator}),
		bureau:   e.Key(auth.Principal{Role: auth.RoleBureau}),
		merchant: e.Key(auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeA.ID}}),
		platform: e.Key(auth.Principal{Role: auth.RolePlatform, Platform: "meituan"}),
	}
	rider := e.Key(auth.Principal{Role: auth.RoleRider, Rider: "R1"})
	// Before the orders, on the clock of a day of China Standard Time: R3
	// works 00:30 to 07:00 and from 07:00, R2 from 04:00, both at store B,
	// out of the way; the scene goes on at 13:00, when R2 has worked nine
	// hours and R3 twelve and a half.
	day := orders.DayOf(e.Clock.Now()).AddDays(1)
	shift := func(id string, from time.Duration) {
		key := e.Key(auth.Principal{Role: auth.RoleRider, Rider: id})
		e.Clock.Set(day.Start().Add(from))
		if id == "R3" && from == 7*time.Hour {
			e.Must(key, "POST", "/v1/riders/R3:endShift", map[string]any{})
		}
		e.Must(key, "POST", "/v1/riders/"+id+":startShift", map[string]any{
			"position": map[string]any{"lat": storeB.Point.Lat, "lng": storeB.Point.Lng}, "shift_end": e.Clock.Now().Add(12 * time.Hour).Format(time.RFC3339)})
	}
	shift("R3", 30*time.Minute)
	shift("R2", 4*time.Hour)
	shift("R3", 7*time.Hour)
	e.Clock.Set(day.Start().Add(13 * time.Hour))
	// site is the locker the next order created goes to (none: the door).
	site := ""
	create := func(client string, lat, lng float64, items ...map[string]any) order {
		body := map[string]any{
			"client_order_id": client, "store_id": storeA.ID, "address": "二七区 建设东路 8 号 3 单元",
			"items": items, "dropoff": map[string]any{"lat": lat, "lng": lng},
		}
		if site != "" {
			body["dropoff_method"], body["dropoff_site_id"] = "HANDOVER_LOCKER", site
		}
		o := e.Must(sc.platform, "POST", "/v1/orders", body)
		return order{id: str(o, "order", "id"), token: str(o, "order", "tracking_token"), code: str(o, "order", "pickup_code")}
	}
	// pickUp takes an order from the store to the rider's box.
	pickUp := func(o order) {
		e.Must(sc.merchant, "POST", "/v1/orders/"+o.id+":accept", map[string]any{})
		e.Must(sc.merchant, "POST", "/v1/orders/"+o.id+":markReady", map[string]any{})
		e.RoundUntilOffered(rider, "R1", storeA.Point)
		trip := str(e.Must(rider, "GET", "/v1/riders/R1/trips", nil), "trips", 0, "trip_id")
		e.Must(rider, "POST", "/v1/riders/R1/trips/"+trip+":accept", map[string]any{})
		e.Must(rider, "POST", "/v1/riders/R1/trips/"+trip+":arrive", map[string]any{})
		e.Must(rider, "POST", "/v1/riders/R1/trips/"+trip+":pickUp", map[string]any{"pickup_codes": []string{o.code}})
	}
	// 郑州消费节 over the 郑享特惠 section, from the real day (the page's) past the scene's.
	e.Must(sc.operator, "POST", "/v1/campaigns", map[string]any{"name": "郑州消费节", "first_day": day.AddDays(-1).String(),
		"last_day": day.AddDays(6).String(), "sections": []string{"SECTION_DEALS"}})
	milk := map[string]any{"sku": "milk-1l", "name": "牛奶 1L", "qty": 2, "price_cents": 1290}
	bread := map[string]any{"sku": "bread", "name": "全麦面包", "qty": 1, "price_cents": 800}

	e.Must(rider, "POST", "/v1/riders/R1:startShift", map[string]any{"position": map[string]any{"lat": storeA.Point.Lat, "lng": storeA.Point.Lng}})
	// The delivered order chose a parcel locker at the consumer's compound.
	e.Must(sc.operator, "POST", "/v1/drop-sites", map[string]any{"site_id": "L1", "kind": "HANDOVER_LOCKER", "name": "丰巢 3 号柜",
		"compound": "建设东路 8 号院", "gate": map[string]any{"lat": near.Lat, "lng": near.Lng}, "slots": 20})
	site = "L1"
	sc.delivered = create("mt-1", near.Lat, near.Lng, milk, bread)
	site = ""
	e.Must(sc.operator, "POST", "/v1/drop-sites", map[string]any{"site_id": "D1", "kind": "HANDOVER_DROP_POINT", "name": "南门取货点",
		"compound": "建设东路 8 号院", "gate": map[string]any{"lat": near.Lat - 0.002, "lng": near.Lng}})
	e.Must(sc.operator, "POST", "/v1/drop-sites", map[string]any{"site_id": "L2", "kind": "HANDOVER_LOCKER", "name": "速递易 2 号柜",
		"compound": "碧云路小区", "gate": map[string]any{"lat": 34.7480, "lng": 113.6250}, "slots": 8})
	e.Must(sc.operator, "POST", "/v1/drop-sites/L2:close", map[string]any{})
	e.Must(sc.operator, "POST", "/v1/platforms/meituan/freeDeliveryQuota:set", map[string]any{"quota": 3})
	pickUp(sc.delivered)
	e.Must(rider, "POST", "/v1/riders/R1/orders/"+sc.delivered.id+":arrive", map[string]any{})
	e.Must(rider, "POST", "/v1/riders/R1/orders/"+sc.delivered.id+":dropOff", map[string]any{
		"handover": "HANDOVER_LOCKER", "code": lockerCode, "photo_ref": photoRef})

	sc.onRoad = create("mt-2", 34.7590, 113.6400, bread)
	pickUp(sc.onRoad)
	sc.waiting = create("mt-3", 34.7420, 113.6350, milk)
	rejected := create("mt-4", 34.7480, 113.6250, bread)
	e.Must(sc.merchant, "POST", "/v1/orders/"+rejected.id+":reject", map[string]any{"reason": rejectReason})
	cancelled := create("mt-5", 34.7510, 113.6330, milk)
	e.Must(sc.platform, "POST", "/v1/orders/"+cancelled.id+":cancel", map[string]any{"reason": cancelReason})
	e.Must(sc.operator, "POST", "/v1/stores/"+storeC.ID+":suspend", map[string]any{"reason": "食品安全抽检 food safety check"})
	e.Must(sc.operator, "POST", "/v1/stores/"+storeB.ID+":suspend", map[string]any{"reason": "标签不符 label mismatch", "sku": "vinegar-500ml"})
	e.Must(sc.operator, "POST", "/v1/stores/"+storeB.ID+":restore", map[string]any{"reason": "复检合格 passed the recheck", "sku": "vinegar-500ml"})
	e.Must(sc.operator, "POST", "/v1/stores/"+storeB.ID+":suspend", map[string]any{"reason": "假冒商品 counterfeit", "sku": "soy-sauce-1l"})
	// The rounds of the scene took a few minutes: R2 has worked 9 hours
	// and more, R3 12 and a half and more.
	// Store B missed three tickets, as the engine records them when it
	// auto-cancels unanswered orders.
	var misses []orders.MissedAck
	for i := range 3 {
		misses = append(misses, orders.MissedAck{OrderID: fmt.Sprintf("missed-%d", i), StoreID: storeB.ID, At: e.Clock.Now()})
	}
	if err := e.Repo.(orders.AckStore).RecordMissedAcks(e.Ctx, misses); err != nil {
		t.Fatal(err)
	}
	return sc
}

// mustChromium finds Debian's Chromium, or skips the test (fails it under
// ZX_REQUIRE_SERVICES=1).
func mustChromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	msg := "no chromium at /usr/bin/chromium or on PATH: install it with deploy/services.sh up (apt-get install chromium)"
	if os.Getenv("ZX_REQUIRE_SERVICES") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// mustBrowser starts headless Chromium for the test.
func mustBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1440, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// The first run starts the browser; it must have no deadline.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return bctx
}

// tab is one browser tab (its own sessionStorage) and the messages its
// pages write to the console.
type tab struct {
	t   *testing.T
	ctx context.Context
	mu  sync.Mutex
	log []chromedp.ConsoleMessage
}

// newTab opens a tab that closes, and whose actions stop, after 30 s at
// most.
func newTab(t *testing.T, browser context.Context) *tab {
	t.Helper()
	tctx, cancelTab := chromedp.NewContext(browser)
	if err := chromedp.Do(tctx); err != nil {
		cancelTab()
		t.Fatalf("open a tab: %v", err)
	}
	ctx, cancel := context.WithTimeout(tctx, 30*time.Second)
	t.Cleanup(func() {
		cancel()
		cancelTab()
	})
	tb := &tab{t: t, ctx: ctx}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.log = append(tb.log, m)
			tb.mu.Unlock()
		}
	}()
	return tb
}

// do runs the actions, failing the test on an error.
func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v%s", what, err, tb.errors())
	}
}

// poll waits until the JavaScript expression is truthy and returns its
// value.
func poll[T any](tb *tab, what, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Poll[T](expr, chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		text, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
		tb.t.Fatalf("waiting for %s: %v%s\npage text:\n%s", what, err, tb.errors(), text)
	}
	return v
}

// hover moves the mouse onto the middle of the element the CSS selector
// finds.
func (tb *tab) hover(sel string) {
	tb.t.Helper()
	type point struct{ X, Y float64 }
	p := poll[point](tb, sel, `(() => {
		const el = document.querySelector(`+strconv.Quote(sel)+`);
		if (!el) return false;
		el.scrollIntoView({ block: 'nearest' });
		const r = el.getBoundingClientRect();
		return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
	})()`)
	tb.do("move the mouse onto "+sel, chromedp.MouseEvent(chromedp.MouseMoved, p.X, p.Y))
}

// errors lists what the page logged as an error or threw.
func (tb *tab) errors() string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var b strings.Builder
	for _, m := range tb.log {
		if m.IsException() || m.Type == chromedp.ConsoleError {
			fmt.Fprintf(&b, "\n  browser console: %s", m)
		}
	}
	return b.String()
}

// clean fails the test when the page threw or logged an error.
func (tb *tab) clean() {
	tb.t.Helper()
	if errs := tb.errors(); errs != "" {
		tb.t.Errorf("the page logged errors:%s", errs)
	}
}

// shot saves a screenshot of the whole page.
func (tb *tab) shot(dir, name string) {
	tb.t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot: %v", err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot: %s", p)
}

// artifacts returns the folder for screenshots: $ZX_ARTIFACTS, or
// out/artifacts at the root of the repository.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(EnvArtifacts)
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		root := wd
		for {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			up := filepath.Dir(root)
			if up == root {
				t.Fatalf("no go.mod above %s", wd)
			}
			root = up
		}
		dir = filepath.Join(root, "out", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func TestBrowserPages(t *testing.T) {
	chrome := mustChromium(t)
	sc := mustScene(t)
	e := sc.e
	browser := mustBrowser(t, chrome)
	dir := artifacts(t)

	t.Run("console", func(t *testing.T) {
		tb := newTab(t, browser)
		tb.addScript(csvHook)
		tb.do("open the console", chromedp.Navigate(e.URL+"/?operator_key="+url.QueryEscape(sc.operator)+
			"&bureau_key="+url.QueryEscape(sc.bureau)))
		type shown struct {
			Href, Stored                        string
			Cells, Districts, Heat, HeatOrders  int
			Pending, Moving, Riders, BusyRiders int
			Figures                             map[string]string
			Table                               string
			ChartWidth                          int
		}
		got := poll[shown](tb, "the map and the figures", `(() => {
			const n = (sel) => document.querySelectorAll(sel).length;
			const text = (id) => (document.getElementById(id) || {}).textContent || '—';
			if (!n('#map path.heat') || text('fig-riders') === '—' || text('tot-orders') === '—'
				|| !n('#district-table tbody tr')) return false;
			const figures = {};
			for (const el of document.querySelectorAll('[id^="fig-"], [id^="tot-"]')) figures[el.id] = el.textContent;
			return {
				href: location.href, stored: sessionStorage.getItem('zx.operator_key'),
				cells: n('#map path.cell'), districts: n('#map path.district.urban'), heat: n('#map path.heat'),
				heatOrders: [...document.querySelectorAll('#map path.heat')].reduce((s, p) => s + Number(p.dataset.count), 0),
				pending: n('#map circle.order.pending'), moving: n('#map circle.order.moving'),
				riders: n('#map circle.rider'), busyRiders: n('#map circle.rider.busy'),
				figures, table: document.getElementById('district-table').innerText,
				chartWidth: document.getElementById('chart-district').width,
			};
		})()`)
		if strings.Contains(got.Href, "_key") || got.Stored != sc.operator {
			t.Errorf("the keys were not moved from the address (%s) into sessionStorage (%q)", got.Href, got.Stored)
		}
		if got.Cells < 100 || got.Districts != 5 {
			t.Errorf("the city: %d grid cells and %d urban districts, want 100+ and 5", got.Cells, got.Districts)
		}
		// Two active orders (one waiting, one on the road), three riders, one carrying one.
		if got.Heat < 1 || got.HeatOrders != 2 || got.Pending != 1 || got.Moving != 1 || got.Riders != 3 || got.BusyRiders != 1 {
			t.Errorf("map layers: %d heat cells of %d orders, %d pending, %d moving, %d riders (%d busy); want 2 orders, 1, 1, 3 (1)",
				got.Heat, got.HeatOrders, got.Pending, got.Moving, got.Riders, got.BusyRiders)
		}
		st := e.Engine.Stats()
		for id, want := range map[string]string{
			"fig-pending": fmt.Sprint(st.Pending), "fig-riders": "3", "fig-active_trips": fmt.Sprint(st.ActiveTrips),
			"fig-rounds": fmt.Sprint(st.Rounds), "fig-moving": "1", "tot-orders": "5", "tot-delivered": "1", "tot-within": "100.0%",
			"tot-cancelled": "2",
		} {
			if got.Figures[id] != want {
				t.Errorf("%s shows %q, want %q", id, got.Figures[id], want)
			}
		}
		if !strings.Contains(got.Table, "二七区") || got.ChartWidth == 0 {
			t.Errorf("bureau table %q (want 二七区), chart width %d", got.Table, got.ChartWidth)
		}
		checkBureau(t, tb, sc)
		checkCampaigns(t, tb, sc)

		// The stores layer: a square per store the API lists, the suspended
		// one crossed out, and each store's 1-hour circle as an outline.
		var want []string
		suspended := 0
		for _, st := range e.Must(sc.operator, "GET", "/v1/stores?include_circles=true", nil)["stores"].([]any) {
			m := st.(map[string]any)
			want = append(want, m["store_id"].(string))
			if m["suspended"] == true {
				suspended++
			}
			if cells, _ := m["circle_cells"].([]any); len(cells) == 0 {
				t.Errorf("the API gave store %s no circle", m["store_id"])
			}
		}
		type layer struct {
			Markers, Circles          []string
			Suspended, Marks, Outline int
			Kinds                     map[string]string
			Count                     string
		}
		ly := poll[layer](tb, "the stores and their circles", `(() => {
			const ids = (sel) => [...document.querySelectorAll(sel)].map((e) => e.dataset.store);
			const circles = ids('#map .layer-circles path.circle');
			if (!circles.length || !document.getElementById('map').dataset.storesDrawMs) return false;
			const kinds = {};
			for (const r of document.querySelectorAll('#map rect.store')) kinds[r.dataset.store] = r.getAttribute('class');
			return {
				markers: ids('#map rect.store'), circles, kinds,
				suspended: document.querySelectorAll('#map rect.store.suspended').length,
				marks: document.querySelectorAll('#map path.store-mark').length,
				outline: Math.min(...[...document.querySelectorAll('#map path.circle')].map((p) => (p.getAttribute('d').match(/[ML]/g) || []).length)),
				count: document.getElementById('stores-count').textContent,
			};
		})()`)
		slices.Sort(want)
		slices.Sort(ly.Markers)
		slices.Sort(ly.Circles)
		if len(want) != 3 || !slices.Equal(ly.Markers, want) || !slices.Equal(ly.Circles, want) {
			t.Errorf("stores on the map %v, circles %v; the API lists %v", ly.Markers, ly.Circles, want)
		}
		// An outline of a union of hexagons has at least six corners.
		if ly.Outline < 6 {
			t.Errorf("a circle outline has %d points", ly.Outline)
		}
		if suspended != 1 || ly.Suspended != 1 || ly.Marks != 1 || !strings.Contains(ly.Kinds[storeC.ID], "suspended") {
			t.Errorf("suspended: the API %d, the map %d squares and %d crosses (%s is %q)", suspended, ly.Suspended, ly.Marks,
				storeC.ID, ly.Kinds[storeC.ID])
		}
		if ly.Kinds[storeA.ID] != "store deals" || ly.Kinds[storeB.ID] != "store made" {
			t.Errorf("store classes %v, want %s deals and %s made", ly.Kinds, storeA.ID, storeB.ID)
		}
		if !strings.HasPrefix(ly.Count, "3 ") {
			t.Errorf("the legend counts %q stores, want 3", ly.Count)
		}

		// Hovering a store shows its circle strongly and its card; a click
		// keeps them.
		type focus struct {
			Store, Tip string
			Paths      int
		}
		readFocus := `(() => {
			const tip = document.getElementById('store-tip');
			const f = document.querySelectorAll('#map path.circle-focus');
			return !tip.hidden && f.length && { store: f[0].dataset.store, tip: tip.innerText, paths: f.length };
		})()`
		tb.do("click store C", chromedp.Click(chromedp.CSS(`#map rect.store[data-store="`+storeC.ID+`"]`)))
		fc := poll[focus](tb, "store C's card", readFocus)
		for _, s := range []string{storeC.Name, "郑享百味", "Flavours", storeC.District, "备货 12.0 分钟", "已暂停销售", "Suspended", "1 小时服务圈"} {
			if !strings.Contains(fc.Tip, s) {
				t.Errorf("store C's card does not show %q:\n%s", s, fc.Tip)
			}
		}
		if fc.Store != storeC.ID || fc.Paths != 1 {
			t.Errorf("the focused circle is %q (%d paths), want %s", fc.Store, fc.Paths, storeC.ID)
		}
		tb.hover(`#map rect.store[data-store="` + storeB.ID + `"]`)
		fc = poll[focus](tb, "store B's card", `(() => { const f = `+readFocus+`; return f && f.store === '`+storeB.ID+`' && f; })()`)
		if !strings.Contains(fc.Tip, storeB.Name) || !strings.Contains(fc.Tip, "营业中") || !strings.Contains(fc.Tip, "郑享制造") {
			t.Errorf("store B's card:\n%s", fc.Tip)
		}
		tb.do("click store A", chromedp.Click(chromedp.CSS(`#map rect.store[data-store="`+storeA.ID+`"]`)))
		poll[bool](tb, "store A's card", `(() => { const f = `+readFocus+`; scrollTo(0, 0); return f && f.store === '`+storeA.ID+`'; })()`)
		tb.shot(dir, "console.png")
		checkOperations(t, tb, sc, dir)
		checkSitesAndQuotas(t, tb, sc, dir)
		checkContacts(t, tb, sc, dir)
		tb.clean()
	})

	t.Run("tracking", func(t *testing.T) {
		tb := newTab(t, browser)
		tb.do("open the tracking page", chromedp.Navigate(e.URL+"/track/"+sc.delivered.token))
		type shown struct {
			Text, OrderID, Status string
			Steps                 []string
			Health, Confirm       bool
		}
		const read = `(() => {
			const li = document.querySelectorAll('#timeline li');
			if (li.length < %d) return false;
			return {
				text: document.body.innerText, orderId: document.getElementById('order-id').textContent,
				status: document.getElementById('status').textContent, steps: [...li].map((l) => l.dataset.type),
				health: !!document.getElementById('health-card'), confirm: !!document.getElementById('confirm'),
			};
		})()`
		got := poll[shown](tb, "the timeline", fmt.Sprintf(read, 10))
		want := []string{"ORDER_CREATED", "TICKET_SENT", "MERCHANT_ACCEPTED", "READY_FOR_PICKUP", "OFFERED", "ASSIGNED",
			"ARRIVED_AT_PICKUP", "PICKED_UP", "ARRIVED_AT_DROPOFF", "DELIVERED"}
		for i := range want {
			want[i] = "EVENT_TYPE_" + want[i]
		}
		slices.Reverse(want) // newest first
		if !slices.Equal(got.Steps, want) {
			t.Errorf("timeline %v, want %v", got.Steps, want)
		}
		if got.OrderID != sc.delivered.id || !strings.HasPrefix(got.Status, "已送达") {
			t.Errorf("order %q status %q, want %s 已送达", got.OrderID, got.Status, sc.delivered.id)
		}
		for _, s := range []string{storeA.Name, "Delivered", "无接触配送：已放入快递柜", "牛奶 1L", "承诺送达", "送达时间"} {
			if !strings.Contains(got.Text, s) {
				t.Errorf("the page does not show %q:\n%s", s, got.Text)
			}
		}
		if got.Health || !got.Confirm {
			t.Errorf("health card shown %v (the API has none), confirm button %v (want one)", got.Health, got.Confirm)
		}
		// The goods are in a locker: the page shows the code that opens it
		// and the reference of the rider's photo.
		type dropoff struct{ Code, Photo, Card string }
		do := poll[dropoff](tb, "the locker code", `document.getElementById('dropoff-code') && {
			code: document.getElementById('dropoff-code').textContent,
			photo: (document.getElementById('photo-ref') || {}).textContent || '',
			card: document.getElementById('dropoff-code').closest('section').innerText,
		}`)
		checkTrackedSite(t, tb, e, sc.delivered, "丰巢 3 号柜", "建设东路 8 号院")
		if do.Code != lockerCode || do.Photo != photoRef {
			t.Errorf("drop-off card shows code %q and photo %q, want %q and %q", do.Code, do.Photo, lockerCode, photoRef)
		}
		for _, s := range []string{"快递柜取件码", "Locker code", "送达照片"} {
			if !strings.Contains(do.Card, s) {
				t.Errorf("the drop-off card does not show %q:\n%s", s, do.Card)
			}
		}
		tb.shot(dir, "tracking.png")

		// The consumer confirms receipt.
		tb.do("confirm receipt", chromedp.Click(chromedp.CSS("#confirm")))
		got = poll[shown](tb, "the confirmation", fmt.Sprintf(read, 11))
		if got.Steps[0] != "EVENT_TYPE_RECEIPT_CONFIRMED" || got.Confirm || !strings.Contains(got.Text, "已确认收货") {
			t.Errorf("after confirming: steps %v, confirm button %v", got.Steps, got.Confirm)
		}

		// An order on the road shows the rider in its cell on the small map.
		tb.do("open the order on the road", chromedp.Navigate(e.URL+"/track/"+sc.onRoad.token))
		text := poll[string](tb, "the rider's position", `document.querySelector('#rider-map path.rider-cell')
			&& document.querySelector('#rider-map circle.rider') && document.getElementById('eta')
			&& (document.getElementById('dropoff-code') ? 'a drop-off code before delivery' : document.body.innerText)`)
		for _, s := range []string{"配送中", "骑手位置", "预计送达", "无接触配送"} {
			if !strings.Contains(text, s) {
				t.Errorf("the order on the road does not show %q:\n%s", s, text)
			}
		}
		checkTrackedSite(t, tb, e, sc.onRoad, "", "")
		tb.shot(dir, "tracking-on-road.png")
		tb.clean()
	})

	t.Run("health card", func(t *testing.T) {
		// The API has no health card yet: the tab's fetch adds one to the
		// tracking, shaped as ?health= asks, as another field name could.
		tb := newTab(t, browser)
		tb.addScript(healthHook)
		type card struct {
			Rows   map[string]string
			Code   string
			Title  string
			Fields []string
		}
		read := `(() => {
			const c = document.getElementById('health-card');
			if (!c) return false;
			const rows = {};
			const fields = [];
			for (const d of c.querySelectorAll('dl > div')) {
				fields.push(d.dataset.field);
				rows[d.querySelector('dt').innerText.split(/\s+/)[0]] = d.querySelector('dd').innerText;
			}
			const code = c.querySelector('.health-code');
			return { rows, code: code ? code.dataset.code : '', title: c.querySelector('h2').innerText, fields };
		})()`
		for _, tc := range []struct {
			shape, code, temp, fever, chip, at string
		}{
			// recorded_at 2026-05-01T02:30:00Z is 10:30 in Zhengzhou.
			{shape: "snake", code: "GREEN", temp: "36.6 °C", fever: "Normal", chip: "绿码 GREEN", at: "10:30"},
			{shape: "camel", code: "RED", temp: "38.2 °C", fever: "Fever", chip: "红码 RED", at: "11:45"},
		} {
			tb.do("open the order on the road with a "+tc.shape+" health card",
				chromedp.Navigate(e.URL+"/track/"+sc.onRoad.token+"?health="+tc.shape))
			got := poll[card](tb, "the health card", read)
			if got.Code != tc.code || !strings.Contains(got.Rows["健康码"], tc.chip) {
				t.Errorf("%s: health code %q shown %q, want %s (%s); fields %v", tc.shape, got.Code, got.Rows["健康码"], tc.code, tc.chip, got.Fields)
			}
			if !strings.HasPrefix(got.Rows["体温"], tc.temp) || !strings.Contains(got.Rows["体温"], tc.fever) {
				t.Errorf("%s: temperature %q, want %s (%s)", tc.shape, got.Rows["体温"], tc.temp, tc.fever)
			}
			if at := got.Rows["记录时间"]; !strings.Contains(at, tc.at) || strings.Contains(at, "T") {
				t.Errorf("%s: recorded at %q, want a local time with %s", tc.shape, at, tc.at)
			}
			if len(got.Rows) != 3 {
				t.Errorf("%s: health card rows %v, want temperature, code and time", tc.shape, got.Rows)
			}
			if tc.shape == "snake" {
				tb.shot(dir, "tracking-health.png")
			}
		}
		tb.clean()
	})

	t.Run("receipt", func(t *testing.T) {
		rc := e.Must(sc.merchant, "GET", "/v1/orders/"+sc.delivered.id+"/receipt", nil)
		tb := newTab(t, browser)
		tb.do("open the receipt", chromedp.Navigate(e.URL+"/receipt/"+sc.delivered.id))
		// A fresh tab has no key: the page asks for one.
		poll[bool](tb, "the key form", `!!document.getElementById('key-merchant_key')`)
		tb.do("type the merchant key",
			chromedp.SendKeys(chromedp.CSS("#key-merchant_key"), sc.merchant),
			chromedp.Click(chromedp.CSS("#key-form button[type=submit]")))
		type shown struct{ Store, Number, Total, Lines, Text string }
		got := poll[shown](tb, "the receipt", `document.getElementById('receipt-total') && {
			store: document.getElementById('receipt-store').textContent,
			number: document.getElementById('receipt-number').textContent,
			total: document.getElementById('receipt-total').textContent,
			lines: document.getElementById('receipt-lines').innerText, text: document.body.innerText,
		}`)
		tb.shot(dir, "receipt.png")
		wantTotal := fmt.Sprintf("¥%d.%02d", atoi(t, str(rc, "receipt", "total_cents"))/100, atoi(t, str(rc, "receipt", "total_cents"))%100)
		if got.Store != storeA.Name || got.Number != str(rc, "receipt", "number") || got.Total != wantTotal {
			t.Errorf("receipt shows store %q, number %q, total %q; want %q, %q, %q",
				got.Store, got.Number, got.Total, storeA.Name, str(rc, "receipt", "number"), wantTotal)
		}
		for _, s := range []string{"牛奶 1L", "全麦面包", "¥25.80", "¥8.00", "销售凭证", "美团"} {
			if !strings.Contains(got.Text, s) {
				t.Errorf("the receipt does not show %q:\n%s", s, got.Text)
			}
		}
		// On paper only the receipt is printed.
		if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
			t.Fatal(err)
		}
		hidden := poll[string](tb, "print styles", `(() => {
			const d = (sel) => getComputedStyle(document.querySelector(sel)).display;
			return d('.bar') + ' ' + d('.receipt-actions') + ' ' + d('#receipt');
		})()`)
		if hidden != "none none block" {
			t.Errorf("printed: top bar, buttons, receipt display %q, want none none block", hidden)
		}
		tb.shot(dir, "receipt-print.png")
		tb.clean()
	})

	t.Run("store", func(t *testing.T) {
		tb := newTab(t, browser)
		tb.do("open the store page", chromedp.Navigate(e.URL+"/store?store_id="+storeA.ID+"&merchant_key="+url.QueryEscape(sc.merchant)))
		sel := `article.ticket[data-order="` + sc.waiting.id + `"]`
		type shown struct{ Href, Code, Status, Text string }
		read := `document.querySelector('` + sel + `') && {
			href: location.href, code: document.querySelector('` + sel + ` .code').textContent,
			status: document.querySelector('` + sel + `').dataset.status, text: document.getElementById('tickets').innerText,
		}`
		got := poll[shown](tb, "the ticket", read)
		if strings.Contains(got.Href, "merchant_key") || got.Code != sc.waiting.code || got.Status != "ORDER_STATUS_TICKET_SENT" {
			t.Errorf("ticket: address %s, pickup code %q, status %s; want no key, %q, ORDER_STATUS_TICKET_SENT",
				got.Href, got.Code, got.Status, sc.waiting.code)
		}
		if !strings.Contains(got.Text, sc.onRoad.id) || !strings.Contains(got.Text, "牛奶 1L") {
			t.Errorf("the tickets do not show the order on the road and the goods:\n%s", got.Text)
		}
		tb.do("accept", chromedp.Click(chromedp.CSS(sel+` button[data-action="accept"]`)))
		poll[bool](tb, "the accepted ticket", `document.querySelector('`+sel+`[data-status="ORDER_STATUS_MERCHANT_ACCEPTED"] button[data-action="ready"]') !== null`)
		tb.shot(dir, "store.png")
		if s := str(e.Must(sc.platform, "GET", "/v1/orders/"+sc.waiting.id, nil), "order", "status"); s != "ORDER_STATUS_MERCHANT_ACCEPTED" {
			t.Errorf("after the click the order is %s, want ORDER_STATUS_MERCHANT_ACCEPTED", s)
		}
		tb.clean()
	})
}

// csvHook records the answers of the page's fetches of /v1/figures.csv in
// window.__zxCSV, so the test sees the download's status whatever the page
// does with it.
const csvHook = `(() => {
	const fetch0 = window.fetch;
	window.__zxCSV = [];
	window.fetch = async function (input, init) {
		const resp = await fetch0.call(this, input, init);
		const url = String((input && input.url) || input);
		if (url.includes('/v1/figures.csv')) {
			window.__zxCSV.push({ url, status: resp.status, type: resp.headers.get('Content-Type') || '' });
		}
		return resp;
	};
})()`

// healthHook adds a rider's health card to the tracking the page fetches:
// ?health=snake names its fields temperature_c, health_code, recorded_at;
// ?health=camel as a JSON encoder of another kind might.
const healthHook = `(() => {
	const shape = new URLSearchParams(location.search).get('health');
	if (!shape) return;
	const cards = {
		snake: { rider_health: { temperature_c: 36.6, health_code: 'HEALTH_CODE_GREEN', recorded_at: '2026-05-01T02:30:00Z' } },
		camel: { riderHealthCard: { temperatureC: 38.2, healthCode: 'RED', measuredAt: '2026-05-01T03:45:00Z' } },
	};
	const fetch0 = window.fetch;
	window.fetch = async function (input, init) {
		const resp = await fetch0.call(this, input, init);
		const url = String((input && input.url) || input);
		if (!url.includes('/v1/tracking/') || !resp.ok) return resp;
		const data = await resp.json();
		Object.assign(data.tracking, cards[shape]);
		return new Response(JSON.stringify(data), { status: resp.status, headers: resp.headers });
	};
})()`

// addScript runs the script in every document the tab opens from now on,
// before the page's own scripts.
func (tb *tab) addScript(src string) {
	tb.t.Helper()
	if _, err := chromedp.Call(tb.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
		tb.t.Fatalf("add a script to the tab: %v", err)
	}
}

// checkBureau checks the bureau's cancellations by reason, the section ×
// day table against the API, and the CSV export: the download answered
// 200 and the browser saved the file.
func checkBureau(t *testing.T, tb *tab, sc *scene) {
	t.Helper()
	type bureau struct {
		Reasons       map[string]string
		ReasonText    string
		ReasonsWidth  int
		SectionDay    [][]string
		Keys          []string
		SectionDayTxt string
	}
	got := poll[bureau](tb, "the cancellations and the section × day table", `(() => {
		const reasons = {};
		for (const tr of document.querySelectorAll('#reason-table tbody tr[data-reason]')) reasons[tr.dataset.reason] = tr.cells[1].textContent;
		const rows = [...document.querySelectorAll('#section-day-table tbody tr[data-day]')];
		if (Object.keys(reasons).length < 2 || !rows.length) return false;
		return {
			reasons, reasonText: document.getElementById('reason-table').innerText,
			reasonsWidth: document.getElementById('chart-reasons').width,
			sectionDay: rows.map((tr) => [...tr.cells].map((c) => c.innerText.replace(/\s+/g, ' ').trim())),
			keys: rows.map((tr) => tr.dataset.section + ' ' + tr.dataset.day),
			sectionDayTxt: document.getElementById('section-day-table').innerText,
		};
	})()`)
	if want := map[string]string{rejectReason: "1", cancelReason: "1"}; !maps.Equal(got.Reasons, want) {
		t.Errorf("cancellations by reason %v, want %v", got.Reasons, want)
	}
	if !strings.Contains(got.ReasonText, "售罄") || !strings.Contains(got.ReasonText, "50.0%") || got.ReasonsWidth == 0 {
		t.Errorf("the reasons (want 售罄 Sold out, 50.0%% each, a chart):\n%s\nchart width %d", got.ReasonText, got.ReasonsWidth)
	}

	// The table holds the API's rows, the section written once.
	api := sc.e.Must(sc.bureau, "GET", "/v1/figures?group_by=GROUPING_SECTION&then_by=GROUPING_DAY", nil)
	rows, _ := api["rows"].([]any)
	var keys []string
	for _, r := range rows {
		m := r.(map[string]any)
		keys = append(keys, fmt.Sprint(m["section"], " ", m["day"]))
	}
	if !slices.Equal(got.Keys, keys) || len(keys) != 1 {
		t.Fatalf("section × day rows %v, the API's %v (want one)", got.Keys, keys)
	}
	m := rows[0].(map[string]any)
	p50, _ := m["click_to_door_p50_min"].(float64)
	p90, _ := m["click_to_door_p90_min"].(float64)
	want := []string{"郑享特惠 Deals", m["day"].(string), "5", "1", "100.0%", fmt.Sprintf("%.1f", p50), fmt.Sprintf("%.1f", p90)}
	if !slices.Equal(got.SectionDay[0], want) {
		t.Errorf("section × day row %q, want %q", got.SectionDay[0], want)
	}

	// Export CSV: the browser saves the file in a folder of the test's.
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(tb.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	tb.do("click Export CSV", chromedp.Click(chromedp.CSS("#export-csv")))
	type fetched struct {
		URL, Type, Status string
		Code              int
	}
	f := poll[fetched](tb, "the CSV download", `(() => {
		const b = document.getElementById('export-csv');
		const f = (window.__zxCSV || [])[0];
		return f && b.dataset.status && b.dataset.status !== 'pending' && { url: f.url, type: f.type, code: f.status, status: b.dataset.status };
	})()`)
	if f.Code != 200 || f.Status != "200" || !strings.HasPrefix(f.Type, "text/csv") ||
		!strings.Contains(f.URL, "/v1/figures.csv?group_by=district&then_by=day") {
		t.Fatalf("the CSV fetch %s answered %d (%s), the button says %s; want 200 text/csv by district and day", f.URL, f.Code, f.Type, f.Status)
	}
	var saved []byte
	for deadline := time.Now().Add(60 * time.Second); saved == nil && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(downloads, "zhengxiang-figures-*.csv"))
		if len(files) == 1 {
			saved, _ = os.ReadFile(files[0])
		}
	}
	if !strings.HasPrefix(string(saved), "group,district,section,platform,day,orders") || !strings.Contains(string(saved), "二七区 / "+m["day"].(string)) {
		t.Errorf("the saved CSV:\n%s", saved)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(errors.Join(fmt.Errorf("not a number: %q", s), err))
	}
	return n
}

// checkOperations checks the operators' desk against the API: the
// suspensions in force (a store, a product) and the audit, newest first;
// the flagged store with its missed tickets; each rider's working time and
// state (R3 stopped, R2 warned, R1 fresh).
func checkOperations(t *testing.T, tb *tab, sc *scene, dir string) {
	t.Helper()
	e := sc.e
	susp := e.Must(sc.operator, "GET", "/v1/suspensions", nil)
	var inForce, audit []string
	for _, x := range susp["in_force"].([]any) {
		inForce = append(inForce, str(x, "store_id")+"/"+str(x, "sku")+"/"+str(x, "reason"))
	}
	for _, r := range susp["records"].([]any) {
		audit = append(audit, str(r, "action")+" "+str(r, "store_id")+"/"+str(r, "sku")+"/"+str(r, "reason"))
	}
	workers := map[string]string{}
	var worked []string // as the desk writes them
	for _, r := range e.Must(sc.operator, "GET", "/v1/dispatch", nil)["riders"].([]any) {
		m, _ := servertest.Get(r, "working_minutes").(float64)
		workers[str(r, "rider_id")] = fmt.Sprint(m)
		worked = append(worked, fmt.Sprintf("%d h %02d min", int(m)/60, int(m)%60))
	}
	type desk struct {
		InForce, Audit, Flagged []string
		Work                    map[string]string
		Minutes                 map[string]string
		Text, Note              string
	}
	got := poll[desk](tb, "the operators' desk", `(() => {
		const rows = (id) => [...document.querySelectorAll('#' + id + ' tbody tr[data-store], #' + id + ' tbody tr[data-rider]')];
		const audit = rows('audit-table');
		const work = rows('work-table');
		if (audit.length < 4 || work.length < 3 || !rows('flagged-table').length) return false;
		const cell = (tr, i) => tr.children[i].innerText;
		return {
			inForce: rows('suspensions-table').map((tr) => tr.dataset.store + '/' + tr.dataset.sku + '/' + cell(tr, 2)),
			audit: audit.map((tr) => tr.dataset.action + ' ' + tr.dataset.store + '/' + tr.dataset.sku + '/' + cell(tr, 4)),
			flagged: rows('flagged-table').map((tr) => tr.dataset.store + ' ' + cell(tr, 1)),
			work: Object.fromEntries(work.map((tr) => [tr.dataset.rider, tr.dataset.state])),
			minutes: Object.fromEntries(work.map((tr) => [tr.dataset.rider, tr.dataset.minutes])),
			text: document.getElementById('operations').innerText,
			note: document.getElementById('work-count').textContent,
		};
	})()`)
	if len(inForce) != 2 || !slices.Equal(got.InForce, inForce) {
		t.Errorf("suspensions in force shown %q; the API has %q (want store C and store B's soy sauce)", got.InForce, inForce)
	}
	if len(audit) != 4 || !slices.Equal(got.Audit, audit) {
		t.Errorf("audit shown %q; the API has %q", got.Audit, audit)
	}
	if !slices.Equal(got.Flagged, []string{storeB.ID + " 3"}) {
		t.Errorf("flagged stores shown %q, want %s with 3 missed tickets", got.Flagged, storeB.ID)
	}
	wantState := map[string]string{"R1": "ok", "R2": "warning", "R3": "stopped"}
	if !maps.Equal(got.Work, wantState) || !maps.Equal(got.Minutes, workers) || atoi(t, workers["R2"]) < 540 || atoi(t, workers["R3"]) < 750 {
		t.Errorf("riders' working time shown %v, minutes %v; want %v and the API's %v (R2 540+, R3 750+)", got.Work, got.Minutes, wantState, workers)
	}
	for _, s := range append(worked, "整店", "Whole store", "soy-sauce-1l", "假冒商品 counterfeit", "恢复", "Restored", storeB.Name,
		"已停止派单", "超 8 小时") {
		if !strings.Contains(got.Text, s) {
			t.Errorf("the operators' desk does not show %q:\n%s", s, got.Text)
		}
	}
	if got.Note != "1 提醒 warned · 1 停止派单 stopped" {
		t.Errorf("working time note %q", got.Note)
	}
	png, err := chromedp.Run(tb.ctx, chromedp.Screenshot(chromedp.CSS("#operations")))
	if err != nil {
		t.Fatalf("screenshot of the desk: %v", err)
	}
	p := filepath.Join(dir, "console-operations.png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}
