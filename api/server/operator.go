package server

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"zhengxiang/api/auth"
	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/dispatch"
	"zhengxiang/orders"
)

// GetDispatchView returns the live state of dispatch in the caller's scope.
func (s *Server) GetDispatchView(ctx context.Context, req *pb.GetDispatchViewRequest) (*pb.GetDispatchViewResponse, error) {
	p := principalOf(ctx)
	limit := int(req.GetLimit())
	switch {
	case limit < 0 || limit > 5000:
		return nil, orders.Invalid("limit", "%d is not between 0 and 5000", limit)
	case limit == 0:
		limit = 500
	}
	st := s.cfg.Engine.Stats()
	resp := &pb.GetDispatchViewResponse{
		At: ts(s.cfg.Clock.Now()),
		Figures: &pb.DispatchFigures{
			Rounds: int64(st.Rounds), Offers: int64(st.Offers), Accepted: int64(st.Accepted), Declined: int64(st.Declined),
			Expired: int64(st.Expired), Reassigned: int64(st.Reassigned), Cancelled: int64(st.Cancelled),
			Pending: int64(st.Pending), Riders: int64(st.Riders), ActiveTrips: int64(st.ActiveTrips),
		},
	}
	list, err := s.cfg.Repo.ListOrders(ctx, orders.OrderFilter{Platform: p.Platform, Active: true, Limit: limit})
	if err != nil {
		return nil, err
	}
	for _, o := range list {
		resp.Orders = append(resp.Orders, s.orderPB(o, seesOf(p, o)))
	}
	for _, r := range s.cfg.Engine.Riders(limit) {
		resp.Riders = append(resp.Riders, &pb.RiderPosition{RiderId: r.ID, Position: latLng(r.Point),
			Load: int32(r.Load), Capacity: int32(r.Capacity), WorkingMinutes: int32(r.WorkingMinutes), Warning: r.WorkWarning, Stopped: r.WorkStopped})
	}
	if resp.FlaggedStoreIds, err = s.flaggedStores(ctx); err != nil {
		return nil, err
	}
	return resp, nil
}

// ReassignOrder takes a delivery back from its rider.
func (s *Server) ReassignOrder(ctx context.Context, req *pb.ReassignOrderRequest) (*pb.ReassignOrderResponse, error) {
	why, err := reason(req.GetReason())
	if err != nil {
		return nil, err
	}
	return orderStep(s, ctx, req.GetOrderId(), func(o orders.Order) error { return s.cfg.Engine.Reassign(ctx, o.ID, why) },
		func(o *pb.Order) *pb.ReassignOrderResponse { return &pb.ReassignOrderResponse{Order: o} })
}

// cityOperator refuses a platform's operator: suspending a store stops it
// on every platform, which is the city's call.
func cityOperator(ctx context.Context) error {
	if p := principalOf(ctx); p.Role != auth.RoleOperator || p.Platform != "" {
		return status.Error(codes.PermissionDenied, "only the city's operators suspend and restore stores")
	}
	return nil
}

// ListStores lists the stores, with their circles when asked.
func (s *Server) ListStores(ctx context.Context, req *pb.ListStoresRequest) (*pb.ListStoresResponse, error) {
	stores, err := s.cfg.Repo.ListStores(ctx)
	if err != nil {
		return nil, err
	}
	var reach *dispatch.Reach
	if req.GetIncludeCircles() {
		if reach, err = s.reach(ctx); err != nil {
			return nil, err
		}
	}
	standing, skus, err := s.storeStanding(ctx)
	if err != nil {
		return nil, err
	}
	resp := &pb.ListStoresResponse{}
	for _, st := range stores {
		info := &pb.StoreInfo{StoreId: st.ID, Name: st.Name, Section: sectionPB(st.Section), District: st.District,
			Position: latLng(st.Point), PrepMinutes: st.PrepMinutes, Suspended: st.Suspended,
			MissedAcks: int32(standing[st.ID].Missed), Flagged: standing[st.ID].Flagged, SuspendedSkus: skus[st.ID]}
		if reach != nil {
			if c, ok := reach.Circle(st.ID); ok {
				info.CircleCells = make([]string, len(c.Cells))
				for i, cell := range c.Cells {
					info.CircleCells[i] = cell.String()
				}
			}
		}
		resp.Stores = append(resp.Stores, info)
	}
	return resp, nil
}
