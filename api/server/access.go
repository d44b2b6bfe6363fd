package server

import (
	"context"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"zhengxiang/api/auth"
	"zhengxiang/orders"
)

// public marks the methods open to anyone: the consumer's, whose tracking
// token is the right to one order.
const public auth.Role = "public"

// access lists, for every method of the API, the roles that may call it.
// A method missing here is refused to everyone: the access-matrix test
// checks that every method of every service is listed. What a role may do
// to which order, store or rider (its scope) is checked by the method.
var access = map[string][]auth.Role{
	"/zhengxiang.v1.PlatformService/QuoteDelivery":   {auth.RolePlatform, auth.RoleOperator},
	"/zhengxiang.v1.PlatformService/CreateOrder":     {auth.RolePlatform},
	"/zhengxiang.v1.PlatformService/GetOrder":        {auth.RolePlatform, auth.RoleOperator},
	"/zhengxiang.v1.PlatformService/ListOrders":      {auth.RolePlatform, auth.RoleOperator},
	"/zhengxiang.v1.PlatformService/ListOrderEvents": {auth.RolePlatform, auth.RoleOperator},
	"/zhengxiang.v1.PlatformService/CancelOrder":     {auth.RolePlatform, auth.RoleOperator},

	"/zhengxiang.v1.StoreService/ListTickets":    {auth.RoleMerchant},
	"/zhengxiang.v1.StoreService/WatchTickets":   {auth.RoleMerchant},
	"/zhengxiang.v1.StoreService/AcceptOrder":    {auth.RoleMerchant},
	"/zhengxiang.v1.StoreService/RejectOrder":    {auth.RoleMerchant},
	"/zhengxiang.v1.StoreService/MarkOrderReady": {auth.RoleMerchant},
	"/zhengxiang.v1.StoreService/HandOverOrder":  {auth.RoleMerchant},
	"/zhengxiang.v1.StoreService/GetReceipt":     {auth.RoleMerchant, auth.RolePlatform, auth.RoleOperator},

	"/zhengxiang.v1.RiderService/StartShift":           {auth.RoleRider},
	"/zhengxiang.v1.RiderService/EndShift":             {auth.RoleRider},
	"/zhengxiang.v1.RiderService/ReportLocations":      {auth.RoleRider},
	"/zhengxiang.v1.RiderService/BatchReportLocations": {auth.RoleRider},
	"/zhengxiang.v1.RiderService/ListTrips":            {auth.RoleRider},
	"/zhengxiang.v1.RiderService/WatchOffers":          {auth.RoleRider},
	"/zhengxiang.v1.RiderService/AcceptOffer":          {auth.RoleRider},
	"/zhengxiang.v1.RiderService/DeclineOffer":         {auth.RoleRider},
	"/zhengxiang.v1.RiderService/ArriveAtPickup":       {auth.RoleRider},
	"/zhengxiang.v1.RiderService/PickUp":               {auth.RoleRider},
	"/zhengxiang.v1.RiderService/ArriveAtDropoff":      {auth.RoleRider},
	"/zhengxiang.v1.RiderService/DropOff":              {auth.RoleRider},
	"/zhengxiang.v1.RiderService/RecordHealthCard":     {auth.RoleRider},

	"/zhengxiang.v1.ConsumerService/TrackOrder":     {public},
	"/zhengxiang.v1.ConsumerService/ConfirmReceipt": {public},

	"/zhengxiang.v1.OperatorService/GetDispatchView":      {auth.RoleOperator},
	"/zhengxiang.v1.OperatorService/ListStores":           {auth.RoleOperator, auth.RolePlatform},
	"/zhengxiang.v1.OperatorService/ReassignOrder":        {auth.RoleOperator},
	"/zhengxiang.v1.OperatorService/SuspendStore":         {auth.RoleOperator},
	"/zhengxiang.v1.OperatorService/RestoreStore":         {auth.RoleOperator},
	"/zhengxiang.v1.OperatorService/ListSuspensions":      {auth.RoleOperator},
	"/zhengxiang.v1.OperatorService/SetFreeDeliveryQuota": {auth.RoleOperator},
	"/zhengxiang.v1.OperatorService/GetFreeDeliveryQuota": {auth.RoleOperator, auth.RolePlatform, auth.RoleBureau},

	"/zhengxiang.v1.DropSiteService/RegisterDropSite": {auth.RoleOperator},
	"/zhengxiang.v1.DropSiteService/ListDropSites":    {auth.RoleOperator, auth.RolePlatform},
	"/zhengxiang.v1.DropSiteService/CloseDropSite":    {auth.RoleOperator},

	"/zhengxiang.v1.BureauService/GetFestivalFigures": {auth.RoleBureau},
	"/zhengxiang.v1.BureauService/TraceContacts":      {auth.RoleBureau},

	"/zhengxiang.v1.CampaignService/CreateCampaign": {auth.RoleOperator},
	"/zhengxiang.v1.CampaignService/ListCampaigns":  {auth.RoleOperator, auth.RoleBureau},
	"/zhengxiang.v1.CampaignService/EndCampaign":    {auth.RoleOperator},
}

type principalKey struct{}

// principalOf returns the caller the interceptor let in.
func principalOf(ctx context.Context) auth.Principal {
	p, _ := ctx.Value(principalKey{}).(auth.Principal)
	return p
}

// admit checks a call: the method is known, the caller's key is valid and
// within its rate, and its role may call the method. It returns the
// context carrying the caller.
func (s *Server) admit(ctx context.Context, method string) (context.Context, error) {
	roles, ok := access[method]
	if !ok {
		return nil, status.Error(codes.PermissionDenied, "method not open to any caller")
	}
	if len(roles) == 1 && roles[0] == public {
		return ctx, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	var bearer string
	if v := md.Get("authorization"); len(v) > 0 {
		bearer = v[0]
	}
	if bearer == "" {
		return nil, status.Error(codes.Unauthenticated, `missing API key: send "Authorization: Bearer zx_…"`)
	}
	p, err := s.cfg.Keys.Authenticate(ctx, bearer)
	if err != nil {
		if orders.IsKind(err, orders.KindUnavailable) {
			return nil, status.Error(codes.Unavailable, "key store unavailable; retry later")
		}
		return nil, status.Error(codes.Unauthenticated, "invalid API key")
	}
	if ok, wait := s.cfg.Limiter.Allow(p.KeyID); !ok {
		secs := int(wait/time.Second) + 1
		_ = grpc.SetHeader(ctx, metadata.Pairs("retry-after", strconv.Itoa(secs)))
		return nil, status.Errorf(codes.ResourceExhausted, "rate limit of this key exceeded; retry in %d s", secs)
	}
	for _, r := range roles {
		if r == p.Role {
			return context.WithValue(ctx, principalKey{}, p), nil
		}
	}
	return nil, status.Errorf(codes.PermissionDenied, "a %s key may not call %s", p.Role, method[strings.LastIndexByte(method, '/')+1:])
}

// unary is the interceptor of every unary call: admission, then the
// method, its error mapped by statusOf, its latency measured.
func (s *Server) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	start := time.Now()
	ctx, err := s.admit(ctx, info.FullMethod)
	var resp any
	if err == nil {
		resp, err = h(ctx, req)
		err = statusOf(ctx, s.log, info.FullMethod, err)
	}
	s.metrics.observe(info.FullMethod, err, time.Since(start))
	return resp, err
}

// stream is the interceptor of every streaming call.
func (s *Server) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	start := time.Now()
	ctx, err := s.admit(ss.Context(), info.FullMethod)
	if err == nil {
		err = h(srv, &withContext{ServerStream: ss, ctx: ctx})
		err = statusOf(ctx, s.log, info.FullMethod, err)
	}
	s.metrics.observe(info.FullMethod, err, time.Since(start))
	return err
}

type withContext struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *withContext) Context() context.Context { return w.ctx }

// Scope checks. A caller that names something outside its scope gets
// PermissionDenied; an order outside it is NotFound, so that order ids
// cannot be probed.

func (s *Server) ownRider(ctx context.Context, riderID string) error {
	if riderID == "" {
		return orders.Invalid("rider_id", "required")
	}
	if p := principalOf(ctx); p.Role != auth.RoleRider || p.Rider != riderID {
		return status.Error(codes.PermissionDenied, "not your rider")
	}
	return nil
}

func (s *Server) ownStore(ctx context.Context, storeID string) error {
	if storeID == "" {
		return orders.Invalid("store_id", "required")
	}
	if p := principalOf(ctx); p.Role != auth.RoleMerchant || !p.HasStore(storeID) {
		return status.Error(codes.PermissionDenied, "not your store")
	}
	return nil
}

// mayRead reports whether the caller may see order o.
func mayRead(p auth.Principal, o orders.Order) bool {
	switch p.Role {
	case auth.RolePlatform:
		return o.Platform == p.Platform
	case auth.RoleOperator:
		return p.Platform == "" || o.Platform == p.Platform
	case auth.RoleMerchant:
		return p.HasStore(o.StoreID)
	case auth.RoleRider:
		return o.RiderID == p.Rider
	}
	return false
}

// order loads an order the caller may see; any other is NotFound.
func (s *Server) order(ctx context.Context, id string) (orders.Order, error) {
	if id == "" {
		return orders.Order{}, orders.Invalid("order_id", "required")
	}
	o, err := s.cfg.Repo.GetOrder(ctx, id)
	if err != nil {
		return orders.Order{}, err
	}
	if !mayRead(principalOf(ctx), o) {
		return orders.Order{}, orders.NotFound("order", id)
	}
	return o, nil
}
