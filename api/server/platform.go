package server

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"zhengxiang/api/auth"
	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/kafka"
)

// The delivery fee: a base within baseFeeM, then a charge per started km.
// The goods of a 郑享制造 factory outlet go across the city by same-city
// logistics, with the other orders of their collection wave: their fee
// follows the same rule up to sameCityFeeCents, the most a same-city
// delivery costs however far it goes.
const (
	baseFeeCents     = 500
	baseFeeM         = 3000
	perKmFeeCents    = 100
	sameCityFeeCents = 1000
)

// deliveryFee is the fee of a delivery of an order of section sec over
// distM metres as the crow flies.
func deliveryFee(sec orders.Section, distM float64) int64 {
	if distM <= baseFeeM {
		return baseFeeCents
	}
	fee := baseFeeCents + perKmFeeCents*int64(math.Ceil((distM-baseFeeM)/1000))
	if sec == orders.SectionMade {
		fee = min(fee, sameCityFeeCents)
	}
	return fee
}

// point checks a position given in a request.
func (s *Server) point(field string, ll *pb.LatLng) (geo.Point, error) {
	if ll == nil {
		return geo.Point{}, orders.Invalid(field, "required")
	}
	p := geo.Point{Lat: ll.GetLat(), Lng: ll.GetLng()}
	if err := p.Validate(); err != nil {
		return geo.Point{}, orders.Invalid(field, "%v", err)
	}
	if !s.cfg.Area.Contains(p) {
		return geo.Point{}, orders.Invalid(field, "%.6f,%.6f is outside the service area", p.Lat, p.Lng)
	}
	return p, nil
}

// QuoteDelivery lists the stores that deliver to the address, or to the
// gate of the drop site chosen (dispatch.Reach): the stores of the 1-hour
// circle whose circle covers it, and every factory outlet of 郑享制造.
func (s *Server) QuoteDelivery(ctx context.Context, req *pb.QuoteDeliveryRequest) (*pb.QuoteDeliveryResponse, error) {
	drop, err := s.point("dropoff", req.GetDropoff())
	if err != nil {
		return nil, err
	}
	site, full, err := s.quoteSite(ctx, req.GetDropoffMethod(), req.GetDropoffSiteId(), &drop)
	if err != nil {
		return nil, err
	}
	var section orders.Section
	if req.GetSection() != pb.Section_SECTION_UNSPECIFIED {
		var ok bool
		if section, ok = kafka.SectionFromProto(req.GetSection()); !ok {
			return nil, orders.Invalid("section", "%d is not a section", req.GetSection())
		}
	}
	max := int(req.GetMaxStores())
	switch {
	case max < 0 || max > 100:
		return nil, orders.Invalid("max_stores", "%d is not between 0 and 100", max)
	case max == 0:
		max = 20
	}
	reach, err := s.reach(ctx)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now()
	left, err := s.freeDeliveriesLeft(ctx, principalOf(ctx).Platform, now)
	if err != nil {
		return nil, err
	}
	cfg := s.cfg.Engine.Config()
	var out []*pb.StoreQuote
	for _, st := range reach.Stores(drop) {
		if !s.cfg.Engine.StoreOpen(st.ID) || (section != "" && st.Section != section) {
			continue
		}
		_, at := cfg.PromiseFor(st.Section, now, st.PrepMinutes, s.cfg.Travel, st.Point, drop)
		promise := at.Sub(now)
		dist := geo.DistanceM(st.Point, drop)
		out = append(out, &pb.StoreQuote{
			StoreId: st.ID, Name: st.Name, Section: sectionPB(st.Section), District: st.District,
			PromiseMinutes: math.Round(promise.Minutes()*10) / 10, PromiseAt: ts(at),
			DeliveryFeeCents: deliveryFee(st.Section, dist), DistanceM: math.Round(dist),
			FreeDeliveryAvailable: st.Section == orders.SectionFlavours && left > 0,
		})
	}
	slices.SortFunc(out, func(a, b *pb.StoreQuote) int {
		return cmp.Or(cmp.Compare(a.PromiseMinutes, b.PromiseMinutes), strings.Compare(a.StoreId, b.StoreId))
	})
	if len(out) > max {
		out = out[:max]
	}
	return &pb.QuoteDeliveryResponse{Stores: out, FreeDeliveriesLeft: left, DropoffSite: site, LockerFull: full}, nil
}

// clientOrderID returns the idempotency key of a creation: client_order_id
// or the Idempotency-Key header, which must agree when both are given.
func clientOrderID(ctx context.Context, req *pb.CreateOrderRequest) (string, error) {
	id := req.GetClientOrderId()
	md, _ := metadata.FromIncomingContext(ctx)
	if h := md.Get("idempotency-key"); len(h) > 0 && h[0] != "" {
		if id != "" && id != h[0] {
			return "", orders.Invalid("client_order_id", "%q differs from the Idempotency-Key header %q", id, h[0])
		}
		id = h[0]
	}
	if id == "" {
		return "", orders.Invalid("client_order_id", "required (or the Idempotency-Key header)")
	}
	if len(id) > 64 || strings.TrimLeft(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") != "" {
		return "", orders.Invalid("client_order_id", "letters, digits and -_.: only, at most 64")
	}
	return id, nil
}

// CreateOrder creates an order, idempotently by its client_order_id.
func (s *Server) CreateOrder(ctx context.Context, req *pb.CreateOrderRequest) (*pb.CreateOrderResponse, error) {
	p := principalOf(ctx)
	key, err := clientOrderID(ctx, req)
	if err != nil {
		return nil, err
	}
	if req.GetStoreId() == "" {
		return nil, orders.Invalid("store_id", "required")
	}
	st, err := s.cfg.Repo.GetStore(ctx, req.GetStoreId())
	if orders.IsKind(err, orders.KindNotFound) {
		return nil, orders.Invalid("store_id", "unknown store %q", req.GetStoreId())
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.point("dropoff", req.GetDropoff()); err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now()
	o, err := kafka.OrderFromProto(&pb.OrderPlaced{
		Platform: p.Platform, PlatformOrderId: key, StoreId: st.ID, Section: req.GetSection(),
		Items: req.GetItems(), SubtotalCents: req.SubtotalCents, DeliveryFeeCents: req.GetDeliveryFeeCents(),
		Dropoff: req.GetDropoff(), Address: req.GetAddress(), PlacedAt: timestamppb.New(now),
		DropoffMethod: req.GetDropoffMethod(), Instructions: req.GetInstructions(), DropoffSiteId: req.GetDropoffSiteId(),
	})
	if err != nil {
		return nil, renameField(err, "platform_order_id", "client_order_id")
	}
	// A locker or drop point order goes to the site's gate: the store's
	// reach, the fee and the promise count to it.
	if _, err := orders.AtDropSite(ctx, s.sites(), &o); err != nil {
		return nil, err
	}
	drop := o.Dropoff
	if r, err := s.reach(ctx); err != nil {
		return nil, err
	} else if err := r.Check(st, o); err != nil {
		return nil, err
	}
	if req.DeliveryFeeCents == nil {
		o.DeliveryFeeCents = deliveryFee(st.Section, geo.DistanceM(st.Point, drop))
	}
	if o, err = kafka.FillFromStore(o, st); err != nil {
		return nil, err
	}
	cfg := s.cfg.Engine.Config()
	o.ReadyAt, o.PromiseAt = cfg.PromiseFor(o.Section, now, st.PrepMinutes, s.cfg.Travel, st.Point, drop)
	if d, ok := s.cfg.Area.District(drop); ok {
		o.District = d.NameZH
	}
	o.ID = dispatch.NewOrderID()
	if err := s.cfg.Campaigns.Join(ctx, &o); err != nil {
		return nil, err
	}
	// Checked before a free delivery is taken, so that an invalid order takes none.
	if err := o.Validate(); err != nil {
		return nil, err
	}
	free, err := s.freeDelivery(ctx, o, st, req.DeliveryFeeCents, now)
	if err != nil {
		return nil, err
	}
	if free {
		o.DeliveryFeeCents = 0
	}
	stored, err := s.cfg.Engine.Submit(ctx, o)
	if err != nil {
		return nil, err
	}
	return &pb.CreateOrderResponse{Order: s.orderPB(stored, seesOf(p, stored)), Created: stored.ID == o.ID, FreeDelivery: free}, nil
}

// renameField gives an invalid-input error the API's name of its field.
func renameField(err error, from, to string) error {
	if e, ok := err.(*orders.Error); ok && e.Field == from {
		c := *e
		c.Field = to
		return &c
	}
	return err
}

// GetOrder returns one order of the caller.
func (s *Server) GetOrder(ctx context.Context, req *pb.GetOrderRequest) (*pb.GetOrderResponse, error) {
	o, err := s.order(ctx, req.GetOrderId())
	if err != nil {
		return nil, err
	}
	return &pb.GetOrderResponse{Order: s.orderPB(o, seesOf(principalOf(ctx), o))}, nil
}

// pageToken encodes the offset of the next page.
func pageToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o" + strconv.Itoa(offset)))
}

func pageOffset(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 2 || b[0] != 'o' {
		return 0, orders.Invalid("page_token", "not a token this service gave")
	}
	n, err := strconv.Atoi(string(b[1:]))
	if err != nil || n < 0 {
		return 0, orders.Invalid("page_token", "not a token this service gave")
	}
	return n, nil
}

// ListOrders lists the caller's orders, a page at a time.
func (s *Server) ListOrders(ctx context.Context, req *pb.ListOrdersRequest) (*pb.ListOrdersResponse, error) {
	p := principalOf(ctx)
	size := int(req.GetPageSize())
	switch {
	case size < 0 || size > 500:
		return nil, orders.Invalid("page_size", "%d is not between 0 and 500", size)
	case size == 0:
		size = 50
	}
	off, err := pageOffset(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	f := orders.OrderFilter{StoreID: req.GetStoreId(), Platform: p.Platform, Active: req.GetActiveOnly(), Limit: off + size + 1}
	list, err := s.cfg.Repo.ListOrders(ctx, f)
	if err != nil {
		return nil, err
	}
	resp := &pb.ListOrdersResponse{}
	if off < len(list) {
		list = list[off:]
	} else {
		list = nil
	}
	if len(list) > size {
		list = list[:size]
		resp.NextPageToken = pageToken(off + size)
	}
	for _, o := range list {
		resp.Orders = append(resp.Orders, s.orderPB(o, seesOf(p, o)))
	}
	return resp, nil
}

// ListOrderEvents returns an order's events.
func (s *Server) ListOrderEvents(ctx context.Context, req *pb.ListOrderEventsRequest) (*pb.ListOrderEventsResponse, error) {
	o, err := s.order(ctx, req.GetOrderId())
	if err != nil {
		return nil, err
	}
	if req.GetAfterSeq() < 0 {
		return nil, orders.Invalid("after_seq", "%d is negative", req.GetAfterSeq())
	}
	evs, err := s.cfg.Repo.Events(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	resp := &pb.ListOrderEventsResponse{}
	for _, ev := range evs {
		if ev.Seq <= req.GetAfterSeq() {
			continue
		}
		m, err := eventPB(o, ev)
		if err != nil {
			return nil, err
		}
		resp.Events = append(resp.Events, m)
	}
	return resp, nil
}

// actor names the caller in the order's record.
func actor(p auth.Principal) string {
	switch p.Role {
	case auth.RolePlatform:
		return "platform:" + p.Platform
	case auth.RoleMerchant:
		return "merchant"
	}
	return string(p.Role) + ":" + p.KeyID
}

// reason checks a required reason.
func reason(r string) (string, error) {
	r = strings.TrimSpace(r)
	switch {
	case r == "":
		return "", orders.Invalid("reason", "required")
	case len(r) > 500:
		return "", orders.Invalid("reason", "%d bytes, at most 500", len(r))
	}
	return r, nil
}

// CancelOrder cancels an order before pickup.
func (s *Server) CancelOrder(ctx context.Context, req *pb.CancelOrderRequest) (*pb.CancelOrderResponse, error) {
	why, err := reason(req.GetReason())
	if err != nil {
		return nil, err
	}
	return orderStep(s, ctx, req.GetOrderId(), func(o orders.Order) error {
		return s.cfg.Engine.Cancel(ctx, o.ID, actor(principalOf(ctx)), why)
	}, func(o *pb.Order) *pb.CancelOrderResponse { return &pb.CancelOrderResponse{Order: o} })
}

// orderStep takes one of the caller's orders through a step, tried again
// while a rider's step on its trip is being recorded, and returns the order
// after it as the caller sees it, wrapped in the method's response.
func orderStep[R any](s *Server, ctx context.Context, id string, step func(o orders.Order) error, wrap func(*pb.Order) R) (R, error) {
	var zero R
	o, err := s.order(ctx, id)
	if err != nil {
		return zero, err
	}
	if err := retryBusy(ctx, func() error { return step(o) }); err != nil {
		return zero, err
	}
	if o, err = s.cfg.Repo.GetOrder(ctx, id); err != nil {
		return zero, err
	}
	return wrap(s.orderPB(o, seesOf(principalOf(ctx), o))), nil
}

// retryBusy runs a step that the engine refuses while a rider's step on
// the same trip is being recorded, a few times over a short while.
func retryBusy(ctx context.Context, step func() error) error {
	var err error
	for i := range 20 {
		if err = step(); !errors.Is(err, dispatch.ErrBusy) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(5*(i+1)) * time.Millisecond):
		}
	}
	return err
}

// dropoffMethodOf converts the consumer's drop-off choice: unset is no choice ("", shown as DOOR).
func dropoffMethodOf(h pb.Handover) (orders.Handover, error) {
	if h == pb.Handover_HANDOVER_UNSPECIFIED {
		return "", nil
	}
	name, ok := pb.Handover_name[int32(h)]
	if !ok {
		return "", orders.Invalid("dropoff_method", "%d is not a handover", h)
	}
	return orders.Handover(strings.TrimPrefix(name, "HANDOVER_")), nil
}
