package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// Shift limits of StartShift.
const (
	defaultShift     = 8 * time.Hour
	maxShift         = 12 * time.Hour
	defaultCapacity  = 3
	maxCapacity      = 10
	maxBatchLocation = 100
)

// StartShift puts the rider on shift.
func (s *Server) StartShift(ctx context.Context, req *pb.StartShiftRequest) (*pb.StartShiftResponse, error) {
	if err := s.ownRider(ctx, req.GetRiderId()); err != nil {
		return nil, err
	}
	pos, err := s.point("position", req.GetPosition())
	if err != nil {
		return nil, err
	}
	capacity := int(req.GetCapacity())
	switch {
	case capacity < 0 || capacity > maxCapacity:
		return nil, orders.Invalid("capacity", "%d is not between 0 and %d", capacity, maxCapacity)
	case capacity == 0:
		capacity = defaultCapacity
	}
	now := s.cfg.Clock.Now()
	end := now.Add(defaultShift)
	if t := req.GetShiftEnd(); t != nil {
		if err := t.CheckValid(); err != nil {
			return nil, orders.Invalid("shift_end", "%v", err)
		}
		end = t.AsTime()
		if !end.After(now) || end.Sub(now) > maxShift {
			return nil, orders.Invalid("shift_end", "must be within %v from now", maxShift)
		}
	}
	r := orders.Rider{ID: req.GetRiderId(), Name: req.GetRiderId(), Capacity: capacity, ShiftStart: now, ShiftEnd: end, Point: pos}
	if err := s.cfg.Engine.StartShift(ctx, r); err != nil {
		return nil, err
	}
	return &pb.StartShiftResponse{RiderId: r.ID, ShiftEnd: ts(end)}, nil
}

// EndShift takes the rider off shift.
func (s *Server) EndShift(ctx context.Context, req *pb.EndShiftRequest) (*pb.EndShiftResponse, error) {
	if err := s.ownRider(ctx, req.GetRiderId()); err != nil {
		return nil, err
	}
	if err := s.cfg.Engine.EndShift(ctx, req.GetRiderId()); err != nil {
		return nil, err
	}
	return &pb.EndShiftResponse{}, nil
}

// location checks one reported position.
func (s *Server) location(field string, l *pb.Location, now time.Time) (geo.Point, time.Time, error) {
	if l == nil {
		return geo.Point{}, time.Time{}, orders.Invalid(field, "required")
	}
	p, err := s.point(field+".position", l.GetPosition())
	if err != nil {
		return geo.Point{}, time.Time{}, err
	}
	if l.GetAt() == nil {
		return geo.Point{}, time.Time{}, orders.Invalid(field+".at", "required")
	}
	if err := l.GetAt().CheckValid(); err != nil {
		return geo.Point{}, time.Time{}, orders.Invalid(field+".at", "%v", err)
	}
	at := l.GetAt().AsTime()
	if at.After(now.Add(time.Minute)) {
		return geo.Point{}, time.Time{}, orders.Invalid(field+".at", "%s is in the future", at.Format(time.RFC3339))
	}
	if a := l.GetAccuracyM(); a < 0 || a != a {
		return geo.Point{}, time.Time{}, orders.Invalid(field+".accuracy_m", "%v is not a radius", a)
	}
	return p, at, nil
}

// ReportLocations takes a stream of positions.
func (s *Server) ReportLocations(stream pb.RiderService_ReportLocationsServer) error {
	ctx := stream.Context()
	var n int32
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&pb.ReportLocationsResponse{Accepted: n})
		}
		if err != nil {
			return err
		}
		if err := s.ownRider(ctx, m.GetRiderId()); err != nil {
			return err
		}
		p, _, err := s.location("location", m.GetLocation(), s.cfg.Clock.Now())
		if err != nil {
			return err
		}
		if err := s.cfg.Engine.Ping(m.GetRiderId(), p); err != nil {
			return err
		}
		n++
	}
}

// BatchReportLocations takes a batch of positions; the latest is where the
// rider is.
func (s *Server) BatchReportLocations(ctx context.Context, req *pb.BatchReportLocationsRequest) (*pb.BatchReportLocationsResponse, error) {
	if err := s.ownRider(ctx, req.GetRiderId()); err != nil {
		return nil, err
	}
	ls := req.GetLocations()
	if len(ls) == 0 || len(ls) > maxBatchLocation {
		return nil, orders.Invalid("locations", "%d positions, want 1 to %d", len(ls), maxBatchLocation)
	}
	now := s.cfg.Clock.Now()
	var last geo.Point
	var lastAt time.Time
	for i, l := range ls {
		p, at, err := s.location(fmt.Sprintf("locations[%d]", i), l, now)
		if err != nil {
			return nil, err
		}
		if !at.Before(lastAt) {
			last, lastAt = p, at
		}
	}
	if err := s.cfg.Engine.Ping(req.GetRiderId(), last); err != nil {
		return nil, err
	}
	return &pb.BatchReportLocationsResponse{Accepted: int32(len(ls))}, nil
}

// tripPB converts a trip for its rider: the pickup numbers once accepted.
func (s *Server) tripPB(ctx context.Context, off dispatch.Offer, offered bool) (*pb.Trip, error) {
	t := &pb.Trip{
		TripId: off.TripID, StoreId: off.StoreID, StorePosition: latLng(off.Store), Offered: offered,
		PickupAt: ts(off.Pickup), PickedUp: off.PickedUp,
	}
	if offered {
		t.ExpiresAt = ts(off.ExpiresAt)
	}
	for _, id := range off.OrderIDs {
		o, err := s.cfg.Repo.GetOrder(ctx, id)
		if err != nil {
			return nil, err
		}
		stop := &pb.TripStop{OrderId: o.ID, Dropoff: latLng(o.Dropoff), Address: o.Address,
			PromiseAt: ts(o.PromiseAt), Delivery: deliveryPB(o.Delivery),
			DropoffMethod: handoverPB(o.ChosenDropoff()), Instructions: o.Instructions}
		if site := s.siteOf(ctx, o); site.ID != "" {
			stop.DropoffSiteId, stop.DropoffSiteName, stop.DropoffCompound = site.ID, site.Name, site.Compound
		}
		if !offered {
			stop.PickupCode = o.PickupCode
		}
		t.Stops = append(t.Stops, stop)
	}
	return t, nil
}

// ListTrips lists the rider's offer and trips.
func (s *Server) ListTrips(ctx context.Context, req *pb.ListTripsRequest) (*pb.ListTripsResponse, error) {
	if err := s.ownRider(ctx, req.GetRiderId()); err != nil {
		return nil, err
	}
	resp := &pb.ListTripsResponse{}
	if off, ok := s.cfg.Engine.Offered(req.GetRiderId()); ok {
		t, err := s.tripPB(ctx, off, true)
		if err != nil {
			return nil, err
		}
		resp.Trips = append(resp.Trips, t)
	}
	for _, off := range s.cfg.Engine.Trips(req.GetRiderId()) {
		t, err := s.tripPB(ctx, off, false)
		if err != nil {
			return nil, err
		}
		resp.Trips = append(resp.Trips, t)
	}
	return resp, nil
}

// WatchOffers sends the rider's open offer, then each new one.
func (s *Server) WatchOffers(req *pb.WatchOffersRequest, stream pb.RiderService_WatchOffersServer) error {
	ctx := stream.Context()
	rider := req.GetRiderId()
	if err := s.ownRider(ctx, rider); err != nil {
		return err
	}
	sub := s.cfg.Hub.subscribe()
	defer s.cfg.Hub.unsubscribe(sub)
	sent := ""
	send := func() error {
		off, ok := s.cfg.Engine.Offered(rider)
		if !ok || off.TripID == sent {
			return nil
		}
		t, err := s.tripPB(ctx, off, true)
		if err != nil {
			return err
		}
		sent = off.TripID
		return stream.Send(&pb.WatchOffersResponse{Trip: t})
	}
	if err := send(); err != nil {
		return err
	}
	return follow(ctx, sub, func(ev orders.Event) error {
		if ev.Type == orders.EventOffered && ev.RiderID == rider {
			return send()
		}
		return nil
	})
}

// trip returns a trip of the rider's plan.
func (s *Server) trip(rider, tripID string) (dispatch.Offer, bool) {
	i := slices.IndexFunc(s.cfg.Engine.Trips(rider), func(o dispatch.Offer) bool { return o.TripID == tripID })
	if i < 0 {
		return dispatch.Offer{}, false
	}
	return s.cfg.Engine.Trips(rider)[i], true
}

// AcceptOffer takes an offered trip.
func (s *Server) AcceptOffer(ctx context.Context, req *pb.AcceptOfferRequest) (*pb.AcceptOfferResponse, error) {
	if err := s.riderTrip(ctx, req.GetRiderId(), req.GetTripId()); err != nil {
		return nil, err
	}
	if err := s.cfg.Engine.Accept(ctx, req.GetRiderId(), req.GetTripId()); err != nil {
		return nil, err
	}
	off, ok := s.trip(req.GetRiderId(), req.GetTripId())
	if !ok {
		return nil, orders.NotFound("trip", req.GetTripId())
	}
	t, err := s.tripPB(ctx, off, false)
	if err != nil {
		return nil, err
	}
	return &pb.AcceptOfferResponse{Trip: t}, nil
}

// riderTrip checks the rider and the trip id of a request.
func (s *Server) riderTrip(ctx context.Context, rider, trip string) error {
	if err := s.ownRider(ctx, rider); err != nil {
		return err
	}
	if trip == "" {
		return orders.Invalid("trip_id", "required")
	}
	return nil
}

// riderOrder checks the rider and the order id of a request.
func (s *Server) riderOrder(ctx context.Context, rider, order string) error {
	if err := s.ownRider(ctx, rider); err != nil {
		return err
	}
	if order == "" {
		return orders.Invalid("order_id", "required")
	}
	return nil
}

// DeclineOffer turns an offered trip down.
func (s *Server) DeclineOffer(ctx context.Context, req *pb.DeclineOfferRequest) (*pb.DeclineOfferResponse, error) {
	if err := s.riderTrip(ctx, req.GetRiderId(), req.GetTripId()); err != nil {
		return nil, err
	}
	if err := s.cfg.Engine.Decline(ctx, req.GetRiderId(), req.GetTripId()); err != nil {
		return nil, err
	}
	return &pb.DeclineOfferResponse{}, nil
}

// ArriveAtPickup says the rider is at the store.
func (s *Server) ArriveAtPickup(ctx context.Context, req *pb.ArriveAtPickupRequest) (*pb.ArriveAtPickupResponse, error) {
	if err := s.riderTrip(ctx, req.GetRiderId(), req.GetTripId()); err != nil {
		return nil, err
	}
	if err := s.cfg.Engine.ArriveAtPickup(ctx, req.GetRiderId(), req.GetTripId()); err != nil {
		return nil, err
	}
	return &pb.ArriveAtPickupResponse{}, nil
}

// PickUp takes the goods of the trip against their pickup numbers.
func (s *Server) PickUp(ctx context.Context, req *pb.PickUpRequest) (*pb.PickUpResponse, error) {
	if err := s.riderTrip(ctx, req.GetRiderId(), req.GetTripId()); err != nil {
		return nil, err
	}
	off, ok := s.trip(req.GetRiderId(), req.GetTripId())
	if !ok {
		return nil, orders.NotFound("trip", req.GetTripId())
	}
	for _, id := range off.OrderIDs {
		o, err := s.cfg.Repo.GetOrder(ctx, id)
		if err != nil {
			return nil, err
		}
		err = s.checkPickupCodes(ctx, o, req.GetPickupCodes())
		if errors.Is(err, orders.ErrWrongPickupCode) {
			return nil, orders.Invalid("pickup_codes", "no code matches the pickup number of order %s", id)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := s.cfg.Engine.PickUp(ctx, req.GetRiderId(), req.GetTripId()); err != nil {
		return nil, err
	}
	return &pb.PickUpResponse{}, nil
}

// ArriveAtDropoff says the rider is at the order's address.
func (s *Server) ArriveAtDropoff(ctx context.Context, req *pb.ArriveAtDropoffRequest) (*pb.ArriveAtDropoffResponse, error) {
	if err := s.riderOrder(ctx, req.GetRiderId(), req.GetOrderId()); err != nil {
		return nil, err
	}
	if err := s.cfg.Engine.ArriveAtDropoff(ctx, req.GetRiderId(), req.GetOrderId()); err != nil {
		return nil, err
	}
	return &pb.ArriveAtDropoffResponse{}, nil
}

// DropOff hands the goods over, with the proof of a contactless drop-off.
func (s *Server) DropOff(ctx context.Context, req *pb.DropOffRequest) (*pb.DropOffResponse, error) {
	if err := s.riderOrder(ctx, req.GetRiderId(), req.GetOrderId()); err != nil {
		return nil, err
	}
	if req.GetHandover() == pb.Handover_HANDOVER_UNSPECIFIED {
		return nil, orders.Invalid("handover", "required: IN_PERSON, DOOR, LOCKER or DROP_POINT")
	}
	h, ok := pb.Handover_name[int32(req.GetHandover())]
	if !ok {
		return nil, orders.Invalid("handover", "%d is not a handover", req.GetHandover())
	}
	d := orders.Dropoff{Handover: orders.Handover(strings.TrimPrefix(h, "HANDOVER_")), Code: req.GetCode(), PhotoRef: req.GetPhotoRef()}
	if (d.Handover == orders.HandoverLocker || d.Handover == orders.HandoverDropPoint) && d.Code == "" {
		return nil, orders.Invalid("code", "required for a %s hand-over: the consumer opens it with the code", d.Handover)
	}
	err := s.cfg.Engine.DeliverWith(ctx, req.GetRiderId(), req.GetOrderId(), d)
	if errors.Is(err, orders.ErrWrongHandoverCode) {
		// Counted on the order, with its event, before the rider hears of it.
		now := s.cfg.Clock.Now()
		if uerr := s.recordOne(ctx, req.GetOrderId(), func(x *orders.Order) (orders.Event, error) {
			return x.RejectHandoverCode(now, req.GetRiderId())
		}); uerr != nil {
			return nil, uerr
		}
	}
	if err != nil {
		return nil, err
	}
	return &pb.DropOffResponse{}, nil
}
