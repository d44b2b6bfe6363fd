package server

import (
	"context"
	"math"
	"time"

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

// freeDelivery decides whether the platform's order key of store st, placed
// now with the fee asked (nil: left out), is delivered free, and if so takes
// the free delivery, once per key: a resend gets the first answer. An order
// of a Flavours store that asks for 0 and gets none is refused
// (KindConflict). A fee above 0, an order of another section, or of a
// suspended store (which the engine refuses) takes nothing.
func (s *Server) freeDelivery(ctx context.Context, st orders.Store, platform, key string, asked *int64, now time.Time) (bool, error) {
	if st.Section != orders.SectionFlavours || st.Suspended || (asked != nil && *asked != 0) {
		return false, nil
	}
	granted := false
	if s.cfg.Quota != nil {
		var err error
		if granted, err = s.cfg.Quota.TakeFreeDelivery(ctx, platform, orders.DayOf(now), key); err != nil {
			return false, err
		}
	}
	if !granted && asked != nil {
		return false, orders.Conflict("no free delivery left today")
	}
	return granted, nil
}
