package orderstest

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"zhengxiang/orders"
)

// Festival is the 郑州消费节 of the festival plan: 15 to 22 March 2020, every section.
func Festival(id string) orders.Campaign {
	return orders.Campaign{ID: id, Name: "郑州消费节", First: FestivalDay, Last: FestivalDay.AddDays(7),
		Sections: orders.Sections()}
}

// RunCampaignContract runs the behaviour every orders.CampaignStore must have against fresh
// stores made by newStore, one per subtest. Race creates overlapping campaigns at once and
// checks that exactly one is saved.
func RunCampaignContract(t *testing.T, newStore func(t *testing.T) orders.CampaignStore) {
	t.Run("CreateList", func(t *testing.T) { testCampaignCreateList(t, newStore(t)) })
	t.Run("Invalid", func(t *testing.T) { testCampaignInvalid(t, newStore(t)) })
	t.Run("Overlap", func(t *testing.T) { testCampaignOverlap(t, newStore(t)) })
	t.Run("End", func(t *testing.T) { testCampaignEnd(t, newStore(t)) })
	t.Run("Race", func(t *testing.T) { testCampaignRace(t, newStore(t)) })
}

func mustCreateCampaign(t *testing.T, s orders.CampaignStore, c orders.Campaign) orders.Campaign {
	t.Helper()
	got, err := s.CreateCampaign(t.Context(), c)
	if err != nil {
		t.Fatalf("CreateCampaign(%s): %v", c.ID, err)
	}
	return got
}

func mustCampaigns(t *testing.T, s orders.CampaignStore, want ...orders.Campaign) {
	t.Helper()
	got, err := s.Campaigns(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
		t.Fatalf("Campaigns() = %+v, want %+v", got, want)
	}
}

func testCampaignCreateList(t *testing.T, s orders.CampaignStore) {
	mustCampaigns(t, s)
	// Sections come back in the order of orders.Sections().
	fest := Festival("c-fest")
	fest.Sections = []orders.Section{orders.SectionFlavours, orders.SectionDeals}
	got := mustCreateCampaign(t, s, fest)
	want := fest
	want.Sections = []orders.Section{orders.SectionDeals, orders.SectionFlavours}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("CreateCampaign = %+v, want %+v", got, want)
	}
	early := orders.Campaign{ID: "c-early", Name: "春暖郑州 预热", First: FestivalDay.AddDays(-3), Last: FestivalDay.AddDays(-1),
		Sections: []orders.Section{orders.SectionMade}}
	mustCreateCampaign(t, s, early)
	mustCampaigns(t, s, early, want)
	c, err := s.Campaign(t.Context(), "c-fest")
	if err != nil || !reflect.DeepEqual(c, want) {
		t.Fatalf("Campaign(c-fest) = %+v, %v; want %+v", c, err, want)
	}
	if _, err := s.Campaign(t.Context(), "c-none"); !orders.IsKind(err, orders.KindNotFound) {
		t.Fatalf("Campaign(c-none): %v, want KindNotFound", err)
	}
	again := Festival("c-fest")
	again.First, again.Last = FestivalDay.AddDays(30), FestivalDay.AddDays(31)
	if _, err := s.CreateCampaign(t.Context(), again); !orders.IsKind(err, orders.KindConflict) {
		t.Fatalf("CreateCampaign with an id taken: %v, want KindConflict", err)
	}
}

func testCampaignInvalid(t *testing.T, s orders.CampaignStore) {
	for _, tc := range []struct {
		name  string
		edit  func(c *orders.Campaign)
		field string
	}{
		{"no id", func(c *orders.Campaign) { c.ID = "" }, "campaign.id"},
		{"no name", func(c *orders.Campaign) { c.Name = " " }, "campaign.name"},
		{"name too long", func(c *orders.Campaign) { c.Name = string(make([]rune, orders.MaxCampaignName+1)) }, "campaign.name"},
		{"no first day", func(c *orders.Campaign) { c.First = orders.Day{} }, "campaign.first"},
		{"31 February", func(c *orders.Campaign) { c.Last = orders.Day{Year: 2020, Month: time.February, Day: 31} }, "campaign.last"},
		{"last before first", func(c *orders.Campaign) { c.Last = c.First.AddDays(-1) }, "campaign.last"},
		{"no section", func(c *orders.Campaign) { c.Sections = nil }, "campaign.sections"},
		{"unknown section", func(c *orders.Campaign) { c.Sections = []orders.Section{orders.SectionDeals, "books"} }, "campaign.sections[1]"},
		{"section twice", func(c *orders.Campaign) {
			c.Sections = []orders.Section{orders.SectionDeals, orders.SectionMade, orders.SectionDeals}
		}, "campaign.sections[2]"},
	} {
		c := Festival("c-bad")
		tc.edit(&c)
		_, err := s.CreateCampaign(t.Context(), c)
		if e, ok := err.(*orders.Error); !ok || e.Kind != orders.KindInvalid || e.Field != tc.field {
			t.Errorf("%s: %v, want KindInvalid on %s", tc.name, err, tc.field)
		}
	}
	mustCampaigns(t, s)
}

func testCampaignOverlap(t *testing.T, s orders.CampaignStore) {
	deals := Festival("c-deals")
	deals.Sections = []orders.Section{orders.SectionDeals}
	mustCreateCampaign(t, s, deals)
	for _, tc := range []struct {
		name        string
		first, last orders.Day
		sections    []orders.Section
		conflict    bool
	}{
		{"same days, same section", deals.First, deals.Last, deals.Sections, true},
		{"its last day", deals.Last, deals.Last.AddDays(3), []orders.Section{orders.SectionMade, orders.SectionDeals}, true},
		{"its first day", deals.First.AddDays(-5), deals.First, []orders.Section{orders.SectionDeals}, true},
		{"around it", deals.First.AddDays(-1), deals.Last.AddDays(1), []orders.Section{orders.SectionDeals}, true},
		{"same days, other sections", deals.First, deals.Last, []orders.Section{orders.SectionFlavours, orders.SectionMade}, false},
		{"the day after", deals.Last.AddDays(1), deals.Last.AddDays(2), []orders.Section{orders.SectionDeals}, false},
		{"the day before", deals.First.AddDays(-1), deals.First.AddDays(-1), []orders.Section{orders.SectionDeals}, false},
	} {
		c := orders.Campaign{ID: "c-" + tc.name, Name: tc.name, First: tc.first, Last: tc.last, Sections: tc.sections}
		_, err := s.CreateCampaign(t.Context(), c)
		if tc.conflict != orders.IsKind(err, orders.KindConflict) || (!tc.conflict && err != nil) {
			t.Errorf("%s: %v, want conflict %v", tc.name, err, tc.conflict)
		}
	}
	all, err := s.Campaigns(t.Context())
	if err != nil || len(all) != 4 {
		t.Fatalf("Campaigns() = %d campaigns, %v; want 4", len(all), err)
	}
}

func testCampaignEnd(t *testing.T, s orders.CampaignStore) {
	ctx := t.Context()
	fest := mustCreateCampaign(t, s, Festival("c-fest"))
	if _, _, err := s.EndCampaign(ctx, "c-fest", fest.Last.AddDays(1)); !orders.IsKind(err, orders.KindInvalid) {
		t.Fatalf("EndCampaign after its last day: %v, want KindInvalid", err)
	}
	if _, _, err := s.EndCampaign(ctx, "c-none", fest.First); !orders.IsKind(err, orders.KindNotFound) {
		t.Fatalf("EndCampaign(c-none): %v, want KindNotFound", err)
	}
	ended, withdrawn, err := s.EndCampaign(ctx, "c-fest", fest.First.AddDays(2))
	want := fest
	want.Last = fest.First.AddDays(2)
	if err != nil || withdrawn || !reflect.DeepEqual(ended, want) {
		t.Fatalf("EndCampaign(c-fest, %s) = %+v, %v, %v; want %+v", want.Last, ended, withdrawn, err, want)
	}
	mustCampaigns(t, s, want)
	// The days after its end are free again.
	next := Festival("c-next")
	next.First = want.Last.AddDays(1)
	mustCreateCampaign(t, s, next)
	if _, err := s.CreateCampaign(ctx, orders.Campaign{ID: "c-clash", Name: "clash", First: want.Last, Last: want.Last,
		Sections: []orders.Section{orders.SectionMade}}); !orders.IsKind(err, orders.KindConflict) {
		t.Fatalf("a campaign on the ended one's last day: %v, want KindConflict", err)
	}
	// Ended before its first day, a campaign is withdrawn.
	got, withdrawn, err := s.EndCampaign(ctx, "c-next", next.First.AddDays(-1))
	if err != nil || !withdrawn || got.ID != "c-next" {
		t.Fatalf("EndCampaign before its first day = %+v, %v, %v; want c-next withdrawn", got, withdrawn, err)
	}
	mustCampaigns(t, s, want)
	if _, err := s.Campaign(ctx, "c-next"); !orders.IsKind(err, orders.KindNotFound) {
		t.Fatalf("withdrawn campaign: %v, want KindNotFound", err)
	}
}

func testCampaignRace(t *testing.T, s orders.CampaignStore) {
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			// Each shares a day and the made section with every other.
			c := orders.Campaign{ID: fmt.Sprintf("c-%02d", i), Name: "race", First: FestivalDay.AddDays(i % 3), Last: FestivalDay.AddDays(3),
				Sections: []orders.Section{orders.SectionMade, []orders.Section{orders.SectionDeals, orders.SectionFlavours}[i%2]}}
			_, errs[i] = s.CreateCampaign(t.Context(), c)
		})
	}
	wg.Wait()
	saved := 0
	for i, err := range errs {
		switch {
		case err == nil:
			saved++
		case !orders.IsKind(err, orders.KindConflict):
			t.Errorf("campaign %d: %v, want saved or KindConflict", i, err)
		}
	}
	all, err := s.Campaigns(t.Context())
	if err != nil || saved != 1 || len(all) != 1 {
		t.Fatalf("%d saved, %d listed (%v); want exactly one", saved, len(all), err)
	}
}
