package dispatch_test

import (
	"testing"

	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// TestReach: a store of the 1-hour circle delivers within its circle, a
// 郑享制造 factory outlet anywhere in the service area, and nowhere outside.
func TestReach(t *testing.T) {
	area := geo.Zhengzhou()
	erqi := geo.Point{Lat: 34.7520, Lng: 113.6330}
	deals := orders.Store{ID: "S-A", Section: orders.SectionDeals, Point: erqi, PrepMinutes: 10}
	meals := orders.Store{ID: "S-B", Section: orders.SectionFlavours, Point: erqi, PrepMinutes: 15}
	made := orders.Store{ID: "S-F", Section: orders.SectionMade, Point: erqi, PrepMinutes: 30}
	later := orders.Store{ID: "S-G", Section: orders.SectionMade, Point: erqi} // not in the list: learnt when asked
	r := dispatch.NewReach(area, geo.DefaultRoadModel(), []orders.Store{deals, meals, made})

	near := geo.Point{Lat: erqi.Lat + 0.01, Lng: erqi.Lng}
	far := geo.Point{Lat: 34.8442, Lng: 113.8273} // 20.5 km north-east, in 金水区
	beijing := geo.Point{Lat: 39.9, Lng: 116.4}
	if geo.DistanceM(erqi, far) < 19000 || !area.Contains(far) {
		t.Fatalf("far is %.0f m away, in the area %v", geo.DistanceM(erqi, far), area.Contains(far))
	}
	for _, c := range []struct {
		name  string
		st    orders.Store
		p     geo.Point
		serve bool
	}{
		{"deals near", deals, near, true},
		{"deals far", deals, far, false},
		{"flavours near", meals, near, true},
		{"flavours far", meals, far, false},
		{"factory near", made, near, true},
		{"factory far", made, far, true},
		{"factory outside the area", made, beijing, false},
		{"factory learnt when asked", later, far, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := r.Serves(c.st, c.p); got != c.serve {
				t.Errorf("Serves = %v, want %v", got, c.serve)
			}
			err := r.Check(c.st, orders.Order{Dropoff: c.p})
			if c.serve != (err == nil) {
				t.Errorf("Check = %v", err)
			}
			if e, ok := err.(*orders.Error); err != nil && (!ok || e.Field != "dropoff") {
				t.Errorf("Check = %v, want an error on dropoff", err)
			}
		})
	}
	if e, ok := r.Check(deals, orders.Order{Dropoff: far, DropoffSiteID: "L1"}).(*orders.Error); !ok || e.Field != "dropoff_site_id" {
		t.Errorf("a drop site's gate outside the circle: %v, want an error on dropoff_site_id", e)
	}

	ids := func(ss []orders.Store) (out []string) {
		for _, s := range ss {
			out = append(out, s.ID)
		}
		return out
	}
	if got := ids(r.Stores(near)); len(got) != 4 || got[0] != "S-A" || got[1] != "S-B" || got[2] != "S-F" || got[3] != "S-G" {
		t.Errorf("stores near: %v, want S-A S-B S-F S-G", got)
	}
	if got := ids(r.Stores(far)); len(got) != 2 || got[0] != "S-F" || got[1] != "S-G" {
		t.Errorf("stores 20 km away: %v, want the factory outlets S-F S-G", got)
	}
	if got := r.Stores(beijing); len(got) != 0 {
		t.Errorf("stores outside the area: %v", ids(got))
	}
	if c, ok := r.Circle("S-A"); !ok || len(c.Cells) == 0 {
		t.Errorf("the circle of S-A: %v, %v", ok, len(c.Cells))
	}
}
