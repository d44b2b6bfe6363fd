package server

import (
	"context"
	"slices"

	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/orders"
)

// ListTickets lists a store's open orders.
func (s *Server) ListTickets(ctx context.Context, req *pb.ListTicketsRequest) (*pb.ListTicketsResponse, error) {
	if err := s.ownStore(ctx, req.GetStoreId()); err != nil {
		return nil, err
	}
	list, err := s.cfg.Repo.ListOrders(ctx, orders.OrderFilter{StoreID: req.GetStoreId(), Active: true})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListTicketsResponse{}
	p := principalOf(ctx)
	for _, o := range list {
		resp.Orders = append(resp.Orders, s.orderPB(o, seesOf(p, o)))
	}
	return resp, nil
}

// WatchTickets sends a store's open orders, then each order of the store
// again whenever it changes.
func (s *Server) WatchTickets(req *pb.WatchTicketsRequest, stream pb.StoreService_WatchTicketsServer) error {
	ctx := stream.Context()
	if err := s.ownStore(ctx, req.GetStoreId()); err != nil {
		return err
	}
	sub := s.cfg.Hub.subscribe()
	defer s.cfg.Hub.unsubscribe(sub)
	p := principalOf(ctx)
	send := func(o orders.Order) error {
		return stream.Send(&pb.WatchTicketsResponse{Order: s.orderPB(o, seesOf(p, o))})
	}
	mine := map[string]bool{} // the store's orders seen
	open, err := s.cfg.Repo.ListOrders(ctx, orders.OrderFilter{StoreID: req.GetStoreId(), Active: true})
	if err != nil {
		return err
	}
	for _, o := range open {
		mine[o.ID] = true
		if err := send(o); err != nil {
			return err
		}
	}
	return follow(ctx, sub, func(ev orders.Event) error {
		if !mine[ev.OrderID] && ev.Type != orders.EventOrderCreated {
			return nil
		}
		o, err := s.cfg.Repo.GetOrder(ctx, ev.OrderID)
		if err != nil || o.StoreID != req.GetStoreId() {
			return nil
		}
		mine[o.ID] = true
		if !o.Active() {
			delete(mine, o.ID)
		}
		return send(o)
	})
}

// AcceptOrder takes an order for the store.
func (s *Server) AcceptOrder(ctx context.Context, req *pb.AcceptOrderRequest) (*pb.AcceptOrderResponse, error) {
	return orderStep(s, ctx, req.GetOrderId(), func(o orders.Order) error { return s.cfg.Engine.MerchantAccept(ctx, o.ID) },
		func(o *pb.Order) *pb.AcceptOrderResponse { return &pb.AcceptOrderResponse{Order: o} })
}

// RejectOrder refuses an order.
func (s *Server) RejectOrder(ctx context.Context, req *pb.RejectOrderRequest) (*pb.RejectOrderResponse, error) {
	why, err := reason(req.GetReason())
	if err != nil {
		return nil, err
	}
	return orderStep(s, ctx, req.GetOrderId(), func(o orders.Order) error { return s.cfg.Engine.MerchantReject(ctx, o.ID, why) },
		func(o *pb.Order) *pb.RejectOrderResponse { return &pb.RejectOrderResponse{Order: o} })
}

// MarkOrderReady says the goods are packed.
func (s *Server) MarkOrderReady(ctx context.Context, req *pb.MarkOrderReadyRequest) (*pb.MarkOrderReadyResponse, error) {
	return orderStep(s, ctx, req.GetOrderId(), func(o orders.Order) error { return s.cfg.Engine.MarkReady(ctx, o.ID) },
		func(o *pb.Order) *pb.MarkOrderReadyResponse { return &pb.MarkOrderReadyResponse{Order: o} })
}

// HandOverOrder gives the goods of an order, and of the rest of its trip, to
// the rider who told its pickup code.
func (s *Server) HandOverOrder(ctx context.Context, req *pb.HandOverOrderRequest) (*pb.HandOverOrderResponse, error) {
	if req.GetPickupCode() == "" {
		return nil, orders.Invalid("pickup_code", "required")
	}
	return orderStep(s, ctx, req.GetOrderId(), func(o orders.Order) error {
		if err := s.checkPickupCodes(ctx, o, []string{req.GetPickupCode()}); err != nil {
			return err
		}
		return s.pickUp(ctx, o)
	}, func(o *pb.Order) *pb.HandOverOrderResponse { return &pb.HandOverOrderResponse{Order: o} })
}

// checkPickupCodes lets the goods of o leave the store when one of codes is its pickup code. A
// wrong code is counted on the order, with its PICKUP_CODE_REJECTED event, before the caller
// hears of it (orders.ErrWrongPickupCode); after orders.MaxWrongCodes of them it is
// orders.ErrPickupLocked, whatever the code, until an operator reassigns the order.
func (s *Server) checkPickupCodes(ctx context.Context, o orders.Order, codes []string) error {
	if o.PickupLocked() {
		return orders.ErrPickupLocked
	}
	if slices.ContainsFunc(codes, o.CheckPickupCode) {
		return nil
	}
	now, who := s.cfg.Clock.Now(), actor(principalOf(ctx))
	if err := s.recordOne(ctx, o.ID, func(x *orders.Order) (orders.Event, error) { return x.RejectPickupCode(now, who) }); err != nil {
		return err
	}
	return orders.ErrWrongPickupCode
}

// recordOne writes a change of order id that makes one event and that the engine need not see
// (a wrong code counted), in the record's own transaction.
func (s *Server) recordOne(ctx context.Context, id string, change func(*orders.Order) (orders.Event, error)) error {
	_, err := s.cfg.Repo.UpdateOrder(ctx, id, func(x *orders.Order) ([]orders.Event, error) {
		ev, err := change(x)
		if err != nil {
			return nil, err
		}
		return []orders.Event{ev}, nil
	})
	return err
}

// pickUp records that the rider holding o took the goods of its trip at the
// store, arriving first if its app has not said so.
func (s *Server) pickUp(ctx context.Context, o orders.Order) error {
	switch o.Delivery {
	case orders.DeliveryAssigned, orders.DeliveryArrivedAtPickup:
	default:
		return orders.Conflict("order %s: delivery is %s, not with a rider at the store", o.ID, o.Delivery)
	}
	trip, err := s.cfg.Engine.TripOf(o.ID)
	if err != nil {
		return err
	}
	if o.Delivery == orders.DeliveryAssigned {
		if err := retryBusy(ctx, func() error { return s.cfg.Engine.ArriveAtPickup(ctx, o.RiderID, trip) }); err != nil {
			return err
		}
	}
	return retryBusy(ctx, func() error { return s.cfg.Engine.PickUp(ctx, o.RiderID, trip) })
}

// GetReceipt returns the sales receipt of an order.
func (s *Server) GetReceipt(ctx context.Context, req *pb.GetReceiptRequest) (*pb.GetReceiptResponse, error) {
	o, err := s.order(ctx, req.GetOrderId())
	if err != nil {
		return nil, err
	}
	st, err := s.cfg.Repo.GetStore(ctx, o.StoreID)
	if err != nil {
		return nil, err
	}
	r := &pb.Receipt{
		Number: "ZX-" + o.StoreID + "-" + o.ID, OrderId: o.ID, StoreId: o.StoreID, StoreName: st.Name,
		Platform: o.Platform, Section: sectionPB(o.Section),
		SubtotalCents: o.SubtotalCents, DeliveryFeeCents: o.DeliveryFeeCents,
		TotalCents: o.SubtotalCents + o.DeliveryFeeCents, FreeDelivery: o.DeliveryFeeCents == 0,
		PlacedAt: ts(o.PlacedAt), DeliveredAt: ts(o.DeliveredAt),
		Status: orderStatusPB(o.Status), Delivery: deliveryPB(o.Delivery),
	}
	for _, it := range o.Items {
		r.Lines = append(r.Lines, &pb.ReceiptLine{Sku: it.SKU, Name: it.Name, Qty: int32(it.Qty),
			UnitPriceCents: it.PriceCents, AmountCents: int64(it.Qty) * it.PriceCents})
	}
	return &pb.GetReceiptResponse{Receipt: r}, nil
}
