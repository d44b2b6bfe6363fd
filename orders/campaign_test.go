package orders_test

import (
	"testing"
	"time"

	"zhengxiang/orders"
	"zhengxiang/orders/memory"
	"zhengxiang/orders/orderstest"
)

func TestCampaignsJoin(t *testing.T) {
	ctx := t.Context()
	store := memory.NewCampaigns()
	cs := orders.NewCampaigns(store, 0)
	deals := orderstest.Festival("c-deals")
	deals.Sections = []orders.Section{orders.SectionDeals}
	if _, err := cs.Create(ctx, deals); err != nil {
		t.Fatal(err)
	}
	// Written past the list, as by another process: not seen until read again.
	made := orderstest.Festival("c-made")
	made.Sections = []orders.Section{orders.SectionMade}
	if _, err := store.CreateCampaign(ctx, made); err != nil {
		t.Fatal(err)
	}
	at := func(section orders.Section, placed time.Time) orders.Order {
		o := orderstest.SampleOrder("o")
		o.Section, o.PlacedAt, o.CampaignID = section, placed, "c-given-outside"
		return o
	}
	lastDay := deals.Last.Start().Add(23*time.Hour + 59*time.Minute)
	for _, tc := range []struct {
		name string
		o    orders.Order
		want string
	}{
		{"first day", at(orders.SectionDeals, deals.First.Start()), "c-deals"},
		{"last minute of the last day", at(orders.SectionDeals, lastDay), "c-deals"},
		{"the day after, CST", at(orders.SectionDeals, deals.Last.AddDays(1).Start()), ""},
		{"the day before", at(orders.SectionDeals, deals.First.Start().Add(-time.Minute)), ""},
		{"other section", at(orders.SectionFlavours, deals.First.Start()), ""},
		{"a campaign not read yet", at(orders.SectionMade, deals.First.Start()), ""},
	} {
		o := tc.o
		if err := cs.Join(ctx, &o); err != nil || o.CampaignID != tc.want {
			t.Errorf("%s: campaign %q, %v; want %q", tc.name, o.CampaignID, err, tc.want)
		}
	}
	if err := cs.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	o := at(orders.SectionMade, deals.First.Start())
	if err := cs.Join(ctx, &o); err != nil || o.CampaignID != "c-made" {
		t.Errorf("after Reload: campaign %q, %v; want c-made", o.CampaignID, err)
	}
	// Ended, a campaign takes no order of the days after.
	if _, _, err := cs.End(ctx, "c-deals", deals.First); err != nil {
		t.Fatal(err)
	}
	o = at(orders.SectionDeals, deals.First.AddDays(1).Start())
	if err := cs.Join(ctx, &o); err != nil || o.CampaignID != "" {
		t.Errorf("after End: campaign %q, %v; want none", o.CampaignID, err)
	}
}

func TestCampaignsMaxAge(t *testing.T) {
	ctx := t.Context()
	store := memory.NewCampaigns()
	cs := orders.NewCampaigns(store, time.Millisecond)
	o := orderstest.SampleOrder("o")
	if err := cs.Join(ctx, &o); err != nil || o.CampaignID != "" {
		t.Fatalf("no campaign: %q, %v", o.CampaignID, err)
	}
	if _, err := store.CreateCampaign(ctx, orderstest.Festival("c-fest")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if err := cs.Join(ctx, &o); err != nil || o.CampaignID != "c-fest" {
		t.Fatalf("once the list is old: %q, %v; want c-fest", o.CampaignID, err)
	}
}

func TestNilCampaignsJoin(t *testing.T) {
	var cs *orders.Campaigns
	o := orderstest.SampleOrder("o")
	o.CampaignID = "c-x"
	if err := cs.Join(t.Context(), &o); err != nil || o.CampaignID != "" {
		t.Fatalf("nil Campaigns: %q, %v; want none", o.CampaignID, err)
	}
}
