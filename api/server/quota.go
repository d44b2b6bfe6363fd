package server

import (
	"context"
	"math"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"zhengxiang/api/auth"
	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/orders"
)

// The free-delivery quota of 郑享百味 (Flavours): each platform has a number of
// free deliveries a day (Config.Quota), days counted in China Standard Time.
// An order of a Flavours store whose platform leaves its fee out, or asks for
// 0, takes one when one is left; see CreateOrderRequest.delivery_fee_cents.

// freeDeliveriesLeft returns the free deliveries the platform has left on
// the day of now: 0 without a quota store or for a caller of no platform.
func (s *Server) freeDeliveriesLeft(ctx context.Context, platform string, now time.Time) (int32, error) {
	if s.cfg.Quota == nil || platform == "" {
		return 0, nil
	}
	left, err := s.cfg.Quota.FreeDeliveryLeft(ctx, platform, orders.DayOf(now))
	if err != nil {
		return 0, err
	}
	return int32(min(left, math.MaxInt32)), nil
}

// freeDelivery decides whether order o of store st, placed now with the fee
// asked (nil: left out), is delivered free, and if so takes the free
// delivery, once per key: see orders.FreeDeliveries.
func (s *Server) freeDelivery(ctx context.Context, o orders.Order, st orders.Store, asked *int64, now time.Time) (bool, error) {
	free, errs := orders.FreeDeliveries(ctx, s.cfg.Quota, []orders.FreeAsk{{Order: o, Store: st, Fee: asked, At: now}})
	return free[0], errs[0]
}

// SetFreeDeliveryQuota sets a platform's quota of free deliveries for a day.
func (s *Server) SetFreeDeliveryQuota(ctx context.Context, req *pb.SetFreeDeliveryQuotaRequest) (*pb.SetFreeDeliveryQuotaResponse, error) {
	day, err := s.quotaDay(ctx, req.GetPlatform(), req.GetDay())
	if err != nil {
		return nil, err
	}
	if req.Quota == nil {
		return nil, orders.Invalid("quota", "required")
	}
	if err := s.cfg.Quota.SetFreeDeliveryQuota(ctx, req.GetPlatform(), day, int(req.GetQuota())); err != nil {
		return nil, err
	}
	q, err := s.quotaUse(ctx, req.GetPlatform(), day)
	return &pb.SetFreeDeliveryQuotaResponse{Quota: q}, err
}

// GetFreeDeliveryQuota returns a platform's quota of free deliveries for a
// day and how many were granted.
func (s *Server) GetFreeDeliveryQuota(ctx context.Context, req *pb.GetFreeDeliveryQuotaRequest) (*pb.GetFreeDeliveryQuotaResponse, error) {
	day, err := s.quotaDay(ctx, req.GetPlatform(), req.GetDay())
	if err != nil {
		return nil, err
	}
	q, err := s.quotaUse(ctx, req.GetPlatform(), day)
	return &pb.GetFreeDeliveryQuotaResponse{Quota: q}, err
}

// quotaDay checks a call on a platform's quota of a day (empty: today): the
// bureau and the city's operators may name any platform, others their own.
func (s *Server) quotaDay(ctx context.Context, platform, day string) (orders.Day, error) {
	if platform == "" {
		return orders.Day{}, orders.Invalid("platform", "required")
	}
	if p := principalOf(ctx); p.Role != auth.RoleBureau && p.Platform != "" && p.Platform != platform {
		return orders.Day{}, status.Error(codes.PermissionDenied, "not your platform")
	}
	if s.cfg.Quota == nil {
		return orders.Day{}, orders.Unavailable("no free deliveries are kept")
	}
	if day == "" {
		return orders.DayOf(s.cfg.Clock.Now()), nil
	}
	d, err := orders.ParseDay(day)
	if err == nil && !d.Valid() {
		err = orders.Invalid("day", "%s is not a day", day)
	}
	return d, err
}

// quotaUse returns the platform's quota of the day.
func (s *Server) quotaUse(ctx context.Context, platform string, day orders.Day) (*pb.FreeDeliveryQuota, error) {
	u, err := s.cfg.Quota.FreeDeliveryUse(ctx, platform, day)
	if err != nil {
		return nil, err
	}
	return &pb.FreeDeliveryQuota{Platform: u.Platform, Day: u.Day.String(), Quota: int32(u.Quota), Used: int32(u.Used),
		Left: int32(max(u.Quota-u.Used, 0))}, nil
}
