package orderstest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"zhengxiang/orders"
)

// FestivalDay is the first day of the festival, 15 March 2020.
var FestivalDay = orders.Day{Year: 2020, Month: time.March, Day: 15}

// RunQuotaContract runs the behaviour every orders.QuotaStore must have against fresh stores
// made by newQuota, one per subtest, whose platforms have defaultPerDay free deliveries a day.
// Race takes a thousand orders at once, each sent twice, and checks that exactly the quota is
// granted.
func RunQuotaContract(t *testing.T, newQuota func(t *testing.T, defaultPerDay int) orders.QuotaStore) {
	t.Run("Default", func(t *testing.T) { testQuotaDefault(t, newQuota(t, 5)) })
	t.Run("Take", func(t *testing.T) { testQuotaTake(t, newQuota(t, 5)) })
	t.Run("Resend", func(t *testing.T) { testQuotaResend(t, newQuota(t, 1)) })
	t.Run("ChangeQuota", func(t *testing.T) { testQuotaChange(t, newQuota(t, 5)) })
	t.Run("ZeroDefault", func(t *testing.T) { testQuotaZeroDefault(t, newQuota(t, 0)) })
	t.Run("Used", func(t *testing.T) { testQuotaUsed(t, newQuota(t, 3)) })
	t.Run("Invalid", func(t *testing.T) { testQuotaInvalid(t, newQuota(t, 3)) })
	t.Run("Race", func(t *testing.T) { testQuotaRace(t, newQuota(t, 10)) })
	t.Run("TakeMany", func(t *testing.T) { testQuotaTakeMany(t, newQuota(t, 2)) })
	t.Run("RaceMany", func(t *testing.T) { testQuotaRaceMany(t, newQuota(t, 10)) })
}

func mustLeft(t *testing.T, q orders.QuotaStore, platform string, day orders.Day, want int) {
	t.Helper()
	left, err := q.FreeDeliveryLeft(t.Context(), platform, day)
	if err != nil || left != want {
		t.Fatalf("FreeDeliveryLeft(%s, %s) = %d, %v; want %d", platform, day, left, err, want)
	}
}

func mustTake(t *testing.T, q orders.QuotaStore, platform string, day orders.Day, key string, want bool) {
	t.Helper()
	granted, err := q.TakeFreeDelivery(t.Context(), platform, day, key)
	if err != nil || granted != want {
		t.Fatalf("TakeFreeDelivery(%s, %s, %s) = %v, %v; want %v", platform, day, key, granted, err, want)
	}
}

func mustSetQuota(t *testing.T, q orders.QuotaStore, platform string, day orders.Day, n int) {
	t.Helper()
	if err := q.SetFreeDeliveryQuota(t.Context(), platform, day, n); err != nil {
		t.Fatalf("SetFreeDeliveryQuota(%s, %s, %d): %v", platform, day, n, err)
	}
}

func testQuotaDefault(t *testing.T, q orders.QuotaStore) {
	mustLeft(t, q, "eleme", FestivalDay, 5)
	mustSetQuota(t, q, "eleme", FestivalDay, 2)
	mustLeft(t, q, "eleme", FestivalDay, 2)
	// Only that platform, only that day.
	mustLeft(t, q, "meituan", FestivalDay, 5)
	mustLeft(t, q, "eleme", FestivalDay.AddDays(1), 5)
	mustLeft(t, q, "eleme", FestivalDay.AddDays(-1), 5)
}

func testQuotaTake(t *testing.T, q orders.QuotaStore) {
	mustSetQuota(t, q, "eleme", FestivalDay, 2)
	mustTake(t, q, "eleme", FestivalDay, "e-1", true)
	mustLeft(t, q, "eleme", FestivalDay, 1)
	mustTake(t, q, "eleme", FestivalDay, "e-2", true)
	mustLeft(t, q, "eleme", FestivalDay, 0)
	mustTake(t, q, "eleme", FestivalDay, "e-3", false)
	mustLeft(t, q, "eleme", FestivalDay, 0)
	// Other platforms and days have their own, even under the same keys.
	mustTake(t, q, "meituan", FestivalDay, "e-3", true)
	mustLeft(t, q, "meituan", FestivalDay, 4)
	next := FestivalDay.AddDays(1)
	mustTake(t, q, "eleme", next, "e-4", true)
	mustLeft(t, q, "eleme", next, 4)
}

func testQuotaResend(t *testing.T, q orders.QuotaStore) {
	mustTake(t, q, "eleme", FestivalDay, "e-1", true)
	mustTake(t, q, "eleme", FestivalDay, "e-2", false)
	// A resend gets its first answer and takes nothing.
	mustTake(t, q, "eleme", FestivalDay, "e-1", true)
	mustTake(t, q, "eleme", FestivalDay, "e-2", false)
	mustLeft(t, q, "eleme", FestivalDay, 0)
	// Even once the quota has room again: a refused order stays refused.
	mustSetQuota(t, q, "eleme", FestivalDay, 3)
	mustTake(t, q, "eleme", FestivalDay, "e-2", false)
	mustLeft(t, q, "eleme", FestivalDay, 2)
	// Even the next day: the order was counted on its first day.
	next := FestivalDay.AddDays(1)
	mustTake(t, q, "eleme", next, "e-1", true)
	mustTake(t, q, "eleme", next, "e-2", false)
	mustLeft(t, q, "eleme", next, 1)
	used, err := q.FreeDeliveriesUsed(t.Context(), FestivalDay, next)
	want := []orders.QuotaUse{{Platform: "eleme", Day: FestivalDay, Used: 1, Quota: 3}}
	if err != nil || !reflect.DeepEqual(used, want) {
		t.Fatalf("FreeDeliveriesUsed = %+v, %v; want %+v (a resend counts on no day)", used, err, want)
	}
}

func testQuotaChange(t *testing.T, q orders.QuotaStore) {
	for i := range 3 {
		mustTake(t, q, "eleme", FestivalDay, fmt.Sprintf("e-%d", i), true)
	}
	// Lowered below what is used: nothing more, nothing taken back.
	mustSetQuota(t, q, "eleme", FestivalDay, 1)
	mustLeft(t, q, "eleme", FestivalDay, 0)
	mustTake(t, q, "eleme", FestivalDay, "e-3", false)
	// Raised: more.
	mustSetQuota(t, q, "eleme", FestivalDay, 5)
	mustLeft(t, q, "eleme", FestivalDay, 2)
	mustTake(t, q, "eleme", FestivalDay, "e-4", true)
	mustTake(t, q, "eleme", FestivalDay, "e-5", true)
	mustTake(t, q, "eleme", FestivalDay, "e-6", false)
	// Set to zero: none.
	mustSetQuota(t, q, "meituan", FestivalDay, 0)
	mustLeft(t, q, "meituan", FestivalDay, 0)
	mustTake(t, q, "meituan", FestivalDay, "m-1", false)
}

func testQuotaZeroDefault(t *testing.T, q orders.QuotaStore) {
	mustLeft(t, q, "eleme", FestivalDay, 0)
	mustTake(t, q, "eleme", FestivalDay, "e-1", false)
	mustSetQuota(t, q, "eleme", FestivalDay, 1)
	mustTake(t, q, "eleme", FestivalDay, "e-2", true)
	mustTake(t, q, "eleme", FestivalDay, "e-3", false)
}

func testQuotaUsed(t *testing.T, q orders.QuotaStore) {
	ctx := t.Context()
	d1, d2, d3 := FestivalDay, FestivalDay.AddDays(1), FestivalDay.AddDays(2)
	if used, err := q.FreeDeliveriesUsed(ctx, d1, d3); err != nil || len(used) != 0 {
		t.Fatalf("FreeDeliveriesUsed of an empty store = %+v, %v", used, err)
	}
	mustTake(t, q, "meituan", d1, "m-1", true)
	mustTake(t, q, "eleme", d1, "e-1", true)
	mustTake(t, q, "eleme", d1, "e-2", true)
	mustSetQuota(t, q, "jddj", d2, 7) // a quota, no take yet
	for i := range 4 {
		mustTake(t, q, "uu", d3, fmt.Sprintf("u-%d", i), i < 3)
	}
	mustTake(t, q, "eleme", d3.AddDays(1), "e-9", true) // outside the range
	used, err := q.FreeDeliveriesUsed(ctx, d1, d3)
	want := []orders.QuotaUse{
		{Platform: "eleme", Day: d1, Used: 2, Quota: 3},
		{Platform: "meituan", Day: d1, Used: 1, Quota: 3},
		{Platform: "jddj", Day: d2, Used: 0, Quota: 7},
		{Platform: "uu", Day: d3, Used: 3, Quota: 3},
	}
	if err != nil || !reflect.DeepEqual(used, want) {
		t.Fatalf("FreeDeliveriesUsed(%s, %s) = %+v, %v; want %+v", d1, d3, used, err, want)
	}
	used, err = q.FreeDeliveriesUsed(ctx, d2, d2)
	if err != nil || !reflect.DeepEqual(used, want[2:3]) {
		t.Fatalf("FreeDeliveriesUsed(%s, %s) = %+v, %v; want %+v", d2, d2, used, err, want[2:3])
	}
}

func testQuotaInvalid(t *testing.T, q orders.QuotaStore) {
	ctx := t.Context()
	for name, err := range map[string]error{
		"set without platform": q.SetFreeDeliveryQuota(ctx, "", FestivalDay, 1),
		"set on no day":        q.SetFreeDeliveryQuota(ctx, "eleme", orders.Day{}, 1),
		"set on 31 February":   q.SetFreeDeliveryQuota(ctx, "eleme", orders.Day{Year: 2020, Month: 2, Day: 31}, 1),
		"set negative":         q.SetFreeDeliveryQuota(ctx, "eleme", FestivalDay, -1),
		"set too many":         q.SetFreeDeliveryQuota(ctx, "eleme", FestivalDay, orders.MaxFreeDeliveryQuota+1),
		"left without platform": func() error {
			_, err := q.FreeDeliveryLeft(ctx, "", FestivalDay)
			return err
		}(),
		"take without key": func() error {
			_, err := q.TakeFreeDelivery(ctx, "eleme", FestivalDay, "")
			return err
		}(),
		"take on no day": func() error {
			_, err := q.TakeFreeDelivery(ctx, "eleme", orders.Day{}, "e-1")
			return err
		}(),
		"used backwards": func() error {
			_, err := q.FreeDeliveriesUsed(ctx, FestivalDay.AddDays(1), FestivalDay)
			return err
		}(),
	} {
		wantKind(t, name, err, orders.KindInvalid)
	}
	// Nothing of it was kept.
	mustLeft(t, q, "eleme", FestivalDay, 3)
	mustTake(t, q, "eleme", FestivalDay, "e-1", true)
}

// RaceTakes is how many orders testQuotaRace takes at once, and RaceQuota the quota they share.
const (
	RaceTakes = 1000
	RaceQuota = 100
)

// testQuotaRace takes RaceTakes orders at once, each sent twice, from a quota of RaceQuota: exactly
// RaceQuota orders are granted, and both sendings of an order get the same answer. Another
// platform's takes at the same time do not count against it.
func testQuotaRace(t *testing.T, q orders.QuotaStore) {
	mustSetQuota(t, q, "eleme", FestivalDay, RaceQuota)
	type answer struct {
		granted bool
		err     error
	}
	answers := make([][2]answer, RaceTakes)
	var wg sync.WaitGroup
	start := make(chan struct{})
	began := time.Now()
	for i := range RaceTakes {
		for send := range 2 {
			wg.Go(func() {
				<-start
				g, err := q.TakeFreeDelivery(t.Context(), "eleme", FestivalDay, fmt.Sprintf("e-%04d", i))
				answers[i][send] = answer{g, err}
			})
		}
		if i%10 == 0 {
			wg.Go(func() {
				<-start
				_, _ = q.TakeFreeDelivery(t.Context(), "meituan", FestivalDay, fmt.Sprintf("m-%04d", i))
			})
		}
	}
	close(start)
	wg.Wait()
	took := time.Since(began)
	granted := 0
	for i, a := range answers {
		for _, s := range a {
			if s.err != nil {
				t.Fatalf("take e-%04d: %v", i, s.err)
			}
		}
		if a[0].granted != a[1].granted {
			t.Fatalf("the two sendings of e-%04d got %v and %v", i, a[0].granted, a[1].granted)
		}
		if a[0].granted {
			granted++
		}
	}
	t.Logf("%d orders sent twice at once, quota %d: %d granted in %v", RaceTakes, RaceQuota, granted, took.Round(time.Millisecond))
	if granted != RaceQuota {
		t.Fatalf("%d orders granted a free delivery, want exactly the quota %d", granted, RaceQuota)
	}
	mustLeft(t, q, "eleme", FestivalDay, 0)
	// A third sending of every order changes nothing.
	for i := range RaceTakes {
		wg.Go(func() {
			g, err := q.TakeFreeDelivery(t.Context(), "eleme", FestivalDay, fmt.Sprintf("e-%04d", i))
			if err != nil || g != answers[i][0].granted {
				t.Errorf("third sending of e-%04d = %v, %v; want %v", i, g, err, answers[i][0].granted)
			}
		})
	}
	wg.Wait()
	used, err := q.FreeDeliveriesUsed(t.Context(), FestivalDay, FestivalDay)
	want := []orders.QuotaUse{
		{Platform: "eleme", Day: FestivalDay, Used: RaceQuota, Quota: RaceQuota},
		{Platform: "meituan", Day: FestivalDay, Used: 10, Quota: 10},
	}
	if err != nil || !reflect.DeepEqual(used, want) {
		t.Fatalf("FreeDeliveriesUsed = %+v, %v; want %+v", used, err, want)
	}
}

func mustUse(t *testing.T, q orders.QuotaStore, platform string, day orders.Day, used, quota int) {
	t.Helper()
	u, err := q.FreeDeliveryUse(t.Context(), platform, day)
	want := orders.QuotaUse{Platform: platform, Day: day, Used: used, Quota: quota}
	if err != nil || u != want {
		t.Fatalf("FreeDeliveryUse(%s, %s) = %+v, %v; want %+v", platform, day, u, err, want)
	}
}

// testQuotaTakeMany takes in batches: keys taken before keep their answer, a key named twice
// gets one, each platform's day is granted its quota in the order of the batch.
func testQuotaTakeMany(t *testing.T, q orders.QuotaStore) {
	next := FestivalDay.AddDays(1)
	mustUse(t, q, "eleme", FestivalDay, 0, 2)
	mustTake(t, q, "eleme", FestivalDay, "e-1", true)
	mustSetQuota(t, q, "meituan", FestivalDay, 1)
	takes := []orders.QuotaTake{
		{Platform: "eleme", Day: FestivalDay, OrderKey: "e-2"},
		{Platform: "eleme", Day: FestivalDay, OrderKey: "e-1"}, // taken before
		{Platform: "meituan", Day: FestivalDay, OrderKey: "m-1"},
		{Platform: "eleme", Day: FestivalDay, OrderKey: "e-3"},   // none left
		{Platform: "meituan", Day: FestivalDay, OrderKey: "m-1"}, // named twice
		{Platform: "meituan", Day: FestivalDay, OrderKey: "m-2"},
		{Platform: "eleme", Day: next, OrderKey: "e-4"},
	}
	want := []bool{true, true, true, false, true, false, true}
	for round := range 2 { // the second round is a resend of the whole batch
		got, err := q.TakeFreeDeliveries(t.Context(), takes)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: TakeFreeDeliveries = %v, %v; want %v", round, got, err, want)
		}
		mustUse(t, q, "eleme", FestivalDay, 2, 2)
		mustUse(t, q, "meituan", FestivalDay, 1, 1)
		mustUse(t, q, "eleme", next, 1, 2)
	}
	mustTake(t, q, "eleme", FestivalDay, "e-3", false)
	mustTake(t, q, "eleme", next, "e-4", true)
	if got, err := q.TakeFreeDeliveries(t.Context(), nil); err != nil || len(got) != 0 {
		t.Fatalf("TakeFreeDeliveries(nil) = %v, %v", got, err)
	}
	_, err := q.TakeFreeDeliveries(t.Context(), []orders.QuotaTake{{Platform: "eleme", Day: FestivalDay, OrderKey: "e-9"}, {Platform: "eleme", Day: FestivalDay}})
	if e, ok := errors.AsType[*orders.Error](err); !ok || e.Field != "order_key" || !strings.Contains(err.Error(), "takes[1]") {
		t.Fatalf("a take without a key: %v; want invalid order_key of takes[1]", err)
	}
	if _, err := q.FreeDeliveryUse(t.Context(), "", FestivalDay); !orders.IsKind(err, orders.KindInvalid) {
		t.Fatalf("FreeDeliveryUse without a platform: %v; want invalid", err)
	}
}

// testQuotaRaceMany takes in batches and one by one at once, each order sent twice: exactly
// the quota is granted and both sendings get one answer.
func testQuotaRaceMany(t *testing.T, q orders.QuotaStore) {
	const n, batch = 400, 20
	mustSetQuota(t, q, "eleme", FestivalDay, RaceQuota/10)
	key := func(i int) string { return fmt.Sprintf("e-%04d", i) }
	answers := make([][2]bool, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for lo := 0; lo < n; lo += batch {
		wg.Go(func() { // the batch, in reverse order
			<-start
			takes := make([]orders.QuotaTake, batch)
			for j := range batch {
				takes[j] = orders.QuotaTake{Platform: "eleme", Day: FestivalDay, OrderKey: key(lo + batch - 1 - j)}
			}
			got, err := q.TakeFreeDeliveries(t.Context(), takes)
			if err != nil {
				errs <- err
				return
			}
			for j, g := range got {
				answers[lo+batch-1-j][0] = g
			}
		})
		for i := lo; i < lo+batch; i++ {
			wg.Go(func() {
				<-start
				g, err := q.TakeFreeDelivery(t.Context(), "eleme", FestivalDay, key(i))
				if err != nil {
					errs <- err
				}
				answers[i][1] = g
			})
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	granted := 0
	for i, a := range answers {
		if a[0] != a[1] {
			t.Fatalf("the two sendings of %s got %v and %v", key(i), a[0], a[1])
		}
		if a[0] {
			granted++
		}
	}
	if granted != RaceQuota/10 {
		t.Fatalf("%d orders granted, want exactly the quota %d", granted, RaceQuota/10)
	}
	mustUse(t, q, "eleme", FestivalDay, RaceQuota/10, RaceQuota/10)
}
