package server

import (
	"context"
	"math"

	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/orders"
)

// coarse rounds a position to three decimals, about 100 m: enough to watch
// the rider come, not enough to follow them.
func coarse(v float64) float64 { return math.Round(v*1000) / 1000 }

// tracked returns the order a tracking token opens; any token that does not
// open one is NotFound, whatever the reason.
func (s *Server) tracked(ctx context.Context, token string) (orders.Order, error) {
	if token == "" {
		return orders.Order{}, orders.Invalid("token", "required")
	}
	id, secret, err := orders.ParseTrackingToken(token)
	if err != nil {
		return orders.Order{}, err
	}
	o, err := s.cfg.Repo.GetOrder(ctx, id)
	if err != nil || !o.CheckTrackingSecret(secret) {
		if err == nil || orders.IsKind(err, orders.KindNotFound) {
			return orders.Order{}, &orders.Error{Kind: orders.KindNotFound, Msg: "no order has this tracking token"}
		}
		return orders.Order{}, err
	}
	return o, nil
}

// tracking builds what the consumer sees of o.
func (s *Server) tracking(ctx context.Context, o orders.Order) (*pb.Tracking, error) {
	evs, err := s.cfg.Repo.Events(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	t := &pb.Tracking{
		OrderId: o.ID, Items: itemsPB(o.Items), Status: orderStatusPB(o.Status), Delivery: deliveryPB(o.Delivery),
		PromiseAt: ts(o.PromiseAt), Handover: handoverPB(o.Handover), ReceiptConfirmed: !o.ReceiptConfirmedAt.IsZero(),
		DropoffCode: o.DropoffCode, PhotoRef: o.PhotoRef, HandoverCode: o.HandoverCode,
		DropoffMethod: handoverPB(o.ChosenDropoff()), Instructions: o.Instructions,
	}
	if st, err := s.cfg.Repo.GetStore(ctx, o.StoreID); err == nil {
		t.StoreName = st.Name
	}
	site := s.siteOf(ctx, o)
	t.DropoffSiteName, t.DropoffCompound = site.Name, site.Compound
	for _, ev := range evs {
		t.Timeline = append(t.Timeline, &pb.TimelineEntry{Type: eventTypePB(ev.Type), At: ts(ev.At),
			Status: orderStatusPB(ev.Status), Delivery: deliveryPB(ev.Delivery), Reason: ev.Reason})
	}
	if o.Active() {
		t.Eta = ts(o.PromiseAt)
		if at, ok := s.cfg.Engine.PlannedDropoff(o.ID); ok {
			t.Eta = ts(at)
		}
	}
	if t.RiderHealth, err = s.riderHealth(ctx, o); err != nil {
		return nil, err
	}
	if o.Delivery == orders.DeliveryPickedUp || o.Delivery == orders.DeliveryArrivedAtDropoff {
		if r, ok := s.cfg.Engine.Rider(o.RiderID); ok {
			t.RiderPosition = &pb.LatLng{Lat: coarse(r.Point.Lat), Lng: coarse(r.Point.Lng)}
		}
	}
	return t, nil
}

// TrackOrder returns the tracking of the token's order.
func (s *Server) TrackOrder(ctx context.Context, req *pb.TrackOrderRequest) (*pb.TrackOrderResponse, error) {
	o, err := s.tracked(ctx, req.GetToken())
	if err != nil {
		return nil, err
	}
	t, err := s.tracking(ctx, o)
	if err != nil {
		return nil, err
	}
	return &pb.TrackOrderResponse{Tracking: t}, nil
}

// ConfirmReceipt records that the consumer has the goods.
func (s *Server) ConfirmReceipt(ctx context.Context, req *pb.ConfirmReceiptRequest) (*pb.ConfirmReceiptResponse, error) {
	o, err := s.tracked(ctx, req.GetToken())
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now()
	o, err = s.cfg.Repo.UpdateOrder(ctx, o.ID, func(x *orders.Order) ([]orders.Event, error) {
		ev, err := x.ConfirmReceipt(now)
		if err != nil {
			return nil, err
		}
		return []orders.Event{ev}, nil
	})
	if err != nil {
		return nil, err
	}
	t, err := s.tracking(ctx, o)
	if err != nil {
		return nil, err
	}
	return &pb.ConfirmReceiptResponse{Tracking: t}, nil
}
