package server_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/timestamppb"

	"zhengxiang/api/auth"
	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/api/server/servertest"
	"zhengxiang/orders"
)

// The callers of the access matrix: each role with the scope that owns the
// world's orders, store and rider, and each with someone else's.
var callers = []struct {
	name string
	p    auth.Principal // zero Role: no key
}{
	{"platform", auth.Principal{Role: auth.RolePlatform, Platform: "meituan"}},
	{"other platform", auth.Principal{Role: auth.RolePlatform, Platform: "eleme"}},
	{"merchant", auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeA.ID}}},
	{"other merchant", auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeB.ID}}},
	{"rider", auth.Principal{Role: auth.RoleRider, Rider: "R1"}},
	{"other rider", auth.Principal{Role: auth.RoleRider, Rider: "R2"}},
	{"city operator", auth.Principal{Role: auth.RoleOperator}},
	{"other platform's operator", auth.Principal{Role: auth.RoleOperator, Platform: "eleme"}},
	{"bureau", auth.Principal{Role: auth.RoleBureau}},
	{"no key", auth.Principal{}},
}

// world is the state every call of the matrix meets: o1 (meituan, store A)
// ready and with rider R1 at the store on trip t1; o2 (meituan, store A)
// offered to R1 on trip t2; o3 (meituan, store A) accepted by the store,
// not ready, with no rider. R2 is on shift across town.
type world struct {
	*servertest.Env
	o1, o2, o3 orders.Order
	t1, t2     string
	callerKeys map[string]string // caller name → key
}

func newWorld(t *testing.T) *world {
	t.Helper()
	e := newEnv(t, "memory")
	w := &world{Env: e, callerKeys: map[string]string{}}
	for _, c := range callers {
		if c.p.Role != "" {
			w.callerKeys[c.name] = e.Key(c.p)
		}
	}
	ctx := e.Ctx
	for _, r := range []struct {
		id string
		at orders.Store
	}{{"R1", storeA}, {"R2", storeC}} {
		if err := e.Engine.StartShift(ctx, orders.Rider{ID: r.id, Name: r.id, Capacity: 3, Point: r.at.Point,
			ShiftStart: e.Clock.Now(), ShiftEnd: e.Clock.Now().Add(8 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	w.o1 = w.submit("w-1")
	if err := e.Engine.MerchantAcceptReady(ctx, w.o1.ID); err != nil {
		t.Fatal(err)
	}
	w.t1 = w.offerToR1()
	if err := e.Engine.Accept(ctx, "R1", w.t1); err != nil {
		t.Fatal(err)
	}
	if err := e.Engine.ArriveAtPickup(ctx, "R1", w.t1); err != nil {
		t.Fatal(err)
	}
	w.o2 = w.submit("w-2")
	w.t2 = w.offerToR1()
	w.o3 = w.submit("w-3")
	if err := e.Engine.MerchantAccept(ctx, w.o3.ID); err != nil {
		t.Fatal(err)
	}
	w.o1, w.o2, w.o3 = w.reload(w.o1), w.reload(w.o2), w.reload(w.o3)
	// A locker at the gate of the world's compound.
	if err := e.Repo.(orders.DropSiteStore).CreateDropSite(ctx, orders.DropSite{ID: "L-world", Kind: orders.HandoverLocker,
		Name: "丰巢", Compound: "建设东路 8 号院", Gate: near, Slots: 4, CreatedAt: e.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	// A campaign of days to come, which the world's orders are not in.
	today := orders.DayOf(e.Clock.Now())
	if _, err := e.Campaigns.Create(ctx, orders.Campaign{ID: "c-world", Name: "郑州消费节", First: today.AddDays(10),
		Last: today.AddDays(17), Sections: orders.Sections()}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) submit(key string) orders.Order {
	w.T.Helper()
	now := w.Clock.Now()
	o, err := w.Engine.Submit(w.Ctx, orders.Order{Platform: "meituan", PlatformOrderID: key, StoreID: storeA.ID,
		Section: storeA.Section, Items: []orders.Item{{SKU: "rice-5kg", Name: "大米 5kg", Qty: 1, PriceCents: 4990}},
		SubtotalCents: 4990, DeliveryFeeCents: 500, Dropoff: near, Address: "建设东路 8 号",
		PlacedAt: now, ReadyAt: now.Add(8 * time.Minute), PromiseAt: now.Add(35 * time.Minute)})
	if err != nil {
		w.T.Fatal(err)
	}
	return o
}

func (w *world) reload(o orders.Order) orders.Order {
	w.T.Helper()
	n, err := w.Repo.GetOrder(w.Ctx, o.ID)
	if err != nil {
		w.T.Fatal(err)
	}
	return n
}

// offerToR1 runs rounds a minute apart until R1 has an offer.
func (w *world) offerToR1() string {
	w.T.Helper()
	for range 60 {
		_ = w.Engine.Ping("R1", storeA.Point)
		_ = w.Engine.Ping("R2", storeC.Point)
		w.Round()
		if off, ok := w.Engine.Offered("R1"); ok {
			return off.TripID
		}
		w.Clock.Set(w.Clock.Now().Add(time.Minute))
	}
	w.T.Fatal("R1 got no offer in an hour of rounds")
	return ""
}

// clients are the API's gRPC clients over one connection.
type clients struct {
	platform pb.PlatformServiceClient
	store    pb.StoreServiceClient
	rider    pb.RiderServiceClient
	consumer pb.ConsumerServiceClient
	operator pb.OperatorServiceClient
	bureau   pb.BureauServiceClient
	campaign pb.CampaignServiceClient
	sites    pb.DropSiteServiceClient
}

func (w *world) clients() clients {
	w.T.Helper()
	conn, err := grpc.NewClient(w.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		w.T.Fatal(err)
	}
	w.T.Cleanup(func() { conn.Close() })
	return clients{pb.NewPlatformServiceClient(conn), pb.NewStoreServiceClient(conn), pb.NewRiderServiceClient(conn),
		pb.NewConsumerServiceClient(conn), pb.NewOperatorServiceClient(conn), pb.NewBureauServiceClient(conn),
		pb.NewCampaignServiceClient(conn), pb.NewDropSiteServiceClient(conn)}
}

// recvOne receives the first message of a server stream.
func recvOne[T any](s interface{ Recv() (T, error) }, err error) error {
	if err != nil {
		return err
	}
	_, err = s.Recv()
	return err
}

// accessCase is one method called on the world.
type accessCase struct {
	method string // the full gRPC method
	call   func(ctx context.Context, c clients, w *world) (any, error)
	// allowed names the callers the method is open to for this request;
	// the others must be refused. stateOnly: the allowed callers may meet
	// a refusal of the order's state (409), never of access.
	allowed   []string
	stateOnly bool
	// sees, when set, checks what an allowed caller got.
	sees func(t *testing.T, caller string, w *world, resp any)
}

func all() []string {
	var out []string
	for _, c := range callers {
		out = append(out, c.name)
	}
	return out
}

var bread = []*pb.Item{{Sku: "bread", Name: "面包", Qty: 1, PriceCents: 800}}

func nearPB() *pb.LatLng { return &pb.LatLng{Lat: near.Lat, Lng: near.Lng} }

func accessCases() []accessCase {
	const (
		plat, plat2, merch, merch2 = "platform", "other platform", "merchant", "other merchant"
		rider, op, opE, bureau     = "rider", "city operator", "other platform's operator", "bureau"
	)
	seesOrder := func(owners ...string) func(*testing.T, string, *world, any) {
		return func(t *testing.T, caller string, w *world, resp any) {
			var ids []string
			switch r := resp.(type) {
			case *pb.ListOrdersResponse:
				for _, o := range r.GetOrders() {
					ids = append(ids, o.GetId())
				}
			case *pb.GetDispatchViewResponse:
				for _, o := range r.GetOrders() {
					ids = append(ids, o.GetId())
				}
			}
			if got, want := slices.Contains(ids, w.o1.ID), slices.Contains(owners, caller); got != want {
				t.Errorf("%s sees order o1: %v, want %v (ids %v)", caller, got, want, ids)
			}
		}
	}
	return []accessCase{
		{method: "PlatformService/QuoteDelivery", allowed: []string{plat, plat2, op, opE},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.platform.QuoteDelivery(ctx, &pb.QuoteDeliveryRequest{Dropoff: nearPB()})
			}},
		{method: "PlatformService/CreateOrder", allowed: []string{plat, plat2},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.platform.CreateOrder(ctx, &pb.CreateOrderRequest{ClientOrderId: "new-1", StoreId: storeA.ID, Items: bread, Dropoff: nearPB()})
			}},
		{method: "PlatformService/GetOrder", allowed: []string{plat, op},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.platform.GetOrder(ctx, &pb.GetOrderRequest{OrderId: w.o1.ID})
			}},
		{method: "PlatformService/ListOrders", allowed: []string{plat, plat2, op, opE}, sees: seesOrder(plat, op),
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.platform.ListOrders(ctx, &pb.ListOrdersRequest{})
			}},
		{method: "PlatformService/ListOrderEvents", allowed: []string{plat, op},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.platform.ListOrderEvents(ctx, &pb.ListOrderEventsRequest{OrderId: w.o1.ID})
			}},
		{method: "PlatformService/CancelOrder", allowed: []string{plat, op},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.platform.CancelOrder(ctx, &pb.CancelOrderRequest{OrderId: w.o1.ID, Reason: "consumer changed their mind"})
			}},
		{method: "StoreService/ListTickets", allowed: []string{merch},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.store.ListTickets(ctx, &pb.ListTicketsRequest{StoreId: storeA.ID})
			}},
		{method: "StoreService/WatchTickets", allowed: []string{merch},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return nil, recvOne(c.store.WatchTickets(ctx, &pb.WatchTicketsRequest{StoreId: storeA.ID}))
			}},
		{method: "StoreService/AcceptOrder", allowed: []string{merch},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.store.AcceptOrder(ctx, &pb.AcceptOrderRequest{OrderId: w.o2.ID})
			}},
		{method: "StoreService/RejectOrder", allowed: []string{merch},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.store.RejectOrder(ctx, &pb.RejectOrderRequest{OrderId: w.o2.ID, Reason: "sold out"})
			}},
		{method: "StoreService/MarkOrderReady", allowed: []string{merch},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.store.MarkOrderReady(ctx, &pb.MarkOrderReadyRequest{OrderId: w.o3.ID})
			}},
		{method: "StoreService/HandOverOrder", allowed: []string{merch},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.store.HandOverOrder(ctx, &pb.HandOverOrderRequest{OrderId: w.o1.ID, PickupCode: w.o1.PickupCode})
			}},
		{method: "StoreService/GetReceipt", allowed: []string{merch, plat, op},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.store.GetReceipt(ctx, &pb.GetReceiptRequest{OrderId: w.o1.ID})
			}},
		{method: "RiderService/StartShift", allowed: []string{rider},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.rider.StartShift(ctx, &pb.StartShiftRequest{RiderId: "R1", Position: nearPB()})
			}},
		{method: "RiderService/EndShift", allowed: []string{rider},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.rider.EndShift(ctx, &pb.EndShiftRequest{RiderId: "R1"})
			}},
		{method: "RiderService/ReportLocations", allowed: []string{rider},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				s, err := c.rider.ReportLocations(ctx)
				if err != nil {
					return nil, err
				}
				if err := s.Send(&pb.ReportLocationsRequest{RiderId: "R1", Location: &pb.Location{Position: nearPB(), At: timestamppb.New(w.Clock.Now())}}); err != nil {
					_, err = s.CloseAndRecv()
					return nil, err
				}
				return s.CloseAndRecv()
			}},
		{method: "RiderService/BatchReportLocations", allowed: []string{rider},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.rider.BatchReportLocations(ctx, &pb.BatchReportLocationsRequest{RiderId: "R1",
					Locations: []*pb.Location{{Position: nearPB(), At: timestamppb.New(w.Clock.Now())}}})
			}},
		{method: "RiderService/ListTrips", allowed: []string{rider},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.rider.ListTrips(ctx, &pb.ListTripsRequest{RiderId: "R1"})
			}},
		{method: "RiderService/WatchOffers", allowed: []string{rider},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return nil, recvOne(c.rider.WatchOffers(ctx, &pb.WatchOffersRequest{RiderId: "R1"}))
			}},
		{method: "RiderService/AcceptOffer", allowed: []string{rider},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.rider.AcceptOffer(ctx, &pb.AcceptOfferRequest{RiderId: "R1", TripId: w.t2})
			}},
		{method: "RiderService/DeclineOffer", allowed: []string{rider},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.rider.DeclineOffer(ctx, &pb.DeclineOfferRequest{RiderId: "R1", TripId: w.t2})
			}},
		{method: "RiderService/ArriveAtPickup", allowed: []string{rider}, stateOnly: true, // R1 is there already
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.rider.ArriveAtPickup(ctx, &pb.ArriveAtPickupRequest{RiderId: "R1", TripId: w.t1})
			}},
		{method: "RiderService/PickUp", allowed: []string{rider},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.rider.PickUp(ctx, &pb.PickUpRequest{RiderId: "R1", TripId: w.t1, PickupCodes: []string{w.o1.PickupCode}})
			}},
		{method: "RiderService/ArriveAtDropoff", allowed: []string{rider}, stateOnly: true, // not picked up yet
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.rider.ArriveAtDropoff(ctx, &pb.ArriveAtDropoffRequest{RiderId: "R1", OrderId: w.o1.ID})
			}},
		{method: "RiderService/DropOff", allowed: []string{rider}, stateOnly: true, // not picked up yet
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.rider.DropOff(ctx, &pb.DropOffRequest{RiderId: "R1", OrderId: w.o1.ID, Handover: pb.Handover_HANDOVER_DOOR})
			}},
		{method: "RiderService/RecordHealthCard", allowed: []string{rider},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.rider.RecordHealthCard(ctx, &pb.RecordHealthCardRequest{RiderId: "R1", TemperatureC: 36.5, HealthCode: pb.HealthCode_HEALTH_CODE_GREEN})
			}},
		{method: "ConsumerService/TrackOrder", allowed: all(),
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.consumer.TrackOrder(ctx, &pb.TrackOrderRequest{Token: w.o1.TrackingToken()})
			}},
		{method: "ConsumerService/TrackOrder", allowed: nil, // a token with another order's secret
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.consumer.TrackOrder(ctx, &pb.TrackOrderRequest{Token: w.o1.ID + "." + w.o2.TrackingSecret})
			}},
		{method: "ConsumerService/ConfirmReceipt", allowed: all(), stateOnly: true, // not delivered yet
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.consumer.ConfirmReceipt(ctx, &pb.ConfirmReceiptRequest{Token: w.o1.TrackingToken()})
			}},
		{method: "ConsumerService/ConfirmReceipt", allowed: nil, // a token with another order's secret
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.consumer.ConfirmReceipt(ctx, &pb.ConfirmReceiptRequest{Token: w.o1.ID + "." + w.o2.TrackingSecret})
			}},
		{method: "OperatorService/GetDispatchView", allowed: []string{op, opE}, sees: seesOrder(op),
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.operator.GetDispatchView(ctx, &pb.GetDispatchViewRequest{})
			}},
		{method: "OperatorService/ListStores", allowed: []string{op, opE, plat, plat2},
			sees: func(t *testing.T, caller string, w *world, resp any) {
				r := resp.(*pb.ListStoresResponse)
				if len(r.GetStores()) != 3 || len(r.GetStores()[0].GetCircleCells()) == 0 {
					t.Errorf("%s: stores %v, want 3 with circles", caller, r)
				}
			},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.operator.ListStores(ctx, &pb.ListStoresRequest{IncludeCircles: true})
			}},
		{method: "OperatorService/ReassignOrder", allowed: []string{op},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.operator.ReassignOrder(ctx, &pb.ReassignOrderRequest{OrderId: w.o1.ID, Reason: "rider unwell"})
			}},
		{method: "OperatorService/SuspendStore", allowed: []string{op},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.operator.SuspendStore(ctx, &pb.SuspendStoreRequest{StoreId: storeA.ID, Reason: "counterfeit goods"})
			}},
		{method: "OperatorService/RestoreStore", allowed: []string{op}, stateOnly: true, // store A is not suspended
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.operator.RestoreStore(ctx, &pb.RestoreStoreRequest{StoreId: storeA.ID, Reason: "cleared"})
			}},
		{method: "OperatorService/SuspendStore", allowed: []string{op}, // one product
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.operator.SuspendStore(ctx, &pb.SuspendStoreRequest{StoreId: storeA.ID, Sku: "rice-5kg", Reason: "counterfeit rice"})
			}},
		{method: "OperatorService/ListSuspensions", allowed: []string{op, opE},
			sees: func(t *testing.T, caller string, w *world, resp any) {
				r := resp.(*pb.ListSuspensionsResponse)
				if len(r.GetRecords()) != 0 || len(r.GetInForce()) != 0 {
					t.Errorf("%s: suspensions %v, want none", caller, r)
				}
			},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.operator.ListSuspensions(ctx, &pb.ListSuspensionsRequest{})
			}},
		{method: "OperatorService/SetFreeDeliveryQuota", allowed: []string{op},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.operator.SetFreeDeliveryQuota(ctx, &pb.SetFreeDeliveryQuotaRequest{Platform: "meituan", Quota: proto.Int32(3)})
			}},
		{method: "OperatorService/SetFreeDeliveryQuota", allowed: []string{op, opE}, // the operator's own platform
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.operator.SetFreeDeliveryQuota(ctx, &pb.SetFreeDeliveryQuotaRequest{Platform: "eleme", Quota: proto.Int32(3)})
			}},
		{method: "OperatorService/GetFreeDeliveryQuota", allowed: []string{plat, op, bureau},
			sees: func(t *testing.T, caller string, w *world, resp any) {
				if q := resp.(*pb.GetFreeDeliveryQuotaResponse).GetQuota(); q.GetPlatform() != "meituan" || q.GetLeft() != q.GetQuota()-q.GetUsed() {
					t.Errorf("%s: quota %v", caller, q)
				}
			},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.operator.GetFreeDeliveryQuota(ctx, &pb.GetFreeDeliveryQuotaRequest{Platform: "meituan"})
			}},
		{method: "DropSiteService/RegisterDropSite", allowed: []string{op, opE},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.sites.RegisterDropSite(ctx, &pb.RegisterDropSiteRequest{SiteId: "D-new", Kind: pb.Handover_HANDOVER_DROP_POINT,
					Name: "北门快递架", Compound: "建设东路 8 号院", Gate: nearPB()})
			}},
		{method: "DropSiteService/ListDropSites", allowed: []string{plat, plat2, op, opE},
			sees: func(t *testing.T, caller string, w *world, resp any) {
				if s := resp.(*pb.ListDropSitesResponse).GetSites(); len(s) != 1 || s[0].GetSiteId() != "L-world" || s[0].GetFreeSlots() != 4 {
					t.Errorf("%s: sites %v, want L-world with 4 free slots", caller, s)
				}
			},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.sites.ListDropSites(ctx, &pb.ListDropSitesRequest{Near: nearPB()})
			}},
		{method: "DropSiteService/CloseDropSite", allowed: []string{op, opE},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.sites.CloseDropSite(ctx, &pb.CloseDropSiteRequest{SiteId: "L-world"})
			}},
		{method: "BureauService/GetFestivalFigures", allowed: []string{bureau},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.bureau.GetFestivalFigures(ctx, &pb.GetFestivalFiguresRequest{GroupBy: pb.Grouping_GROUPING_DISTRICT})
			}},
		{method: "BureauService/TraceContacts", allowed: []string{bureau},
			sees: func(t *testing.T, caller string, w *world, resp any) {
				r := resp.(*pb.TraceContactsResponse)
				if len(r.GetContacts()) != 2 || r.GetContacts()[0].GetId() != "R1" || r.GetContacts()[1].GetId() != storeA.ID {
					t.Errorf("%s: contacts of o1 %v, want R1 and store A", caller, r.GetContacts())
				}
			},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.bureau.TraceContacts(ctx, &pb.TraceContactsRequest{OrderId: w.o1.ID})
			}},
		{method: "CampaignService/CreateCampaign", allowed: []string{op},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				first := orders.DayOf(w.Clock.Now()).AddDays(30)
				return c.campaign.CreateCampaign(ctx, &pb.CreateCampaignRequest{Name: "郑享百味 周末", FirstDay: first.String(),
					LastDay: first.AddDays(1).String(), Sections: []pb.Section{pb.Section_SECTION_FLAVOURS}})
			}},
		{method: "CampaignService/ListCampaigns", allowed: []string{op, opE, bureau},
			sees: func(t *testing.T, caller string, w *world, resp any) {
				r := resp.(*pb.ListCampaignsResponse)
				if len(r.GetCampaigns()) != 1 || r.GetCampaigns()[0].GetId() != "c-world" || len(r.GetCampaigns()[0].GetSections()) != 3 {
					t.Errorf("%s: campaigns %v, want c-world over 3 sections", caller, r.GetCampaigns())
				}
			},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				return c.campaign.ListCampaigns(ctx, &pb.ListCampaignsRequest{})
			}},
		{method: "CampaignService/EndCampaign", allowed: []string{op},
			call: func(ctx context.Context, c clients, w *world) (any, error) {
				last := orders.DayOf(w.Clock.Now()).AddDays(12)
				return c.campaign.EndCampaign(ctx, &pb.EndCampaignRequest{CampaignId: "c-world", LastDay: last.String()})
			}},
	}
}

// snapshot is what a refused call must leave as it was.
func (w *world) snapshot() string {
	var b strings.Builder
	for _, o := range []orders.Order{w.o1, w.o2, w.o3} {
		n := w.reload(o)
		fmt.Fprintf(&b, "%s@%d:%s/%s ", n.ID, n.Seq, n.Status, n.Delivery)
	}
	off, _ := w.Engine.Offered("R1")
	r1, _ := w.Engine.Rider("R1")
	fmt.Fprintf(&b, "offer %s, R1 on shift %v at %v; orders %d", off.TripID, r1.OnShift, r1.Point, len(w.listAll()))
	cs, err := w.Campaigns.Store().Campaigns(w.Ctx)
	fmt.Fprintf(&b, "; campaigns %v %v", cs, err)
	sites, err := w.Repo.(orders.DropSiteStore).DropSites(w.Ctx)
	fmt.Fprintf(&b, "; drop sites %v %v", sites, err)
	return b.String()
}

func (w *world) listAll() []orders.Order {
	list, err := w.Repo.ListOrders(w.Ctx, orders.OrderFilter{})
	if err != nil {
		w.T.Fatal(err)
	}
	return list
}

// TestAccessMatrix calls every method of the API with every role, in its
// own scope and in someone else's, and checks each answer: the callers a
// method is open to get through (an order's state may still refuse the
// step); every other one is refused with Unauthenticated, PermissionDenied
// or NotFound, gets no data, and changes nothing.
func TestAccessMatrix(t *testing.T) {
	cases := accessCases()
	// Every method of every service has a case.
	covered := map[string]bool{}
	for _, c := range cases {
		covered["/zhengxiang.v1."+c.method] = true
	}
	protoregistry.GlobalFiles.RangeFilesByPackage("zhengxiang.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				m := "/" + string(sd.FullName()) + "/" + string(sd.Methods().Get(j).Name())
				if !covered[m] {
					t.Errorf("no access case for %s", m)
				}
			}
		}
		return true
	})

	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.method, "/", "."), func(t *testing.T) {
			// The refused callers share one world, which must not change.
			w := newWorld(t)
			cl := w.clients()
			before := w.snapshot()
			for _, caller := range callers {
				if slices.Contains(c.allowed, caller.name) {
					continue
				}
				resp, err := c.call(w.callerCtx(caller.name), cl, w)
				switch status.Code(err) {
				case codes.Unauthenticated, codes.PermissionDenied, codes.NotFound:
				default:
					t.Errorf("%s: %v, want a refusal (401, 403 or 404)", caller.name, err)
				}
				if resp != nil && !isNil(resp) {
					t.Errorf("%s: refused, yet got data: %v", caller.name, resp)
				}
				if caller.p.Role == "" && len(c.allowed) > 0 && status.Code(err) != codes.Unauthenticated {
					t.Errorf("no key: %v, want Unauthenticated", err)
				}
			}
			if after := w.snapshot(); after != before {
				t.Errorf("refused calls changed the world:\n before %s\n after  %s", before, after)
			}
			// Each allowed caller in a world of its own.
			for _, name := range c.allowed {
				w := newWorld(t)
				resp, err := c.call(w.callerCtx(name), w.clients(), w)
				code := status.Code(err)
				switch {
				case c.stateOnly && (code == codes.Aborted || code == codes.OK):
				case code != codes.OK:
					t.Errorf("%s: %v, want it allowed", name, err)
					continue
				}
				if c.sees != nil {
					c.sees(t, name, w, resp)
				}
			}
		})
	}
}

// callerCtx returns a context carrying the caller's key.
func (w *world) callerCtx(name string) context.Context {
	ctx, cancel := context.WithTimeout(w.Ctx, 10*time.Second)
	w.T.Cleanup(cancel)
	if k := w.callerKeys[name]; k != "" {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+k)
	}
	return ctx
}

// isNil tells whether a response interface holds a nil pointer.
func isNil(v any) bool {
	m, ok := v.(interface{ ProtoReflect() protoreflect.Message })
	return ok && !m.ProtoReflect().IsValid()
}
