package festival

import (
	"cmp"
	"context"
	"slices"
	"time"

	"zhengxiang/bench/mdrp"
	"zhengxiang/dispatch"
	"zhengxiang/orders"
)

// Group is the summary of the orders of one section, district or drop-off.
// Within60MinShare is a share of the orders delivered; WithinPromiseShare
// a share of the orders due (see Summary).
type Group struct {
	Label              string  `json:"label"`
	Orders             int     `json:"orders"`
	Delivered          int     `json:"delivered"`
	Cancelled          int     `json:"cancelled"`
	Within60MinShare   float64 `json:"within_60_min_share"`
	WithinPromiseShare float64 `json:"within_promise_share"`
	ClickToDoorP50Min  float64 `json:"click_to_door_p50_min"`
	ClickToDoorP90Min  float64 `json:"click_to_door_p90_min"`
}

// Summary is the outcome of festival days, read from the record: the
// repository's orders and events and the quota store's grants. Minutes are
// click-to-door (drop-off minus placement) and ready-to-pickup (pickup
// minus the moment the store said the goods were ready). Within60MinShare
// is a share of the orders delivered. WithinPromiseShare is a share of the
// orders due: those delivered by their promise (the hour's promise of
// 郑享特惠 and 郑享百味, the same-day promise of its collection wave for
// 郑享制造) out of every order but those still open at the end whose
// promise lies after it (NotDue), so that an order cancelled or late counts
// against it.
type Summary struct {
	Orders      int `json:"orders"`
	Delivered   int `json:"delivered"`
	Cancelled   int `json:"cancelled"`
	Undelivered int `json:"undelivered"` // neither delivered nor cancelled when the simulation ended
	NotDue      int `json:"not_due"`     // of them, promised after the end

	Within60MinShare     float64 `json:"within_60_min_share"`
	WithinPromiseShare   float64 `json:"within_promise_share"`
	ClickToDoorP50Min    float64 `json:"click_to_door_p50_min"`
	ClickToDoorP90Min    float64 `json:"click_to_door_p90_min"`
	ClickToDoorMeanMin   float64 `json:"click_to_door_mean_min"`
	ReadyToPickupMeanMin float64 `json:"ready_to_pickup_mean_min"`
	OrdersPerBundleMean  float64 `json:"orders_per_bundle_mean"`
	Riders               int     `json:"riders"`
	RidersOnShift        int     `json:"riders_on_shift"` // riders whose shift fell in the simulated hours
	Stores               int     `json:"stores"`
	Offers               int     `json:"offers"`
	Declined             int     `json:"declined"`
	Expired              int     `json:"expired"`
	Reassigned           int     `json:"reassigned"`
	Rounds               int     `json:"rounds"`

	BySection  map[string]Group `json:"by_section"`
	ByDistrict map[string]Group `json:"by_district"`
	// ByDay is the days orders were placed on (China Standard Time).
	ByDay []DaySummary `json:"by_day"`

	// FreeGranted is the free deliveries of 郑享百味 the orders got, out
	// of FreeQuota, the platforms' quotas of the days summed.
	FreeGranted int `json:"free_granted"`
	FreeQuota   int `json:"free_quota"`
	// Dropoffs is the orders by the consumer's drop-off choice (DOOR,
	// LOCKER, DROP_POINT, IN_PERSON).
	Dropoffs map[string]Group `json:"dropoffs"`
	// Lockers is each locker's slots and the most of them held at once;
	// LockerFullAtOrdering the orders whose consumer found the chosen
	// locker full and took the door.
	Lockers              []LockerUse `json:"lockers"`
	LockerFullAtOrdering int         `json:"locker_full_at_ordering"`
	DropPoints           int         `json:"drop_points"`
	Campaign             CampaignUse `json:"campaign"`

	Start       time.Time     `json:"start"`
	End         time.Time     `json:"end"`
	SimHours    float64       `json:"sim_hours"`
	WallSeconds float64       `json:"wall_seconds"`
	Algo        dispatch.Algo `json:"algo"`
	Seed        int64         `json:"seed"`
}

// DaySummary is the orders placed on one day.
type DaySummary struct {
	Day                string           `json:"day"` // 2020-03-15
	Orders             int              `json:"orders"`
	Delivered          int              `json:"delivered"`
	Cancelled          int              `json:"cancelled"`
	WithinPromiseShare float64          `json:"within_promise_share"`
	BySection          map[string]Group `json:"by_section"`
	// Dropoffs is the day's orders by the consumer's drop-off choice.
	Dropoffs map[string]int `json:"dropoffs"`
	// FreeDeliveries is each platform's free deliveries granted and its
	// quota of the day.
	FreeDeliveries []FreeUse `json:"free_deliveries"`
}

// FreeUse is a platform's free deliveries of a day: granted to its
// orders, out of its quota.
type FreeUse struct {
	Platform string `json:"platform"`
	Granted  int    `json:"granted"`
	Quota    int    `json:"quota"`
}

// LockerUse is a locker's use: its orders, its slots and the most slots
// its orders held at once.
type LockerUse struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Orders       int    `json:"orders"`
	Slots        int    `json:"slots"`
	PeakReserved int    `json:"peak_reserved"`
}

// CampaignUse is the festival's campaign and the orders it holds.
type CampaignUse struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	First  string `json:"first"`
	Last   string `json:"last"`
	Orders int    `json:"orders"`
}

// DropoffLabels names the drop-off choices.
var DropoffLabels = map[orders.Handover]string{
	orders.HandoverDoor: "door", orders.HandoverLocker: "locker",
	orders.HandoverDropPoint: "drop point", orders.HandoverInPerson: "in person",
}

// tally sums up orders into a Group.
type tally struct {
	g                    Group
	ctd                  []float64
	in60, inPromise, due int
	readyToPickup        []float64
}

// add counts o, as it was at end.
func (t *tally) add(o orders.Order, end time.Time) {
	t.g.Orders++
	switch {
	case o.Delivery == orders.DeliveryDelivered:
		t.g.Delivered++
		ctd := o.DeliveredAt.Sub(o.PlacedAt)
		t.ctd = append(t.ctd, ctd.Minutes())
		t.readyToPickup = append(t.readyToPickup, o.PickedUpAt.Sub(o.ReadyMarkedAt).Minutes())
		if ctd <= 60*time.Minute {
			t.in60++
		}
		if !o.DeliveredAt.After(o.PromiseAt) {
			t.inPromise++
		}
	case o.Terminal():
		t.g.Cancelled++
	}
	if o.Terminal() || !o.PromiseAt.After(end) {
		t.due++
	}
}

// group returns the tally's Group.
func (t *tally) group() Group {
	g := t.g
	if n := float64(len(t.ctd)); n > 0 {
		g.Within60MinShare = round(float64(t.in60)/n, 4)
		g.ClickToDoorP50Min = round(mdrp.Percentile(t.ctd, 0.5), 2)
		g.ClickToDoorP90Min = round(mdrp.Percentile(t.ctd, 0.9), 2)
	}
	if t.due > 0 {
		g.WithinPromiseShare = round(float64(t.inPromise)/float64(t.due), 4)
	}
	return g
}

// groups returns the groups of tallies, labelled.
func groups(ts map[string]*tally, label func(string) string) map[string]Group {
	out := make(map[string]Group, len(ts))
	for k, t := range ts {
		g := t.group()
		g.Label = label(k)
		out[k] = g
	}
	return out
}

// tallyOf returns the tally of key k in ts, made when missing.
func tallyOf(ts map[string]*tally, k string) *tally {
	t := ts[k]
	if t == nil {
		t = &tally{}
		ts[k] = t
	}
	return t
}

// summary sums up the run from the record: the repository's orders and
// events and the quota store.
func (d *day) summary(ctx context.Context) (Summary, error) {
	res := d.result
	persons := map[string]bool{}
	for _, r := range d.riders {
		persons[riderPerson(r.ID)] = true
	}
	sum := Summary{
		Riders: d.cfg.Riders, RidersOnShift: len(persons), Stores: len(d.stores),
		Offers: res.Stats.Offers, Declined: res.Stats.Declined, Expired: res.Stats.Expired,
		Reassigned: res.Stats.Reassigned, Rounds: res.Rounds, LockerFullAtOrdering: d.intake.lockerFull,
		Start: d.start, End: d.end, SimHours: d.cfg.Hours, Algo: d.cfg.Algo, Seed: d.cfg.Seed,
	}
	list, err := d.repo.ListOrders(ctx, orders.OrderFilter{})
	if err != nil {
		return Summary{}, err
	}
	all := &tally{}
	bySection, byDistrict, byDropoff := map[string]*tally{}, map[string]*tally{}, map[string]*tally{}
	for _, sec := range orders.Sections() {
		tallyOf(bySection, string(sec))
	}
	for _, dist := range d.area.Districts() {
		tallyOf(byDistrict, dist.Name)
	}
	for h := range DropoffLabels {
		tallyOf(byDropoff, string(h))
	}
	type dayTally struct {
		all       tally
		bySection map[string]*tally
		dropoffs  map[string]int
		free      map[string]int // by platform
	}
	days := map[orders.Day]*dayTally{}
	var claims []slotDelta
	lockerOrders := map[string]int{}
	for _, o := range list {
		sec, h := string(o.Section), string(o.ChosenDropoff())
		for _, t := range []*tally{all, tallyOf(bySection, sec), tallyOf(byDistrict, o.District), tallyOf(byDropoff, h)} {
			t.add(o, d.end)
		}
		day := orders.DayOf(o.PlacedAt)
		dt := days[day]
		if dt == nil {
			dt = &dayTally{bySection: map[string]*tally{}, dropoffs: map[string]int{}, free: map[string]int{}}
			for _, s := range orders.Sections() {
				tallyOf(dt.bySection, string(s))
			}
			days[day] = dt
		}
		dt.all.add(o, d.end)
		tallyOf(dt.bySection, sec).add(o, d.end)
		dt.dropoffs[h]++
		if o.Section == orders.SectionFlavours && o.DeliveryFeeCents == 0 {
			dt.free[o.Platform]++
		}
		if o.CampaignID == d.intake.campaign.ID {
			sum.Campaign.Orders++
		}
		if o.DropoffMethod == orders.HandoverLocker {
			lockerOrders[o.DropoffSiteID]++
			evs, err := d.repo.Events(ctx, o.ID)
			if err != nil {
				return Summary{}, err
			}
			claims = append(claims, slotDeltas(o, evs)...)
		}
		if !o.Terminal() {
			sum.Undelivered++
			if o.PromiseAt.After(d.end) {
				sum.NotDue++
			}
		}
	}

	g := all.group()
	sum.Orders, sum.Delivered, sum.Cancelled = g.Orders, g.Delivered, g.Cancelled
	sum.Within60MinShare, sum.WithinPromiseShare = g.Within60MinShare, g.WithinPromiseShare
	sum.ClickToDoorP50Min, sum.ClickToDoorP90Min = g.ClickToDoorP50Min, g.ClickToDoorP90Min
	if len(all.ctd) > 0 {
		sum.ClickToDoorMeanMin = round(mean(all.ctd), 2)
		sum.ReadyToPickupMeanMin = round(mean(all.readyToPickup), 2)
	}
	sectionLabel := func(k string) string { return orders.Section(k).Label() }
	sum.BySection = groups(bySection, sectionLabel)
	districts := map[string]string{}
	for _, dist := range d.area.Districts() {
		districts[dist.Name] = dist.NameZH + " " + dist.Name
	}
	sum.ByDistrict = groups(byDistrict, func(k string) string { return districts[k] })
	sum.Dropoffs = groups(byDropoff, func(k string) string { return DropoffLabels[orders.Handover(k)] })

	keys := make([]orders.Day, 0, len(days))
	for k := range days {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, orders.Day.Compare)
	for _, k := range keys {
		dt := days[k]
		g := dt.all.group()
		ds := DaySummary{Day: k.String(), Orders: g.Orders, Delivered: g.Delivered, Cancelled: g.Cancelled,
			WithinPromiseShare: g.WithinPromiseShare, BySection: groups(dt.bySection, sectionLabel), Dropoffs: dt.dropoffs}
		for _, p := range platforms {
			use, err := d.intake.quota.FreeDeliveryUse(ctx, p.id, k)
			if err != nil {
				return Summary{}, err
			}
			ds.FreeDeliveries = append(ds.FreeDeliveries, FreeUse{Platform: p.id, Granted: dt.free[p.id], Quota: use.Quota})
			sum.FreeGranted += dt.free[p.id]
			sum.FreeQuota += use.Quota
		}
		sum.ByDay = append(sum.ByDay, ds)
	}

	peaks := peakSlots(claims)
	for _, s := range d.sites {
		if s.Kind != orders.HandoverLocker {
			sum.DropPoints++
			continue
		}
		sum.Lockers = append(sum.Lockers, LockerUse{ID: s.ID, Name: s.Name, Orders: lockerOrders[s.ID],
			Slots: s.Slots, PeakReserved: peaks[s.ID]})
	}
	c := d.intake.campaign
	sum.Campaign.ID, sum.Campaign.Name, sum.Campaign.First, sum.Campaign.Last = c.ID, c.Name, c.First.String(), c.Last.String()

	if len(res.Trips) > 0 {
		n := 0
		for _, t := range res.Trips {
			n += len(t.OrderIDs)
		}
		sum.OrdersPerBundleMean = round(float64(n)/float64(len(res.Trips)), 2)
	}
	return sum, nil
}

// slotDelta is a locker order taking (+1) or giving back (-1) a slot.
type slotDelta struct {
	locker string
	at     time.Time
	delta  int
}

// slotDeltas returns, from its events, when the locker order o took a slot
// of its locker (its rider's acceptance) and gave it back (orders.FreesSlot).
func slotDeltas(o orders.Order, evs []orders.Event) []slotDelta {
	var out []slotDelta
	held := false
	for _, ev := range evs {
		switch {
		case ev.Type == orders.EventAssigned && !held:
			held = true
			out = append(out, slotDelta{o.DropoffSiteID, ev.At, +1})
		case held && orders.FreesSlot(&o, []orders.Event{ev}):
			held = false
			out = append(out, slotDelta{o.DropoffSiteID, ev.At, -1})
		}
	}
	return out
}

// peakSlots returns the most slots held at once in each locker; of a take
// and a give-back at the same instant, the give-back counts first.
func peakSlots(ds []slotDelta) map[string]int {
	slices.SortFunc(ds, func(a, b slotDelta) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.delta, b.delta))
	})
	held, peak := map[string]int{}, map[string]int{}
	for _, d := range ds {
		held[d.locker] += d.delta
		peak[d.locker] = max(peak[d.locker], held[d.locker])
	}
	return peak
}
