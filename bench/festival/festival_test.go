package festival

import (
	"context"
	"encoding/json"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// small is a short festival run that the tests can afford.
func small(seed int64) Config {
	return Config{Stores: 40, Riders: 160, Hours: 0.5, StartHour: 11.5, Seed: seed}
}

// MustSimulate plays the day of cfg or fails the test.
func MustSimulate(tb testing.TB, cfg Config) *day {
	tb.Helper()
	d, err := simulate(context.Background(), cfg, nil)
	if err != nil {
		tb.Fatalf("simulate: %v", err)
	}
	return d
}

// MustSummary sums up a simulated run or fails the test.
func MustSummary(tb testing.TB, d *day) Summary {
	tb.Helper()
	sum, err := d.summary(context.Background())
	if err != nil {
		tb.Fatalf("summary: %v", err)
	}
	return sum
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"defaults", Config{}, ""},
		{"greedy", Config{Algo: dispatch.AlgoGreedy}, ""},
		{"negative stores", Config{Stores: -1}, "stores"},
		{"negative riders", Config{Riders: -3}, "riders"},
		{"negative orders", Config{OrdersPerDay: -1}, "orders per day"},
		{"negative hours", Config{Hours: -1}, "hours"},
		{"longer than the festival", Config{Hours: 200}, "hours"},
		{"not a number of hours", Config{Hours: math.NaN()}, "hours"},
		{"start past midnight", Config{StartHour: 24}, "start hour"},
		{"unknown algo", Config{Algo: "magic"}, "algo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate: got %v, want an error about %s", err, tc.wantErr)
			}
		})
	}

	var c Config
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Config{Stores: DefaultStores, Riders: DefaultRiders, OrdersPerDay: int(DefaultOrdersPerRider * DefaultRiders),
		Hours: DefaultHours, StartHour: DefaultStartHour, Algo: dispatch.AlgoEngine, Sites: DefaultStores / 10}
	if c != want {
		t.Errorf("defaults: got %+v, want %+v", c, want)
	}
	c = Config{Riders: 100}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.OrdersPerDay != int(DefaultOrdersPerRider*100) {
		t.Errorf("orders per day for 100 riders: got %d, want the default load of %v per rider", c.OrdersPerDay, DefaultOrdersPerRider)
	}
}

func TestIntensityPeaks(t *testing.T) {
	night, morning := Intensity(4), Intensity(9)
	lunch, afternoon, dinner := Intensity(12), Intensity(15.5), Intensity(18)
	if !(night < morning && morning < lunch && afternoon < lunch && afternoon < dinner) {
		t.Errorf("intensity: night %.2f, 09:00 %.2f, lunch %.2f, 15:30 %.2f, dinner %.2f: want peaks at lunch and dinner",
			night, morning, lunch, afternoon, dinner)
	}
	if Intensity(12) != Intensity(36) || Intensity(-12) != Intensity(12) {
		t.Error("intensity is not periodic over 24 hours")
	}
}

func TestPlacements(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	day := placements(r, 10000, 0, 24*60)
	if len(day) != 10000 {
		t.Fatalf("a whole day: %d orders, want 10000", len(day))
	}
	lunch := placements(r, 10000, 11*60, 13*60)
	evening := placements(r, 10000, 21*60, 23*60)
	if len(lunch) <= 2*len(evening) {
		t.Errorf("two lunch hours bring %d orders, two evening hours %d: want lunch busier", len(lunch), len(evening))
	}
	if !slices.IsSorted(lunch) || lunch[0] < 11*60 || lunch[len(lunch)-1] >= 13*60 {
		t.Errorf("lunch placements not sorted within [660, 780): first %v last %v", lunch[0], lunch[len(lunch)-1])
	}
	// A window past midnight wraps onto the next day's curve.
	if n := len(placements(r, 10000, 24*60+11*60, 24*60+13*60)); math.Abs(float64(n-len(lunch))) > 1 {
		t.Errorf("lunch of the next day: %d orders, want %d", n, len(lunch))
	}
}

func TestHotSpotsInsideTheCity(t *testing.T) {
	area := geo.Zhengzhou()
	hs := HotSpots(area)
	for _, label := range []string{"Zhengdong New District CBD", "High-tech zone", "Economic zone"} {
		if !slices.ContainsFunc(hs, func(h HotSpot) bool { return strings.HasPrefix(h.Label, label) }) {
			t.Errorf("hot spot %q is missing", label)
		}
	}
	for _, h := range hs {
		if !area.Contains(h.Point) {
			t.Errorf("hot spot %s at %v is outside the service area", h.Label, h.Point)
		}
	}
}

func TestRiderShiftsCoverTheDay(t *testing.T) {
	area := geo.Zhengzhou()
	stores := placeStores(rand.New(rand.NewPCG(1, 1)), area, HotSpots(area), 20)
	rs := riderShifts(rand.New(rand.NewPCG(1, 2)), area, stores, 200, Day, 0, 48*60)
	ids := map[string]bool{}
	for _, r := range rs {
		if ids[r.ID] {
			t.Errorf("rider id %s appears twice", r.ID)
		}
		ids[r.ID] = true
		if r.Capacity < 3 || r.Capacity > 5 {
			t.Errorf("rider %s carries %d orders, want 3 to 5", r.ID, r.Capacity)
		}
		if !r.Off.After(r.On) {
			t.Errorf("rider %s: shift %v to %v", r.ID, r.On, r.Off)
		}
		if !area.Contains(r.Start) {
			t.Errorf("rider %s starts outside the area at %v", r.ID, r.Start)
		}
	}
	for h := 0; h < 48; h++ {
		tm := Day.Add(time.Duration(h)*time.Hour + 30*time.Minute)
		n := 0
		for _, r := range rs {
			if !tm.Before(r.On) && tm.Before(r.Off) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no rider on shift at %s", tm.Format("Jan 2 15:04"))
		}
	}
}

func TestShortDay(t *testing.T) {
	cfg := small(1)
	d := MustSimulate(t, cfg)
	sum := MustSummary(t, d)
	if sum.Orders == 0 || sum.Delivered == 0 {
		t.Fatalf("orders %d, delivered %d: want a day with deliveries", sum.Orders, sum.Delivered)
	}
	if sum.Delivered+sum.Cancelled+sum.Undelivered != sum.Orders {
		t.Errorf("delivered %d + cancelled %d + undelivered %d != orders %d", sum.Delivered, sum.Cancelled, sum.Undelivered, sum.Orders)
	}
	if sum.Within60MinShare < 0.8 {
		t.Errorf("within 60 minutes: %.3f of the orders of a light day, want most", sum.Within60MinShare)
	}
	if !(sum.ClickToDoorP50Min > 0 && sum.ClickToDoorP50Min <= sum.ClickToDoorP90Min) {
		t.Errorf("click-to-door p50 %v, p90 %v", sum.ClickToDoorP50Min, sum.ClickToDoorP90Min)
	}
	for name, gs := range map[string]map[string]Group{"section": sum.BySection, "district": sum.ByDistrict} {
		orders, delivered := 0, 0
		for k, g := range gs {
			orders += g.Orders
			delivered += g.Delivered
			if g.Within60MinShare < 0 || g.Within60MinShare > 1 {
				t.Errorf("%s %s: share %v", name, k, g.Within60MinShare)
			}
		}
		if orders != sum.Orders || delivered != sum.Delivered {
			t.Errorf("by %s: %d orders, %d delivered; want %d, %d", name, orders, delivered, sum.Orders, sum.Delivered)
		}
	}
	if len(sum.ByDistrict) != 5 || len(sum.BySection) != 3 {
		t.Errorf("%d districts and %d sections, want 5 and 3", len(sum.ByDistrict), len(sum.BySection))
	}
	if sum.Riders != cfg.Riders || sum.Stores != cfg.Stores || sum.Rounds == 0 || sum.Offers < sum.Delivered/5 {
		t.Errorf("riders %d, stores %d, rounds %d, offers %d", sum.Riders, sum.Stores, sum.Rounds, sum.Offers)
	}
}

// TestOrdersInvariants checks each order against its store, its promise
// and what the riders did.
func TestOrdersInvariants(t *testing.T) {
	d := MustSimulate(t, small(2))
	stores := map[string]*store{}
	for _, s := range d.stores {
		stores[s.ID] = s
		if !d.area.Contains(s.Point) || s.District == "" {
			t.Errorf("store %s at %v (%q) is not in a district of the area", s.ID, s.Point, s.District)
		}
	}
	placed := map[string]orders.Order{}
	sections := map[orders.Section]int{}
	for _, so := range d.orders {
		o := so.Order
		placed[o.ID] = o
		s := stores[o.StoreID]
		sections[o.Section]++
		if err := o.Validate(); err != nil {
			t.Errorf("order %s: %v", o.ID, err)
		}
		if o.Section != s.Section {
			t.Errorf("order %s is %s, its store %s is %s", o.ID, o.Section, s.ID, s.Section)
		}
		if !slices.Contains(d.coverage.Stores(o.Dropoff), o.StoreID) {
			t.Errorf("order %s: store %s does not serve the drop-off %v", o.ID, o.StoreID, o.Dropoff)
		}
		if p := o.PromiseAt.Sub(o.PlacedAt); (p > 60*time.Minute && o.Section != orders.SectionMade) || p < o.ReadyAt.Sub(o.PlacedAt) {
			t.Errorf("order %s: promise %v after placing, ready after %v", o.ID, p, o.ReadyAt.Sub(o.PlacedAt))
		}
		if at := o.ReadyAt.In(orders.CST); o.Section == orders.SectionMade &&
			(at.Minute() != 0 || !slices.Contains([]int{10, 13, 16, 19}, at.Hour()) || !orders.DayOf(o.PromiseAt).Start().Add(21*time.Hour).Equal(o.PromiseAt)) {
			t.Errorf("factory order %s: ready at %s, promised %s; want a collection wave, by 21:00", o.ID, at, o.PromiseAt.In(orders.CST))
		}
		var sub int64
		for _, it := range o.Items {
			sub += int64(it.Qty) * it.PriceCents
		}
		if sub != o.SubtotalCents || sub <= 0 {
			t.Errorf("order %s: subtotal %d, items sum to %d", o.ID, o.SubtotalCents, sub)
		}
	}
	if sections[orders.SectionFlavours] <= sections[orders.SectionDeals] || sections[orders.SectionMade] == 0 {
		t.Errorf("orders by section %v: want mostly restaurants, and factory goods", sections)
	}
	for _, rec := range d.result.Orders {
		o := placed[rec.ID]
		if !rec.Delivered {
			continue
		}
		switch {
		case rec.RiderID == "":
			t.Errorf("order %s delivered by nobody", rec.ID)
		case rec.Pickup.Before(rec.Ready):
			t.Errorf("order %s picked up at %v before it was ready at %v", rec.ID, rec.Pickup, rec.Ready)
		case rec.Ready.Before(o.PlacedAt):
			t.Errorf("order %s ready at %v before it was placed at %v", rec.ID, rec.Ready, o.PlacedAt)
		case !rec.Dropoff.After(rec.Pickup):
			t.Errorf("order %s dropped off at %v, picked up at %v", rec.ID, rec.Dropoff, rec.Pickup)
		}
	}
}

func TestDeterministic(t *testing.T) {
	cfg := small(3)
	cfg.Hours = 0.25
	a, b := MustSummary(t, MustSimulate(t, cfg)), MustSummary(t, MustSimulate(t, cfg))
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("two runs of seed %d differ:\n%s\n%s", cfg.Seed, ja, jb)
	}
	cfg.Seed++
	if c := MustSummary(t, MustSimulate(t, cfg)); c.ClickToDoorMeanMin == a.ClickToDoorMeanMin && c.Orders == a.Orders {
		t.Errorf("seeds %d and %d give the same day", cfg.Seed-1, cfg.Seed)
	}
}

func TestRunReportsProgress(t *testing.T) {
	cfg := small(4)
	cfg.Hours = 0.25
	cfg.Algo = dispatch.AlgoGreedy
	var last, total float64
	calls := 0
	sum, err := Run(context.Background(), cfg, func(done, tot float64) {
		if done < last {
			t.Errorf("progress went back from %v to %v", last, done)
		}
		last, total = done, tot
		calls++
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := cfg.Hours*60 + Drain.Minutes(); calls < 2 || last != total || total != want {
		t.Errorf("progress: %d calls, last %v of %v, want %v of %v", calls, last, total, want, want)
	}
	if sum.Algo != dispatch.AlgoGreedy || sum.SimHours != cfg.Hours || sum.WallSeconds <= 0 || sum.Seed != cfg.Seed {
		t.Errorf("summary: algo %s, sim hours %v, wall %v s, seed %d", sum.Algo, sum.SimHours, sum.WallSeconds, sum.Seed)
	}
}

func TestRunStopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, small(5), nil); err == nil {
		t.Error("Run with a cancelled context: no error")
	}
}

// TestFestivalDays runs two whole festival days with the three sections,
// the free-delivery quota, the drop sites and the campaign, and checks the
// summary against the record.
func TestFestivalDays(t *testing.T) {
	cfg := Config{Stores: 40, Riders: 160, OrdersPerDay: 700, Sites: 8, StartHour: 1e-9, Hours: 48, Seed: 11}
	d := MustSimulate(t, cfg)
	sum := MustSummary(t, d)
	ctx := context.Background()
	list, err := d.repo.ListOrders(ctx, orders.OrderFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != sum.Orders || sum.Orders != len(d.orders) {
		t.Fatalf("summary of %d orders, record %d, placed %d", sum.Orders, len(list), len(d.orders))
	}

	// Every section, over the days and on each, with a share within its
	// promise.
	if len(sum.ByDay) != 2 || sum.ByDay[0].Day != "2020-03-15" || sum.ByDay[1].Day != "2020-03-16" {
		t.Fatalf("days %+v, want 15 and 16 March", sum.ByDay)
	}
	for _, sec := range orders.Sections() {
		groups := []Group{sum.BySection[string(sec)]}
		for _, day := range sum.ByDay {
			groups = append(groups, day.BySection[string(sec)])
		}
		for i, g := range groups {
			if g.Orders == 0 || g.Delivered == 0 || !(g.WithinPromiseShare > 0 && g.WithinPromiseShare <= 1) {
				t.Errorf("section %s (%d): %d orders, %d delivered, %v within promise", sec, i, g.Orders, g.Delivered, g.WithinPromiseShare)
			}
		}
	}

	// Factory orders are delivered on the day of their collection wave.
	made := 0
	free := map[string]int{} // by platform and day
	for _, o := range list {
		if o.CampaignID != sum.Campaign.ID {
			t.Errorf("order %s placed %s is not in the festival's campaign %s", o.ID, o.PlacedAt, sum.Campaign.ID)
		}
		if o.Section == orders.SectionFlavours && o.DeliveryFeeCents == 0 {
			free[o.Platform+" "+orders.DayOf(o.PlacedAt).String()]++
		}
		if o.Section != orders.SectionMade || o.Delivery != orders.DeliveryDelivered {
			continue
		}
		made++
		wave := o.ReadyAt.In(orders.CST)
		if wave.Minute() != 0 || !slices.Contains([]int{10, 13, 16, 19}, wave.Hour()) || o.PickedUpAt.Before(o.ReadyAt) {
			t.Errorf("factory order %s: wave %s, picked up %s", o.ID, wave, o.PickedUpAt.In(orders.CST))
		}
		if orders.DayOf(o.DeliveredAt) != orders.DayOf(o.ReadyAt) {
			t.Errorf("factory order %s of the wave %s delivered %s, another day", o.ID, wave, o.DeliveredAt.In(orders.CST))
		}
	}
	if made == 0 {
		t.Error("no factory order delivered")
	}

	// Free deliveries: each platform's of a day within its quota, as the
	// quota store counted them, and the quota used up.
	used := 0
	for _, day := range sum.ByDay {
		dd, _ := orders.ParseDay(day.Day)
		for _, f := range day.FreeDeliveries {
			use, err := d.intake.quota.FreeDeliveryUse(ctx, f.Platform, dd)
			if err != nil {
				t.Fatal(err)
			}
			if f.Granted > f.Quota || f.Granted != use.Used || f.Quota != use.Quota || f.Granted != free[f.Platform+" "+day.Day] {
				t.Errorf("%s %s: %d free of a quota of %d; the quota store granted %d of %d, the orders have %d",
					day.Day, f.Platform, f.Granted, f.Quota, use.Used, use.Quota, free[f.Platform+" "+day.Day])
			}
			if f.Granted == f.Quota {
				used++
			}
		}
	}
	if used == 0 {
		t.Error("no platform used up its quota of a day: the quota was never tested")
	}

	// Drop-offs: each choice taken and delivered as chosen, lockers and
	// drop points at their gate; no locker ever held more than its slots,
	// and what it holds at the end is what the events leave held.
	for h := range DropoffLabels {
		if g := sum.Dropoffs[string(h)]; g.Orders == 0 || g.Delivered == 0 {
			t.Errorf("drop-off %s: %d orders, %d delivered", h, g.Orders, g.Delivered)
		}
	}
	sites := map[string]orders.DropSite{}
	for _, s := range d.sites {
		sites[s.ID] = s
	}
	held := map[string]int{}
	for _, o := range list {
		if o.Delivery == orders.DeliveryDelivered && o.Handover != o.ChosenDropoff() {
			t.Errorf("order %s: chose %s, delivered %s", o.ID, o.ChosenDropoff(), o.Handover)
		}
		if o.DropoffSiteID != "" && o.Dropoff != sites[o.DropoffSiteID].Gate {
			t.Errorf("order %s to site %s goes to %v, not its gate %v", o.ID, o.DropoffSiteID, o.Dropoff, sites[o.DropoffSiteID].Gate)
		}
		if o.DropoffMethod == orders.HandoverLocker {
			evs, err := d.repo.Events(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range slotDeltas(o, evs) {
				held[x.locker] += x.delta
			}
		}
	}
	if len(sum.Lockers) != cfg.Sites || sum.DropPoints != cfg.Sites {
		t.Errorf("%d lockers and %d drop points, want %d of each", len(sum.Lockers), sum.DropPoints, cfg.Sites)
	}
	peak := 0
	for _, l := range sum.Lockers {
		if l.PeakReserved > l.Slots {
			t.Errorf("locker %s held %d slots of its %d", l.ID, l.PeakReserved, l.Slots)
		}
		s, err := d.repo.DropSite(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s.Reserved != held[l.ID] {
			t.Errorf("locker %s: %d slots reserved at the end, the events leave %d", l.ID, s.Reserved, held[l.ID])
		}
		peak = max(peak, l.PeakReserved)
	}
	if peak == 0 {
		t.Error("no locker slot was ever held")
	}
}

func TestPeakSlots(t *testing.T) {
	at := func(m int) time.Time { return Day.Add(time.Duration(m) * time.Minute) }
	for _, tc := range []struct {
		name string
		ds   []slotDelta
		want map[string]int
	}{
		{"none", nil, map[string]int{}},
		{"two at once", []slotDelta{{"L1", at(1), +1}, {"L1", at(2), +1}, {"L1", at(3), -1}, {"L1", at(4), -1}}, map[string]int{"L1": 2}},
		{"one after the other", []slotDelta{{"L1", at(1), +1}, {"L1", at(2), -1}, {"L1", at(3), +1}}, map[string]int{"L1": 1}},
		{"a give-back first at the same instant", []slotDelta{{"L1", at(1), +1}, {"L1", at(2), +1}, {"L1", at(2), -1}}, map[string]int{"L1": 1}},
		{"by locker", []slotDelta{{"L1", at(1), +1}, {"L2", at(1), +1}, {"L2", at(2), +1}}, map[string]int{"L1": 1, "L2": 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := peakSlots(tc.ds); !maps.Equal(got, tc.want) {
				t.Errorf("peakSlots: %v, want %v", got, tc.want)
			}
		})
	}
}
