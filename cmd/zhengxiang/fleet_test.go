package main

import (
	"testing"
	"time"

	"zhengxiang/dispatch"
	"zhengxiang/dispatch/sim"
	"zhengxiang/orders"
)

// TestFleetShifts checks that a fleet seat ridden for a week is ridden by a
// crew in turns, nobody working past the warning of a day, and that a seat
// ridden within a day's limit keeps its one rider.
func TestFleetShifts(t *testing.T) {
	on := time.Date(2020, 3, 15, 10, 0, 0, 0, orders.CST)
	if got := fleetShifts(0, 300, sim.Rider{ID: "F0001", On: on, Off: on.Add(12 * time.Hour)}); len(got) != 1 || got[0].ID != "F0001" {
		t.Fatalf("a 12-hour seat: %+v, want F0001 alone", got)
	}
	week := fleetShifts(4, 300, sim.Rider{ID: "F0005", On: on, Off: on.Add(7 * 24 * time.Hour), Capacity: 4})
	if len(week) != 21 || week[0].ID != "F0005" || week[1].ID != "F0305" || week[2].ID != "F0605" || week[3].ID != "F0005" {
		t.Fatalf("a week's seat: %d shifts, first riders %v", len(week), week[:min(4, len(week))])
	}
	worked := map[string]map[orders.Day]time.Duration{}
	for k, r := range week {
		if k > 0 && !r.On.Equal(week[k-1].Off) {
			t.Fatalf("shift %d starts at %v, the one before ends at %v", k, r.On, week[k-1].Off)
		}
		if r.Capacity != 4 {
			t.Fatalf("shift %d: capacity %d, want the seat's", k, r.Capacity)
		}
		if worked[r.ID] == nil {
			worked[r.ID] = map[orders.Day]time.Duration{}
		}
		for t0 := r.On; t0.Before(r.Off); t0 = t0.Add(time.Minute) {
			worked[r.ID][orders.DayOf(t0)] += time.Minute
		}
	}
	if !week[len(week)-1].Off.Equal(on.Add(7 * 24 * time.Hour)) {
		t.Fatalf("the last shift ends at %v", week[len(week)-1].Off)
	}
	for id, days := range worked {
		for d, w := range days {
			if w > dispatch.DefaultWorkWarn {
				t.Errorf("%s works %v on %s, past the warning", id, w, d)
			}
		}
	}
}
