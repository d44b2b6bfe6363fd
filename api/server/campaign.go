package server

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/orders"
	"zhengxiang/orders/kafka"
)

// Campaigns: the city's operators create and end them, operators and the
// bureau list them; an order joins the campaign covering its section on
// the day it is placed (Campaigns.Join, in CreateOrder and in the intake of
// orders.placed).

func campaignPB(c orders.Campaign) *pb.Campaign {
	out := &pb.Campaign{Id: c.ID, Name: c.Name, FirstDay: c.First.String(), LastDay: c.Last.String()}
	for _, s := range c.Sections {
		out.Sections = append(out.Sections, sectionPB(s))
	}
	return out
}

// campaigns returns the campaigns the API serves; without them it is
// Unavailable.
func (s *Server) campaigns() (*orders.Campaigns, error) {
	if s.cfg.Campaigns == nil {
		return nil, orders.Unavailable("this service keeps no campaigns")
	}
	return s.cfg.Campaigns, nil
}

// campaignsToChange returns the campaigns for a change by an operator,
// refusing a platform's: a campaign is the city's.
func (s *Server) campaignsToChange(ctx context.Context) (*orders.Campaigns, error) {
	if principalOf(ctx).Platform != "" {
		return nil, status.Error(codes.PermissionDenied, "only the city's operators create and end campaigns")
	}
	return s.campaigns()
}

// apiDay reads a day given in a request as field.
func apiDay(field, v string) (orders.Day, error) {
	if v == "" {
		return orders.Day{}, orders.Invalid(field, "required, written as 2006-01-02")
	}
	d, err := orders.ParseDay(v)
	return d, renameField(err, "day", field)
}

// campaignField gives a campaign's invalid field its name in the API.
func campaignField(err error) error {
	e, ok := err.(*orders.Error)
	if !ok || !strings.HasPrefix(e.Field, "campaign.") {
		return err
	}
	c := *e
	c.Field = strings.TrimPrefix(e.Field, "campaign.")
	switch c.Field {
	case "first":
		c.Field = "first_day"
	case "last":
		c.Field = "last_day"
	}
	return &c
}

// CreateCampaign starts a campaign.
func (s *Server) CreateCampaign(ctx context.Context, req *pb.CreateCampaignRequest) (*pb.CreateCampaignResponse, error) {
	cs, err := s.campaignsToChange(ctx)
	if err != nil {
		return nil, err
	}
	c := orders.Campaign{ID: orders.NewCampaignID(), Name: req.GetName()}
	if c.First, err = apiDay("first_day", req.GetFirstDay()); err != nil {
		return nil, err
	}
	if c.Last, err = apiDay("last_day", req.GetLastDay()); err != nil {
		return nil, err
	}
	for i, v := range req.GetSections() {
		sec, ok := kafka.SectionFromProto(v)
		if !ok {
			return nil, orders.Invalid("sections", "item %d: %s is not a section", i, v)
		}
		c.Sections = append(c.Sections, sec)
	}
	if err := c.Validate(); err != nil {
		return nil, campaignField(err)
	}
	if c, err = cs.Create(ctx, c); err != nil {
		return nil, err
	}
	return &pb.CreateCampaignResponse{Campaign: campaignPB(c)}, nil
}

// ListCampaigns lists the campaigns by first day.
func (s *Server) ListCampaigns(ctx context.Context, _ *pb.ListCampaignsRequest) (*pb.ListCampaignsResponse, error) {
	cs, err := s.campaigns()
	if err != nil {
		return nil, err
	}
	all, err := cs.Store().Campaigns(ctx)
	if err != nil {
		return nil, err
	}
	out := &pb.ListCampaignsResponse{}
	for _, c := range all {
		out.Campaigns = append(out.Campaigns, campaignPB(c))
	}
	return out, nil
}

// EndCampaign ends a campaign at the end of a day, today or later: the
// orders placed keep their campaign.
func (s *Server) EndCampaign(ctx context.Context, req *pb.EndCampaignRequest) (*pb.EndCampaignResponse, error) {
	cs, err := s.campaignsToChange(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetCampaignId() == "" {
		return nil, orders.Invalid("campaign_id", "required")
	}
	today := orders.DayOf(s.cfg.Clock.Now())
	last := today
	if req.GetLastDay() != "" {
		if last, err = apiDay("last_day", req.GetLastDay()); err != nil {
			return nil, err
		}
	}
	if last.Compare(today) < 0 {
		return nil, orders.Invalid("last_day", "%s is before today %s: the orders placed keep their campaign", last, today)
	}
	c, withdrawn, err := cs.End(ctx, req.GetCampaignId(), last)
	if err != nil {
		return nil, err
	}
	return &pb.EndCampaignResponse{Campaign: campaignPB(c), Withdrawn: withdrawn}, nil
}
