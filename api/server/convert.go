package server

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"zhengxiang/api/auth"
	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/kafka"
)

// ts converts a time; the zero time is unset.
func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func latLng(p geo.Point) *pb.LatLng { return &pb.LatLng{Lat: p.Lat, Lng: p.Lng} }

func sectionPB(s orders.Section) pb.Section {
	v, _ := kafka.SectionToProto(s)
	return v
}

func orderStatusPB(s orders.OrderStatus) pb.OrderStatus {
	return pb.OrderStatus(pb.OrderStatus_value["ORDER_STATUS_"+string(s)])
}

func deliveryPB(s orders.DeliveryStatus) pb.DeliveryStatus {
	return pb.DeliveryStatus(pb.DeliveryStatus_value["DELIVERY_STATUS_"+string(s)])
}

func handoverPB(h orders.Handover) pb.Handover {
	return pb.Handover(pb.Handover_value["HANDOVER_"+string(h)])
}

func eventTypePB(t orders.EventType) pb.EventType {
	return pb.EventType(pb.EventType_value["EVENT_TYPE_"+string(t)])
}

func itemsPB(items []orders.Item) []*pb.Item {
	out := make([]*pb.Item, len(items))
	for i, it := range items {
		out[i] = &pb.Item{Sku: it.SKU, Name: it.Name, Qty: int32(it.Qty), PriceCents: it.PriceCents}
	}
	return out
}

// sees says what of an order's secrets a caller is shown.
type sees struct {
	tracking, pickupCode, proof bool
}

// seesOf returns what p may see of o's secrets: the tracking link is the
// platform's (to pass on to its consumer) and the operators'; the pickup
// number is on the store's ticket and in the app of the rider holding the
// delivery, and the platform and operators see it too; the proof of a
// drop-off (the code that opens a locker) is the consumer's, its
// platform's, the operators' and the rider's who left the goods, not the
// store's; the hand-over code goes with the tracking link (the consumer's
// and its platform's, the operators'), never to a rider or a store.
func seesOf(p auth.Principal, o orders.Order) sees {
	switch p.Role {
	case auth.RolePlatform, auth.RoleOperator:
		return sees{tracking: true, pickupCode: true, proof: true}
	case auth.RoleMerchant:
		return sees{pickupCode: true}
	case auth.RoleRider:
		mine := o.RiderID == p.Rider && o.Delivery != orders.DeliveryOffered
		return sees{pickupCode: mine, proof: mine}
	}
	return sees{}
}

// orderPB converts an order as the caller may see it.
func (s *Server) orderPB(o orders.Order, v sees) *pb.Order {
	out := &pb.Order{
		Id: o.ID, Platform: o.Platform, ClientOrderId: o.PlatformOrderID, StoreId: o.StoreID,
		Section: sectionPB(o.Section), Items: itemsPB(o.Items),
		SubtotalCents: o.SubtotalCents, DeliveryFeeCents: o.DeliveryFeeCents,
		Dropoff: latLng(o.Dropoff), Address: o.Address, District: o.District,
		PlacedAt: ts(o.PlacedAt), ReadyAt: ts(o.ReadyAt), PromiseAt: ts(o.PromiseAt),
		Status: orderStatusPB(o.Status), Delivery: deliveryPB(o.Delivery), RiderId: o.RiderID,
		OfferExpiresAt: ts(o.OfferExpiresAt), Handover: handoverPB(o.Handover),
		AcceptedAt: ts(o.AcceptedAt), ReadyMarkedAt: ts(o.ReadyMarkedAt), AssignedAt: ts(o.AssignedAt),
		PickedUpAt: ts(o.PickedUpAt), DeliveredAt: ts(o.DeliveredAt), EndedAt: ts(o.EndedAt),
		Reason: o.Reason, Actor: o.Actor, Seq: o.Seq, WrongCodes: int32(o.WrongCodes), WrongPickupCodes: int32(o.WrongPickupCodes),
		DropoffMethod: handoverPB(o.ChosenDropoff()), Instructions: o.Instructions, CampaignId: o.CampaignID,
		DropoffSiteId: o.DropoffSiteID,
	}
	if v.tracking {
		out.TrackingToken = o.TrackingToken()
		out.TrackingUrl = s.trackingURL(out.TrackingToken)
		out.HandoverCode = o.HandoverCode
	}
	if v.pickupCode {
		out.PickupCode = o.PickupCode
	}
	if v.proof {
		out.DropoffCode, out.PhotoRef = o.DropoffCode, o.PhotoRef
	}
	return out
}

// eventPB converts an event of o.
func eventPB(o orders.Order, ev orders.Event) (*pb.OrderEvent, error) {
	return kafka.EventToProto(ev, kafka.RefOf(o))
}
