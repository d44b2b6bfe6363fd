package memory

import (
	"context"
	"slices"
	"sync"

	"zhengxiang/orders"
)

var _ orders.CampaignStore = (*Campaigns)(nil)

// Campaigns is an orders.CampaignStore in memory. One mutex guards it, which makes the check of
// overlaps atomic with the write.
type Campaigns struct {
	mu  sync.Mutex
	all map[string]orders.Campaign
}

// NewCampaigns returns an empty CampaignStore.
func NewCampaigns() *Campaigns { return &Campaigns{all: make(map[string]orders.Campaign)} }

// CreateCampaign saves a new campaign that overlaps no other.
func (s *Campaigns) CreateCampaign(ctx context.Context, c orders.Campaign) (orders.Campaign, error) {
	if err := ctx.Err(); err != nil {
		return orders.Campaign{}, err
	}
	if err := c.Validate(); err != nil {
		return orders.Campaign{}, err
	}
	c = c.Normalized()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.all[c.ID]; ok {
		return orders.Campaign{}, orders.Conflict("campaign %s exists", c.ID)
	}
	if err := orders.CheckOverlap(c, s.listLocked()); err != nil {
		return orders.Campaign{}, err
	}
	s.all[c.ID] = c
	return c, nil
}

// listLocked returns the campaigns in order; s.mu is held.
func (s *Campaigns) listLocked() []orders.Campaign {
	out := make([]orders.Campaign, 0, len(s.all))
	for _, c := range s.all {
		c.Sections = slices.Clone(c.Sections)
		out = append(out, c)
	}
	orders.SortCampaigns(out)
	return out
}

// Campaigns returns every campaign.
func (s *Campaigns) Campaigns(ctx context.Context) ([]orders.Campaign, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listLocked(), nil
}

// Campaign returns one campaign.
func (s *Campaigns) Campaign(ctx context.Context, id string) (orders.Campaign, error) {
	if err := ctx.Err(); err != nil {
		return orders.Campaign{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.all[id]
	if !ok {
		return orders.Campaign{}, orders.NotFound("campaign", id)
	}
	c.Sections = slices.Clone(c.Sections)
	return c, nil
}

// EndCampaign makes day last the campaign's last day, or withdraws it.
func (s *Campaigns) EndCampaign(ctx context.Context, id string, last orders.Day) (orders.Campaign, bool, error) {
	if err := ctx.Err(); err != nil {
		return orders.Campaign{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.all[id]
	if !ok {
		return orders.Campaign{}, false, orders.NotFound("campaign", id)
	}
	if err := orders.CheckEnd(c, last); err != nil {
		return orders.Campaign{}, false, err
	}
	c.Sections = slices.Clone(c.Sections)
	if last.Compare(c.First) < 0 {
		delete(s.all, id)
		return c, true, nil
	}
	c.Last = last
	s.all[id] = c
	return c, false, nil
}
