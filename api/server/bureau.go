package server

import (
	"context"
	"maps"
	"math"
	"slices"
	"time"

	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/orders"
)

// cst is China Standard Time, in which the festival's days are counted.
var cst = time.FixedZone("CST", 8*3600)

// figures accumulates the figures of one group.
type figures struct {
	orders, delivered, within60, cancelled, gmv int64
	minutes                                     []float64
}

func (f *figures) add(o orders.Order) {
	f.orders++
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
	}
}

func (f *figures) row(group string) *pb.FigureRow {
	r := &pb.FigureRow{Group: group, Orders: f.orders, Delivered: f.delivered, GmvCents: f.gmv, Cancelled: f.cancelled}
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

// GetFestivalFigures returns the figures by the grouping asked.
func (s *Server) GetFestivalFigures(ctx context.Context, req *pb.GetFestivalFiguresRequest) (*pb.GetFestivalFiguresResponse, error) {
	var from, to time.Time
	for _, t := range []struct {
		field string
		v     interface {
			CheckValid() error
			AsTime() time.Time
		}
		dst *time.Time
		set bool
	}{{"from", req.GetFrom(), &from, req.GetFrom() != nil}, {"to", req.GetTo(), &to, req.GetTo() != nil}} {
		if !t.set {
			continue
		}
		if err := t.v.CheckValid(); err != nil {
			return nil, orders.Invalid(t.field, "%v", err)
		}
		*t.dst = t.v.AsTime()
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return nil, orders.Invalid("to", "must be after from")
	}
	var key func(o orders.Order) string
	switch req.GetGroupBy() {
	case pb.Grouping_GROUPING_UNSPECIFIED, pb.Grouping_GROUPING_DISTRICT:
		key = func(o orders.Order) string { return o.District }
	case pb.Grouping_GROUPING_SECTION:
		key = func(o orders.Order) string { return string(o.Section) }
	case pb.Grouping_GROUPING_PLATFORM:
		key = func(o orders.Order) string { return o.Platform }
	case pb.Grouping_GROUPING_DAY:
		key = func(o orders.Order) string { return o.PlacedAt.In(cst).Format(time.DateOnly) }
	default:
		return nil, orders.Invalid("group_by", "%d is not a grouping", req.GetGroupBy())
	}
	list, err := s.cfg.Repo.ListOrders(ctx, orders.OrderFilter{})
	if err != nil {
		return nil, err
	}
	groups := map[string]*figures{}
	var total figures
	for _, o := range list {
		if (!from.IsZero() && o.PlacedAt.Before(from)) || (!to.IsZero() && !o.PlacedAt.Before(to)) {
			continue
		}
		k := key(o)
		if k == "" {
			k = "unknown"
		}
		g := groups[k]
		if g == nil {
			g = &figures{}
			groups[k] = g
		}
		g.add(o)
		total.add(o)
	}
	resp := &pb.GetFestivalFiguresResponse{Total: total.row("total")}
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		resp.Rows = append(resp.Rows, groups[k].row(k))
	}
	return resp, nil
}
