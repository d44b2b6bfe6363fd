package orders_test

import (
	"testing"
	"time"

	"zhengxiang/orders"
)

func TestDayOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   time.Time
		want string
	}{
		{"CST midnight", time.Date(2020, 3, 15, 0, 0, 0, 0, orders.CST), "2020-03-15"},
		{"UTC before CST midnight", time.Date(2020, 3, 14, 15, 59, 59, 0, time.UTC), "2020-03-14"},
		{"UTC at CST midnight", time.Date(2020, 3, 14, 16, 0, 0, 0, time.UTC), "2020-03-15"},
		{"last second of a CST day", time.Date(2020, 3, 15, 23, 59, 59, 999, orders.CST), "2020-03-15"},
		{"new year in CST", time.Date(2020, 12, 31, 16, 30, 0, 0, time.UTC), "2021-01-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := orders.DayOf(tc.at).String(); got != tc.want {
				t.Errorf("DayOf(%v) = %s, want %s", tc.at, got, tc.want)
			}
		})
	}
}

func TestDay(t *testing.T) {
	d, err := orders.ParseDay("2020-03-15")
	if err != nil || d != (orders.Day{Year: 2020, Month: time.March, Day: 15}) || !d.Valid() {
		t.Fatalf("ParseDay(2020-03-15) = %+v, %v", d, err)
	}
	if got := d.Start(); !got.Equal(time.Date(2020, 3, 14, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("Start = %v", got)
	}
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "2020-03-15"}, {1, "2020-03-16"}, {17, "2020-04-01"}, {-15, "2020-02-29"}, {-75, "2019-12-31"}} {
		if got := d.AddDays(tc.n).String(); got != tc.want {
			t.Errorf("AddDays(%d) = %s, want %s", tc.n, got, tc.want)
		}
	}
	if d.Compare(d.AddDays(1)) != -1 || d.AddDays(1).Compare(d) != 1 || d.Compare(d) != 0 ||
		d.Compare(orders.Day{Year: 2019, Month: 12, Day: 31}) != 1 {
		t.Error("Compare does not order days")
	}
	for _, bad := range []orders.Day{{}, {Year: 2020, Month: 2, Day: 30}, {Year: 2020, Month: 13, Day: 1}, {Year: 10000, Month: 1, Day: 1}} {
		if bad.Valid() {
			t.Errorf("%+v is valid", bad)
		}
	}
	for _, s := range []string{"", "2020-3-15", "2020-02-30", "15/03/2020"} {
		if _, err := orders.ParseDay(s); !orders.IsKind(err, orders.KindInvalid) {
			t.Errorf("ParseDay(%q): %v, want KindInvalid", s, err)
		}
	}
}
