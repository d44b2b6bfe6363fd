package server

import (
	"context"
	"slices"
	"sort"

	"zhengxiang/api/auth"
	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/dispatch"
	"zhengxiang/orders"
)

// suspension checks an operator's suspension or restore and names its
// caller.
func suspension(ctx context.Context, storeID, sku, why string) (orders.Suspension, error) {
	if storeID == "" {
		return orders.Suspension{}, orders.Invalid("store_id", "required")
	}
	r, err := reason(why)
	if err != nil {
		return orders.Suspension{}, err
	}
	return orders.Suspension{StoreID: storeID, SKU: sku, Actor: actor(principalOf(ctx)), Reason: r}, nil
}

// SuspendStore stops a store's or a product's sales at once: new orders for
// it are refused, and its orders not yet picked up are cancelled by the
// engine, their riders released; orders on the road finish. The suspension
// and the orders it cancelled go to the audit.
func (s *Server) SuspendStore(ctx context.Context, req *pb.SuspendStoreRequest) (*pb.SuspendStoreResponse, error) {
	if err := cityOperator(ctx); err != nil {
		return nil, err
	}
	sp, err := suspension(ctx, req.GetStoreId(), req.GetSku(), req.GetReason())
	if err != nil {
		return nil, err
	}
	e, err := s.cfg.Engine.Suspend(ctx, sp)
	if err != nil {
		return nil, err
	}
	return &pb.SuspendStoreResponse{StoreId: e.StoreID, Sku: e.SKU, CancelledOrderIds: e.Cancelled,
		Record: recordPB(e, e.Cancelled)}, nil
}

// RestoreStore lets a suspended store or product sell again; the restore
// goes to the audit.
func (s *Server) RestoreStore(ctx context.Context, req *pb.RestoreStoreRequest) (*pb.RestoreStoreResponse, error) {
	if err := cityOperator(ctx); err != nil {
		return nil, err
	}
	sp, err := suspension(ctx, req.GetStoreId(), req.GetSku(), req.GetReason())
	if err != nil {
		return nil, err
	}
	e, err := s.cfg.Engine.Lift(ctx, sp)
	if err != nil {
		return nil, err
	}
	return &pb.RestoreStoreResponse{StoreId: e.StoreID, Sku: e.SKU, Record: recordPB(e, nil)}, nil
}

// ListSuspensions returns the suspensions in force and the audit. A
// platform's operator sees, of the orders a suspension cancelled, its
// platform's only.
func (s *Server) ListSuspensions(ctx context.Context, req *pb.ListSuspensionsRequest) (*pb.ListSuspensionsResponse, error) {
	ss, ok := s.cfg.Repo.(orders.SuspensionStore)
	if !ok {
		return nil, orders.Unavailable("the record keeps no suspensions")
	}
	f := orders.AuditFilter{StoreID: req.GetStoreId(), Limit: int(req.GetLimit())}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	in, err := ss.Suspensions(ctx)
	if err != nil {
		return nil, err
	}
	entries, err := ss.Audit(ctx, f)
	if err != nil {
		return nil, err
	}
	resp := &pb.ListSuspensionsResponse{}
	for _, x := range in {
		if f.StoreID == "" || x.StoreID == f.StoreID {
			resp.InForce = append(resp.InForce, &pb.Suspension{StoreId: x.StoreID, Sku: x.SKU, Actor: x.Actor,
				Reason: x.Reason, Since: ts(x.At)})
		}
	}
	p := principalOf(ctx)
	for _, e := range entries {
		seen := e.Cancelled
		if p.Platform != "" {
			seen = nil
			for _, id := range e.Cancelled {
				if o, err := s.cfg.Repo.GetOrder(ctx, id); err == nil && o.Platform == p.Platform {
					seen = append(seen, id)
				} else if err != nil && !orders.IsKind(err, orders.KindNotFound) {
					return nil, err
				}
			}
		}
		resp.Records = append(resp.Records, recordPB(e, seen))
	}
	return resp, nil
}

// recordPB is an audit entry as the API shows it, with the cancelled orders
// the caller may see.
func recordPB(e orders.AuditEntry, cancelled []string) *pb.SuspensionRecord {
	action := pb.SuspensionAction_SUSPENSION_ACTION_SUSPEND
	if e.Action == orders.AuditRestore {
		action = pb.SuspensionAction_SUSPENSION_ACTION_RESTORE
	}
	return &pb.SuspensionRecord{Id: e.ID, Action: action, StoreId: e.StoreID, Sku: e.SKU, Actor: e.Actor,
		Reason: e.Reason, At: ts(e.At), CancelledOrderIds: slices.Clone(cancelled)}
}

// storeStanding returns what ListStores tells of each store beyond its
// record: to an operator, its missed acknowledgements; to every caller, its
// suspended products.
func (s *Server) storeStanding(ctx context.Context) (map[string]dispatch.AckStanding, map[string][]string, error) {
	var standing map[string]dispatch.AckStanding
	if principalOf(ctx).Role == auth.RoleOperator {
		var err error
		if standing, err = s.cfg.Engine.AckStandings(ctx); err != nil {
			return nil, nil, err
		}
	}
	skus := map[string][]string{}
	if ss, ok := s.cfg.Repo.(orders.SuspensionStore); ok {
		in, err := ss.Suspensions(ctx)
		if err != nil {
			return nil, nil, err
		}
		for _, x := range in {
			if x.SKU != "" {
				skus[x.StoreID] = append(skus[x.StoreID], x.SKU)
			}
		}
	}
	return standing, skus, nil
}

// flaggedStores returns the stores flagged for missing tickets, by id.
func (s *Server) flaggedStores(ctx context.Context) ([]string, error) {
	standing, err := s.cfg.Engine.AckStandings(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for id, st := range standing {
		if st.Flagged {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out, nil
}
