package server

import (
	"cmp"
	"context"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/orders"
)

// cst is China Standard Time, in which the festival's days are counted.
var cst = time.FixedZone("CST", 8*3600)

// figures accumulates the figures of one group.
type figures struct {
	orders, delivered, within60, cancelled, gmv int64
	free                                        int64 // Flavours orders delivered free
	minutes                                     []float64
	reasons                                     map[string]int64
}

func (f *figures) add(o orders.Order) {
	f.orders++
	if o.Section == orders.SectionFlavours && o.DeliveryFeeCents == 0 {
		f.free++
	}
	switch {
	case o.Delivery == orders.DeliveryDelivered:
		f.delivered++
		f.gmv += o.SubtotalCents
		m := o.DeliveredAt.Sub(o.PlacedAt).Minutes()
		f.minutes = append(f.minutes, m)
		if m <= 60 {
			f.within60++
		}
	case o.Terminal():
		f.cancelled++
		if f.reasons == nil {
			f.reasons = map[string]int64{}
		}
		f.reasons[cancelReason(o)]++
	}
}

// cancelReason names why an order ended without delivery, for counting:
// its reason, else its status.
func cancelReason(o orders.Order) string {
	if o.Reason != "" {
		return o.Reason
	}
	if o.Status.Ended() {
		return strings.ToLower(string(o.Status))
	}
	return strings.ToLower(string(o.Delivery))
}

func (f *figures) row(r *pb.FigureRow) *pb.FigureRow {
	r.Orders, r.Delivered, r.GmvCents, r.Cancelled, r.CancelledByReason = f.orders, f.delivered, f.gmv, f.cancelled, f.reasons
	r.FreeDeliveries = f.free
	if f.delivered > 0 {
		r.Within_60MinShare = round3(float64(f.within60) / float64(f.delivered))
		slices.Sort(f.minutes)
		r.ClickToDoorP50Min = round3(quantile(f.minutes, 0.5))
		r.ClickToDoorP90Min = round3(quantile(f.minutes, 0.9))
	}
	return r
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// quantile returns the q-quantile of sorted xs, by the nearest rank.
func quantile(xs []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(xs)))) - 1
	return xs[max(i, 0)]
}

// grouping is one way of splitting orders: the order's label and where the
// label goes in a row.
type grouping struct {
	label func(o orders.Order) string
	set   func(r *pb.FigureRow, label string)
}

var groupings = map[pb.Grouping]grouping{
	pb.Grouping_GROUPING_DISTRICT: {
		func(o orders.Order) string { return o.District },
		func(r *pb.FigureRow, l string) { r.District = l }},
	pb.Grouping_GROUPING_SECTION: {
		func(o orders.Order) string { return string(o.Section) },
		func(r *pb.FigureRow, l string) { r.Section = sectionPB(orders.Section(l)) }},
	pb.Grouping_GROUPING_PLATFORM: {
		func(o orders.Order) string { return o.Platform },
		func(r *pb.FigureRow, l string) { r.Platform = l }},
	pb.Grouping_GROUPING_DAY: {
		func(o orders.Order) string { return o.PlacedAt.In(cst).Format(time.DateOnly) },
		func(r *pb.FigureRow, l string) { r.Day = l }},
	pb.Grouping_GROUPING_CAMPAIGN: {
		campaignOf,
		func(r *pb.FigureRow, l string) { r.Campaign = l }},
}

// campaignOf is the campaign an order is counted in: its id, "none".
func campaignOf(o orders.Order) string { return cmp.Or(o.CampaignID, "none") }

// splits returns the groupings a request asks for, in order.
func splits(req *pb.GetFestivalFiguresRequest) ([]grouping, error) {
	first := req.GetGroupBy()
	if first == pb.Grouping_GROUPING_UNSPECIFIED {
		first = pb.Grouping_GROUPING_DISTRICT
	}
	asked := append([]pb.Grouping{first}, req.GetThenBy()...)
	var out []grouping
	for i, g := range asked {
		field := "group_by"
		if i > 0 {
			field = "then_by"
		}
		gr, ok := groupings[g]
		if !ok {
			return nil, orders.Invalid(field, "%d is not a grouping", g)
		}
		if slices.Index(asked, g) < i {
			return nil, orders.Invalid(field, "%s asked twice", g)
		}
		out = append(out, gr)
	}
	return out, nil
}

// window returns the placement window of a request.
func window(req *pb.GetFestivalFiguresRequest) (from, to time.Time, err error) {
	if t := req.GetFrom(); t != nil {
		if err := t.CheckValid(); err != nil {
			return from, to, orders.Invalid("from", "%v", err)
		}
		from = t.AsTime()
	}
	if t := req.GetTo(); t != nil {
		if err := t.CheckValid(); err != nil {
			return from, to, orders.Invalid("to", "%v", err)
		}
		to = t.AsTime()
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, orders.Invalid("to", "must be after from")
	}
	return from, to, nil
}

// GetFestivalFigures returns the figures split the ways asked.
func (s *Server) GetFestivalFigures(ctx context.Context, req *pb.GetFestivalFiguresRequest) (*pb.GetFestivalFiguresResponse, error) {
	gs, err := splits(req)
	if err != nil {
		return nil, err
	}
	from, to, err := window(req)
	if err != nil {
		return nil, err
	}
	list, err := s.cfg.Repo.ListOrders(ctx, orders.OrderFilter{})
	if err != nil {
		return nil, err
	}
	groups := map[string]*figures{}
	labels := map[string][]string{}
	var total figures
	for _, o := range list {
		if (!from.IsZero() && o.PlacedAt.Before(from)) || (!to.IsZero() && !o.PlacedAt.Before(to)) ||
			(req.GetCampaign() != "" && campaignOf(o) != req.GetCampaign()) {
			continue
		}
		ls := make([]string, len(gs))
		for i, g := range gs {
			ls[i] = g.label(o)
			if ls[i] == "" {
				ls[i] = "unknown"
			}
		}
		k := strings.Join(ls, " / ")
		f := groups[k]
		if f == nil {
			f = &figures{}
			groups[k], labels[k] = f, ls
		}
		f.add(o)
		total.add(o)
	}
	resp := &pb.GetFestivalFiguresResponse{Total: total.row(&pb.FigureRow{Group: "total"})}
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		r := &pb.FigureRow{Group: k}
		for i, g := range gs {
			g.set(r, labels[k][i])
		}
		resp.Rows = append(resp.Rows, groups[k].row(r))
	}
	return resp, s.nameCampaigns(ctx, resp.Rows)
}

// nameCampaigns gives the rows split by campaign their campaign's name.
func (s *Server) nameCampaigns(ctx context.Context, rows []*pb.FigureRow) error {
	if s.cfg.Campaigns == nil || !slices.ContainsFunc(rows, func(r *pb.FigureRow) bool { return r.Campaign != "" }) {
		return nil
	}
	all, err := s.cfg.Campaigns.Store().Campaigns(ctx)
	if err != nil {
		return err
	}
	for _, r := range rows {
		for _, c := range all {
			if c.ID == r.Campaign {
				r.CampaignName = c.Name
			}
		}
	}
	return nil
}
