package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	"slices"
	"strings"

	"zhengxiang/api/auth"
	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// Drop sites: smart lockers and the drop points at the gates of closed
// residential compounds, where riders leave parcels contactless. An order
// to one is delivered to its gate (orders.AtDropSite); a locker slot is
// held from the rider's acceptance until the order fails or the consumer
// confirms the receipt (the engine and the record, see orders.FreesSlot).

// The radius of ListDropSites around near, in metres.
const (
	defaultSiteRadiusM = 2000
	maxSiteRadiusM     = 10000
)

// sites returns the record's drop sites; nil when it keeps none.
func (s *Server) sites() orders.DropSiteStore {
	ds, _ := s.cfg.Repo.(orders.DropSiteStore)
	return ds
}

// siteStore returns the record's drop sites, or KindUnavailable.
func (s *Server) siteStore() (orders.DropSiteStore, error) {
	if ds := s.sites(); ds != nil {
		return ds, nil
	}
	return nil, orders.Unavailable("the record keeps no drop sites")
}

// RegisterDropSite registers a locker or a compound's drop point.
func (s *Server) RegisterDropSite(ctx context.Context, req *pb.RegisterDropSiteRequest) (*pb.RegisterDropSiteResponse, error) {
	ds, err := s.siteStore()
	if err != nil {
		return nil, err
	}
	id := req.GetSiteId()
	if id == "" {
		id = newSiteID()
	} else if len(id) > 64 || strings.TrimLeft(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") != "" {
		return nil, orders.Invalid("site_id", "letters, digits and -_.: only, at most 64")
	}
	var kind orders.Handover
	switch req.GetKind() {
	case pb.Handover_HANDOVER_LOCKER:
		kind = orders.HandoverLocker
	case pb.Handover_HANDOVER_DROP_POINT:
		kind = orders.HandoverDropPoint
	default:
		return nil, orders.Invalid("kind", "%s is neither HANDOVER_LOCKER nor HANDOVER_DROP_POINT", req.GetKind())
	}
	gate, err := s.point("gate", req.GetGate())
	if err != nil {
		return nil, err
	}
	site := orders.DropSite{ID: id, Kind: kind, Name: strings.TrimSpace(req.GetName()), Compound: strings.TrimSpace(req.GetCompound()),
		Gate: gate, Slots: int(req.GetSlots()), CreatedAt: s.cfg.Clock.Now()}
	if err := site.Validate(); err != nil {
		for _, f := range []string{"name", "compound", "slots"} {
			err = renameField(err, "site."+f, f)
		}
		return nil, err
	}
	if err := ds.CreateDropSite(ctx, site); err != nil {
		return nil, err
	}
	return &pb.RegisterDropSiteResponse{Site: sitePB(site, -1)}, nil
}

// ListDropSites lists the sites, or the open ones near a point.
func (s *Server) ListDropSites(ctx context.Context, req *pb.ListDropSitesRequest) (*pb.ListDropSitesResponse, error) {
	ds, err := s.siteStore()
	if err != nil {
		return nil, err
	}
	r := req.GetRadiusM()
	switch {
	case r < 0 || r > maxSiteRadiusM || math.IsNaN(r):
		return nil, orders.Invalid("radius_m", "%v is not between 0 and %d", r, maxSiteRadiusM)
	case r == 0:
		r = defaultSiteRadiusM
	}
	if req.GetNear() == nil && principalOf(ctx).Role != auth.RoleOperator {
		return nil, orders.Invalid("near", "required: the sites near the consumer")
	}
	list, err := ds.DropSites(ctx)
	if err != nil {
		return nil, err
	}
	resp := &pb.ListDropSitesResponse{}
	if req.GetNear() == nil {
		for _, site := range list {
			resp.Sites = append(resp.Sites, sitePB(site, -1))
		}
		return resp, nil
	}
	near, err := s.point("near", req.GetNear())
	if err != nil {
		return nil, err
	}
	type found struct {
		site orders.DropSite
		d    float64
	}
	var in []found
	for _, site := range list {
		if d := geo.DistanceM(near, site.Gate); !site.Closed && d <= r {
			in = append(in, found{site, d})
		}
	}
	slices.SortFunc(in, func(a, b found) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.site.ID, b.site.ID)) })
	for _, f := range in {
		resp.Sites = append(resp.Sites, sitePB(f.site, f.d))
	}
	return resp, nil
}

// CloseDropSite closes a site to new orders.
func (s *Server) CloseDropSite(ctx context.Context, req *pb.CloseDropSiteRequest) (*pb.CloseDropSiteResponse, error) {
	ds, err := s.siteStore()
	if err != nil {
		return nil, err
	}
	if req.GetSiteId() == "" {
		return nil, orders.Invalid("site_id", "required")
	}
	site, err := ds.CloseDropSite(ctx, req.GetSiteId(), s.cfg.Clock.Now())
	if err != nil {
		return nil, err
	}
	return &pb.CloseDropSiteResponse{Site: sitePB(site, -1)}, nil
}

// sitePB converts a site; distM below 0 leaves its distance out.
func sitePB(site orders.DropSite, distM float64) *pb.DropSite {
	out := &pb.DropSite{SiteId: site.ID, Kind: handoverPB(site.Kind), Name: site.Name, Compound: site.Compound,
		Gate: latLng(site.Gate), Slots: int32(site.Slots), FreeSlots: int32(site.Free()), Closed: site.Closed,
		CreatedAt: ts(site.CreatedAt), ClosedAt: ts(site.ClosedAt)}
	if distM >= 0 {
		out.DistanceM = math.Round(distM)
	}
	return out
}

// siteOf returns the drop site of an order, the zero site when it has
// none or the site cannot be read (the order shows its drop-off without).
func (s *Server) siteOf(ctx context.Context, o orders.Order) orders.DropSite {
	ds := s.sites()
	if o.DropoffSiteID == "" || ds == nil {
		return orders.DropSite{}
	}
	site, err := ds.DropSite(ctx, o.DropoffSiteID)
	if err != nil {
		s.log.WarnContext(ctx, "drop site of an order", "order", o.ID, "site", o.DropoffSiteID, "err", err)
		return orders.DropSite{}
	}
	return site
}

// newSiteID returns a fresh site id: "DS" and 12 random hex digits.
func newSiteID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "DS" + hex.EncodeToString(b[:])
}

// quoteSite leads a quote's drop-off to the drop site chosen, as
// orders.AtDropSite leads an order: drop becomes the site's gate. It
// returns the site (nil for none) and whether the locker is full.
func (s *Server) quoteSite(ctx context.Context, method pb.Handover, siteID string, drop *geo.Point) (*pb.DropSite, bool, error) {
	h, err := dropoffMethodOf(method)
	if err != nil {
		return nil, false, err
	}
	o := orders.Order{DropoffMethod: h, DropoffSiteID: siteID, Dropoff: *drop}
	site, err := orders.AtDropSite(ctx, s.sites(), &o)
	full := orders.IsKind(err, orders.KindConflict) && site.ID != ""
	if err != nil && !full {
		return nil, false, err
	}
	if site.ID == "" {
		return nil, false, nil
	}
	*drop = o.Dropoff
	return sitePB(site, -1), full, nil
}
