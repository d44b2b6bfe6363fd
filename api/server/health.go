package server

import (
	"context"
	"time"

	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// Contact tracing's window: 14 days (an incubation period) unless the
// bureau says otherwise, at most 31.
const (
	defaultTraceWindow = 14 * 24 * time.Hour
	maxTraceWindow     = 31 * 24 * time.Hour
)

// healthCodes maps the API's health codes to the domain's.
var healthCodes = map[pb.HealthCode]orders.HealthCode{
	pb.HealthCode_HEALTH_CODE_GREEN:  orders.HealthGreen,
	pb.HealthCode_HEALTH_CODE_YELLOW: orders.HealthYellow,
	pb.HealthCode_HEALTH_CODE_RED:    orders.HealthRed,
}

func healthCardPB(c orders.HealthCard) *pb.HealthCard {
	code := pb.HealthCode(pb.HealthCode_value["HEALTH_CODE_"+string(c.Code)])
	return &pb.HealthCard{Day: c.Day.String(), TemperatureC: c.TemperatureC, HealthCode: code,
		RecordedAt: ts(c.RecordedAt), Valid: c.ValidOn(c.Day)}
}

// RecordHealthCard records the rider's health card of the day.
func (s *Server) RecordHealthCard(ctx context.Context, req *pb.RecordHealthCardRequest) (*pb.RecordHealthCardResponse, error) {
	if err := s.ownRider(ctx, req.GetRiderId()); err != nil {
		return nil, err
	}
	code, ok := healthCodes[req.GetHealthCode()]
	if !ok {
		return nil, orders.Invalid("health_code", "%s is not GREEN, YELLOW or RED", req.GetHealthCode())
	}
	c, err := s.cfg.Engine.RecordHealthCard(ctx, req.GetRiderId(), req.GetTemperatureC(), code)
	if err != nil {
		return nil, err
	}
	return &pb.RecordHealthCardResponse{RiderId: c.RiderID, Card: healthCardPB(c)}, nil
}

// riderHealth returns what the consumer sees of the health card of the
// rider bringing o, today's: nil before a rider is assigned, after the
// drop-off, and when the rider has no card today.
func (s *Server) riderHealth(ctx context.Context, o orders.Order) (*pb.HealthCard, error) {
	switch o.Delivery {
	case orders.DeliveryAssigned, orders.DeliveryArrivedAtPickup, orders.DeliveryPickedUp, orders.DeliveryArrivedAtDropoff:
	default:
		return nil, nil
	}
	hs, ok := s.cfg.Repo.(orders.HealthStore)
	if !ok || o.RiderID == "" || o.Terminal() {
		return nil, nil
	}
	c, err := hs.HealthCard(ctx, o.RiderID, orders.DayOf(s.cfg.Clock.Now()))
	if orders.IsKind(err, orders.KindNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return healthCardPB(c), nil
}

// traceWindow returns the window of a tracing request.
func (s *Server) traceWindow(req *pb.TraceContactsRequest) (from, to time.Time, err error) {
	to = s.cfg.Clock.Now()
	if t := req.GetTo(); t != nil {
		if err := t.CheckValid(); err != nil {
			return from, to, orders.Invalid("to", "%v", err)
		}
		to = t.AsTime()
	}
	from = to.Add(-defaultTraceWindow)
	if t := req.GetFrom(); t != nil {
		if err := t.CheckValid(); err != nil {
			return from, to, orders.Invalid("from", "%v", err)
		}
		from = t.AsTime()
	}
	switch {
	case !from.Before(to):
		return from, to, orders.Invalid("to", "must be after from")
	case to.Sub(from) > maxTraceWindow:
		return from, to, orders.Invalid("from", "the window is longer than %v", maxTraceWindow)
	}
	return from, to, nil
}

// TraceContacts returns the riders and stores that touched an order, or
// the orders delivered to a compound's cell, within the window.
func (s *Server) TraceContacts(ctx context.Context, req *pb.TraceContactsRequest) (*pb.TraceContactsResponse, error) {
	from, to, err := s.traceWindow(req)
	if err != nil {
		return nil, err
	}
	var list []orders.Order
	switch {
	case (req.GetOrderId() == "") == (req.GetCell() == ""):
		return nil, orders.Invalid("order_id", "give an order_id or a cell, not both")
	case req.GetOrderId() != "":
		o, err := s.cfg.Repo.GetOrder(ctx, req.GetOrderId())
		if err != nil {
			return nil, err
		}
		list = []orders.Order{o}
	default:
		if list, err = s.droppedIn(ctx, req.GetCell(), from, to); err != nil {
			return nil, err
		}
	}
	resp := &pb.TraceContactsResponse{From: ts(from), To: ts(to)}
	trails := make([]orders.Trail, 0, len(list))
	for _, o := range list {
		evs, err := s.cfg.Repo.Events(ctx, o.ID)
		if err != nil {
			return nil, err
		}
		trails = append(trails, orders.Trail{Order: o, Events: evs})
		resp.OrderIds = append(resp.OrderIds, o.ID)
	}
	for _, c := range orders.TraceContacts(trails, from, to) {
		kind := pb.ContactKind_CONTACT_KIND_STORE
		if c.Kind == orders.ContactRider {
			kind = pb.ContactKind_CONTACT_KIND_RIDER
		}
		resp.Contacts = append(resp.Contacts, &pb.Contact{Kind: kind, Id: c.ID, FirstAt: ts(c.First), LastAt: ts(c.Last), OrderIds: c.OrderIDs})
	}
	return resp, nil
}

// droppedIn returns the orders delivered to a compound's cell, a cell of
// geo.PositionRes, whose life overlaps the window.
func (s *Server) droppedIn(ctx context.Context, cell string, from, to time.Time) ([]orders.Order, error) {
	c, err := geo.ParseCell(cell)
	if err != nil {
		return nil, orders.Invalid("cell", "%q is not an H3 cell in hexadecimal", cell)
	}
	if c.Resolution() != geo.PositionRes {
		return nil, orders.Invalid("cell", "%s is of resolution %d, not %d (a compound's gate)", cell, c.Resolution(), geo.PositionRes)
	}
	df, ok := s.cfg.Repo.(orders.DropoffFinder)
	if !ok {
		return nil, orders.Unavailable("the record cannot find orders by their drop-off")
	}
	sw, ne := c.Bounds()
	box, err := df.OrdersDroppedIn(ctx, sw, ne, from, to)
	if err != nil {
		return nil, err
	}
	var out []orders.Order
	for _, o := range box {
		if geo.CellOf(o.Dropoff, geo.PositionRes) == c {
			out = append(out, o)
		}
	}
	return out, nil
}
