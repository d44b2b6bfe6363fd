package orders

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Campaign is a promotion of the festival, such as the 郑州消费节 of 15-22 March 2020: from its
// First to its Last day (days of China Standard Time, both included), the orders of its
// Sections belong to it. Campaigns sharing a section never share a day, so that an order
// belongs to at most one campaign (Order.CampaignID).
type Campaign struct {
	ID, Name    string
	First, Last Day
	Sections    []Section // in the order of Sections(), each once
}

// MaxCampaignName is the most characters of a campaign's name.
const MaxCampaignName = 64

// NewCampaignID returns a fresh campaign id: "C" and 16 hexadecimal digits from crypto/rand.
func NewCampaignID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "C" + hex.EncodeToString(b[:])
}

// Validate checks a campaign before it is saved, and returns the first problem as a KindInvalid
// error naming the field ("campaign.first", "campaign.sections[1]", ...).
func (c Campaign) Validate() error {
	name := strings.TrimSpace(c.Name)
	switch {
	case c.ID == "":
		return Invalid("campaign.id", "must not be empty")
	case name == "":
		return Invalid("campaign.name", "must not be empty")
	case name != c.Name:
		return Invalid("campaign.name", "%q begins or ends with spaces", c.Name)
	case !utf8.ValidString(c.Name):
		return Invalid("campaign.name", "is not UTF-8")
	case utf8.RuneCountInString(c.Name) > MaxCampaignName:
		return Invalid("campaign.name", "%d characters, at most %d", utf8.RuneCountInString(c.Name), MaxCampaignName)
	case !c.First.Valid():
		return Invalid("campaign.first", "%s is not a day", c.First)
	case !c.Last.Valid():
		return Invalid("campaign.last", "%s is not a day", c.Last)
	case c.First.Compare(c.Last) > 0:
		return Invalid("campaign.last", "%s is before the first day %s", c.Last, c.First)
	case len(c.Sections) == 0:
		return Invalid("campaign.sections", "a campaign needs at least one section")
	}
	for i, s := range c.Sections {
		if !s.Valid() {
			return Invalid(fmt.Sprintf("campaign.sections[%d]", i), "%q is not a section", s)
		}
		if slices.Index(c.Sections, s) < i {
			return Invalid(fmt.Sprintf("campaign.sections[%d]", i), "%s given twice", s)
		}
	}
	return nil
}

// Normalized returns c with its sections in the order of Sections().
func (c Campaign) Normalized() Campaign {
	var out []Section
	for _, s := range Sections() {
		if slices.Contains(c.Sections, s) {
			out = append(out, s)
		}
	}
	c.Sections = out
	return c
}

// Covers reports whether an order of section s placed on day d belongs to the campaign.
func (c Campaign) Covers(s Section, d Day) bool {
	return d.Compare(c.First) >= 0 && d.Compare(c.Last) <= 0 && slices.Contains(c.Sections, s)
}

// Overlaps reports whether c and o share a day and a section.
func (c Campaign) Overlaps(o Campaign) bool {
	if c.First.Compare(o.Last) > 0 || o.First.Compare(c.Last) > 0 {
		return false
	}
	for _, s := range c.Sections {
		if slices.Contains(o.Sections, s) {
			return true
		}
	}
	return false
}

// CheckOverlap returns a KindConflict error when c overlaps a campaign of list other than
// itself. Every CampaignStore applies it, atomically with the write.
func CheckOverlap(c Campaign, list []Campaign) error {
	for _, o := range list {
		if o.ID != c.ID && c.Overlaps(o) {
			return Conflict("campaign %q (%s to %s) shares a day and a section with campaign %q %s (%s to %s)",
				c.Name, c.First, c.Last, o.Name, o.ID, o.First, o.Last)
		}
	}
	return nil
}

// CheckEnd checks that a campaign may end with day last: not after its Last day. A last before
// its First day withdraws the campaign.
func CheckEnd(c Campaign, last Day) error {
	switch {
	case !last.Valid():
		return Invalid("last_day", "%s is not a day", last)
	case last.Compare(c.Last) > 0:
		return Invalid("last_day", "%s is after the campaign's last day %s: a campaign is ended, never extended", last, c.Last)
	}
	return nil
}

// SortCampaigns orders campaigns by first day, then id, as every CampaignStore lists them.
func SortCampaigns(list []Campaign) {
	slices.SortFunc(list, func(a, b Campaign) int { return cmp.Or(a.First.Compare(b.First), cmp.Compare(a.ID, b.ID)) })
}

// CampaignStore keeps the campaigns. Every implementation (the in-memory one in orders/memory,
// the database one) passes orderstest.RunCampaignContract.
type CampaignStore interface {
	// CreateCampaign saves a new campaign, after Validate. One that shares a day and a section
	// with another is KindConflict, checked atomically with the write; an id taken is
	// KindConflict too.
	CreateCampaign(ctx context.Context, c Campaign) (Campaign, error)
	// Campaigns returns every campaign, ordered by first day, then id.
	Campaigns(ctx context.Context) ([]Campaign, error)
	// Campaign returns one campaign; an unknown id is KindNotFound.
	Campaign(ctx context.Context, id string) (Campaign, error)
	// EndCampaign makes day last the campaign's last day (CheckEnd): from the next day on no
	// order joins it. A last before its first day withdraws the campaign: it is deleted, and
	// returned with withdrawn true.
	EndCampaign(ctx context.Context, id string, last Day) (c Campaign, withdrawn bool, err error)
}

// Campaigns is the campaigns of a store as this process last read them, from which orders are
// given their campaign as they are placed (Join) without a query each. Its writes go through
// the store and read the list again; the list is read again, too, once it is older than the
// age given to NewCampaigns, so that campaigns written by another process are seen.
type Campaigns struct {
	store  CampaignStore
	maxAge time.Duration

	mu   sync.Mutex // held while reading the list
	list atomic.Pointer[campaignList]
}

type campaignList struct {
	all  []Campaign
	read time.Time
}

// NewCampaigns returns the campaigns of store, read again once older than maxAge (0: only after
// a write through them).
func NewCampaigns(store CampaignStore, maxAge time.Duration) *Campaigns {
	return &Campaigns{store: store, maxAge: maxAge}
}

// Store returns the store the campaigns are kept in.
func (cs *Campaigns) Store() CampaignStore { return cs.store }

// Reload reads the list of campaigns from the store.
func (cs *Campaigns) Reload(ctx context.Context) error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.reloadLocked(ctx)
}

func (cs *Campaigns) reloadLocked(ctx context.Context) error {
	all, err := cs.store.Campaigns(ctx)
	if err != nil {
		return err
	}
	cs.list.Store(&campaignList{all: all, read: time.Now()})
	return nil
}

// current returns the list, read when missing or too old.
func (cs *Campaigns) current(ctx context.Context) ([]Campaign, error) {
	l := cs.list.Load()
	if l != nil && (cs.maxAge == 0 || time.Since(l.read) < cs.maxAge) {
		return l.all, nil
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if l2 := cs.list.Load(); l2 != l {
		return l2.all, nil
	}
	if err := cs.reloadLocked(ctx); err != nil {
		return nil, err
	}
	return cs.list.Load().all, nil
}

// Create saves a new campaign and reads the list again.
func (cs *Campaigns) Create(ctx context.Context, c Campaign) (Campaign, error) {
	c, err := cs.store.CreateCampaign(ctx, c)
	if err != nil {
		return c, err
	}
	return c, cs.Reload(ctx)
}

// End ends a campaign with day last (see CampaignStore.EndCampaign) and reads the list again.
func (cs *Campaigns) End(ctx context.Context, id string, last Day) (Campaign, bool, error) {
	c, withdrawn, err := cs.store.EndCampaign(ctx, id, last)
	if err != nil {
		return c, withdrawn, err
	}
	return c, withdrawn, cs.Reload(ctx)
}

// Join sets o.CampaignID, as o is placed, to the campaign that covers its section on the day it
// was placed, or to "" when none does. Nil Campaigns know of none.
func (cs *Campaigns) Join(ctx context.Context, o *Order) error {
	o.CampaignID = ""
	if cs == nil {
		return nil
	}
	all, err := cs.current(ctx)
	if err != nil {
		return err
	}
	d := DayOf(o.PlacedAt)
	for _, c := range all {
		if c.Covers(o.Section, d) {
			o.CampaignID = c.ID
			return nil
		}
	}
	return nil
}
