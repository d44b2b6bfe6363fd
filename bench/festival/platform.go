package festival

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/memory"
)

// FestivalDays is the length of the 2020 festival: 15 to 22 March.
const FestivalDays = 8

// CampaignName is the name of the festival's campaign, which covers its
// days and its three sections.
const CampaignName = "郑州消费节"

// freeShare is the share of a day's orders that ride free: each platform's
// daily quota of free deliveries of 郑享百味 is this share of its orders of
// the day.
const freeShare = 0.1

// The consumers' drop-off choices: the share who ask for a locker, a drop
// point or a hand-over in person (the others take the door), and how far
// from the consumer a site may be for the choice to stand.
const (
	lockerShare    = 0.15
	dropPointShare = 0.15
	inPersonShare  = 0.08
	siteRadiusM    = 1500
)

// collectAfter is how long, on average, a consumer takes to collect the
// goods left in a locker or at a drop point.
const collectAfter = 40 * time.Minute

// placeSites places n smart lockers, with 4 to 10 slots, and n drop points
// at the gates of closed residential compounds, around the hot spots.
func placeSites(r *rand.Rand, area *geo.Area, hs []HotSpot, n int, at time.Time) []orders.DropSite {
	out := make([]orders.DropSite, 0, 2*n)
	for i := range 2 * n {
		h := pickHotSpot(r, hs)
		s := orders.DropSite{
			ID:        fmt.Sprintf("L%03d", i/2+1),
			Kind:      orders.HandoverLocker,
			Name:      fmt.Sprintf("丰巢智能柜 smart locker #%d", i/2+1),
			Compound:  fmt.Sprintf("%s 小区 %d", h.Label, i/2+1),
			Gate:      area.RandomPointNear(r, h.Point, 1500),
			Slots:     4 + r.IntN(7),
			CreatedAt: at,
		}
		if i%2 == 1 {
			s.ID, s.Kind, s.Slots = fmt.Sprintf("D%03d", i/2+1), orders.HandoverDropPoint, 0
			s.Name = fmt.Sprintf("小区门口取货点 drop point #%d", i/2+1)
		}
		out = append(out, s)
	}
	return out
}

// intake is the festival's platforms placing their orders as the API's
// CreateOrder does, at the moment each is placed: a locker or drop point
// order goes to its site's gate (a consumer whose locker is full has the
// goods brought to the door instead), an order of 郑享百味 asks for a free
// delivery and gets one while its platform's quota of the day lasts, and
// every order joins its campaign; then the engine takes it.
type intake struct {
	eng       *dispatch.Engine
	repo      *memory.Repository
	quota     orders.QuotaStore
	campaigns *orders.Campaigns
	campaign  orders.Campaign // the festival's
	travel    geo.Travel
	clock     dispatch.Clock

	// lockerFull counts the orders whose locker was full when they were
	// placed.
	lockerFull int
}

// place places o.
func (in *intake) place(ctx context.Context, o orders.Order) (orders.Order, error) {
	st, err := in.repo.GetStore(ctx, o.StoreID)
	if err != nil {
		return orders.Order{}, err
	}
	asked := o
	if _, err := orders.AtDropSite(ctx, in.repo, &o); orders.IsKind(err, orders.KindConflict) {
		in.lockerFull++
		o = asked
		o.DropoffMethod, o.DropoffSiteID, o.PromiseAt = orders.HandoverDoor, "", time.Time{}
		cfg := in.eng.Config()
		cfg.Schedule(&o, o.ReadyAt.Sub(o.PlacedAt).Minutes(), in.travel, st.Point)
	} else if err != nil {
		return orders.Order{}, err
	}
	if err := in.campaigns.Join(ctx, &o); err != nil {
		return orders.Order{}, err
	}
	free, errs := orders.FreeDeliveries(ctx, in.quota, []orders.FreeAsk{{Order: o, Store: st, At: o.PlacedAt}})
	if errs[0] != nil {
		return orders.Order{}, errs[0]
	}
	if free[0] {
		o.DeliveryFeeCents = 0
	}
	return in.eng.Submit(ctx, o)
}

// collect records that the consumer took the goods of a delivered order.
func (in *intake) collect(ctx context.Context, id string) error {
	now := in.clock.Now()
	_, err := in.repo.UpdateOrder(ctx, id, func(o *orders.Order) ([]orders.Event, error) {
		ev, err := o.ConfirmReceipt(now)
		return []orders.Event{ev}, err
	})
	return err
}

// open sets up the platforms' side of the festival: its campaign from
// first to last, each platform's quota of free deliveries of each day
// simulated, from to to (freeShare of its share of perDay orders), and the
// drop sites.
func (in *intake) open(ctx context.Context, sites []orders.DropSite, first, last, from, to orders.Day, perDay int) error {
	quota, err := memory.NewQuota(0)
	if err != nil {
		return err
	}
	for d := from; d.Compare(to) <= 0; d = d.AddDays(1) {
		for _, p := range platforms {
			if err := quota.SetFreeDeliveryQuota(ctx, p.id, d, int(math.Ceil(freeShare*p.share*float64(perDay)))); err != nil {
				return err
			}
		}
	}
	in.quota = quota
	in.campaigns = orders.NewCampaigns(memory.NewCampaigns(), 0)
	// A fixed id, so that a seed's summary is always the same.
	if in.campaign, err = in.campaigns.Create(ctx, orders.Campaign{ID: "C" + first.Start().Format("20060102"), Name: CampaignName,
		First: first, Last: last, Sections: orders.Sections()}); err != nil {
		return err
	}
	for _, s := range sites {
		if err := in.repo.CreateDropSite(ctx, s); err != nil {
			return err
		}
	}
	return nil
}
