package orderstest

import (
	"math"
	"slices"
	"testing"
	"time"

	"zhengxiang/geo"
	"zhengxiang/orders"
)

// RunHealthContract runs the behaviour every store of riders' health cards and every finder of
// orders by drop-off must have (orders.HealthStore and orders.DropoffFinder) against fresh
// repositories made by newRepo, one per subtest, which must implement both.
func RunHealthContract(t *testing.T, newRepo func(t *testing.T) orders.Repository) {
	health := func(t *testing.T) orders.HealthStore {
		hs, ok := newRepo(t).(orders.HealthStore)
		if !ok {
			t.Fatal("the repository is not an orders.HealthStore")
		}
		return hs
	}
	t.Run("CardOfTheDay", func(t *testing.T) { testHealthCardOfTheDay(t, health(t)) })
	t.Run("CardReplaced", func(t *testing.T) { testHealthCardReplaced(t, health(t)) })
	t.Run("CardsOfADay", func(t *testing.T) { testHealthCardsOfADay(t, health(t)) })
	t.Run("CardInvalid", func(t *testing.T) { testHealthCardInvalid(t, health(t)) })
	t.Run("OrdersDroppedIn", func(t *testing.T) { testOrdersDroppedIn(t, newRepo(t)) })
}

// SampleHealthCard returns a valid card of the rider taken at: 36.5 °C and a green code.
func SampleHealthCard(riderID string, at time.Time) orders.HealthCard {
	return orders.HealthCard{RiderID: riderID, Day: orders.DayOf(at), TemperatureC: 36.5, Code: orders.HealthGreen, RecordedAt: at}
}

func mustPutCard(t *testing.T, hs orders.HealthStore, c orders.HealthCard) {
	t.Helper()
	if err := hs.PutHealthCard(t.Context(), c); err != nil {
		t.Fatalf("PutHealthCard(%+v): %v", c, err)
	}
}

func sameCard(a, b orders.HealthCard) bool {
	return a.RiderID == b.RiderID && a.Day == b.Day && a.TemperatureC == b.TemperatureC && a.Code == b.Code &&
		a.RecordedAt.Equal(b.RecordedAt)
}

func wantCard(t *testing.T, hs orders.HealthStore, riderID string, day orders.Day, want orders.HealthCard) {
	t.Helper()
	got, err := hs.HealthCard(t.Context(), riderID, day)
	if err != nil || !sameCard(got, want) {
		t.Fatalf("HealthCard(%s, %s) = %+v, %v; want %+v", riderID, day, got, err, want)
	}
}

func testHealthCardOfTheDay(t *testing.T, hs orders.HealthStore) {
	c := SampleHealthCard("rider-1", FestivalStart)
	mustPutCard(t, hs, c)
	wantCard(t, hs, "rider-1", FestivalDay, c)
	// A day is a day of China Standard Time: 23:30 on the 14th in UTC is the 15th in Zhengzhou.
	late := SampleHealthCard("rider-2", time.Date(2020, 3, 14, 23, 30, 0, 0, time.UTC))
	if late.Day != FestivalDay {
		t.Fatalf("DayOf(23:30 UTC on the 14th) = %s, want %s", late.Day, FestivalDay)
	}
	mustPutCard(t, hs, late)
	wantCard(t, hs, "rider-2", FestivalDay, late)
	for _, q := range []struct {
		rider string
		day   orders.Day
	}{{"rider-1", FestivalDay.AddDays(1)}, {"rider-3", FestivalDay}} {
		_, err := hs.HealthCard(t.Context(), q.rider, q.day)
		wantKind(t, "HealthCard of "+q.rider+" on "+q.day.String(), err, orders.KindNotFound)
	}
}

func testHealthCardReplaced(t *testing.T, hs orders.HealthStore) {
	first := SampleHealthCard("rider-1", FestivalStart)
	first.TemperatureC = 37.9
	second := SampleHealthCard("rider-1", FestivalStart.Add(time.Hour))
	second.TemperatureC = 36.6
	mustPutCard(t, hs, first)
	mustPutCard(t, hs, second)
	wantCard(t, hs, "rider-1", FestivalDay, second)
	// A card taken before the one kept (a retry that arrives late) does not replace it.
	retry := SampleHealthCard("rider-1", FestivalStart.Add(30*time.Minute))
	retry.Code = orders.HealthYellow
	mustPutCard(t, hs, retry)
	wantCard(t, hs, "rider-1", FestivalDay, second)
	hist, err := hs.HealthCardHistory(t.Context(), "rider-1", FestivalDay)
	if err != nil || len(hist) != 3 || !sameCard(hist[0], first) || !sameCard(hist[1], retry) || !sameCard(hist[2], second) {
		t.Fatalf("HealthCardHistory = %+v, %v; want the three cards oldest first", hist, err)
	}
	if hist, err := hs.HealthCardHistory(t.Context(), "rider-2", FestivalDay); err != nil || len(hist) != 0 {
		t.Fatalf("HealthCardHistory of a rider without cards = %+v, %v; want none", hist, err)
	}
}

func testHealthCardsOfADay(t *testing.T, hs orders.HealthStore) {
	for _, id := range []string{"rider-c", "rider-a", "rider-b"} {
		mustPutCard(t, hs, SampleHealthCard(id, FestivalStart))
	}
	next := SampleHealthCard("rider-a", FestivalStart.Add(24*time.Hour))
	mustPutCard(t, hs, next)
	cards, err := hs.HealthCards(t.Context(), FestivalDay)
	if err != nil || len(cards) != 3 {
		t.Fatalf("HealthCards(%s) = %+v, %v; want three", FestivalDay, cards, err)
	}
	for i, id := range []string{"rider-a", "rider-b", "rider-c"} {
		if !sameCard(cards[i], SampleHealthCard(id, FestivalStart)) {
			t.Errorf("HealthCards[%d] = %+v, want %s's card", i, cards[i], id)
		}
	}
	if cards, err := hs.HealthCards(t.Context(), FestivalDay.AddDays(1)); err != nil || len(cards) != 1 || !sameCard(cards[0], next) {
		t.Fatalf("HealthCards of the next day = %+v, %v; want rider-a's", cards, err)
	}
	if cards, err := hs.HealthCards(t.Context(), FestivalDay.AddDays(2)); err != nil || len(cards) != 0 {
		t.Fatalf("HealthCards of a day without cards = %+v, %v; want none", cards, err)
	}

	// Since a time: the cards recorded then or later; a card replaced later counts as later.
	later := SampleHealthCard("rider-b", FestivalStart.Add(2*time.Hour))
	mustPutCard(t, hs, later)
	mustPutCard(t, hs, SampleHealthCard("rider-d", FestivalStart.Add(time.Hour)))
	cards, err = hs.HealthCardsSince(t.Context(), FestivalDay, FestivalStart.Add(time.Hour))
	if err != nil || len(cards) != 2 || !sameCard(cards[0], later) || !sameCard(cards[1], SampleHealthCard("rider-d", FestivalStart.Add(time.Hour))) {
		t.Fatalf("HealthCardsSince(%s, an hour in) = %+v, %v; want rider-b's later card and rider-d's", FestivalDay, cards, err)
	}
	if cards, err := hs.HealthCardsSince(t.Context(), FestivalDay, FestivalStart.Add(3*time.Hour)); err != nil || len(cards) != 0 {
		t.Fatalf("HealthCardsSince after the last card = %+v, %v; want none", cards, err)
	}
	if cards, err := hs.HealthCardsSince(t.Context(), FestivalDay.AddDays(1), time.Time{}); err != nil || len(cards) != 1 || !sameCard(cards[0], next) {
		t.Fatalf("HealthCardsSince of the next day from the start = %+v, %v; want rider-a's", cards, err)
	}
}

func testHealthCardInvalid(t *testing.T, hs orders.HealthStore) {
	for _, c := range []struct {
		name string
		edit func(c *orders.HealthCard)
	}{
		{"no rider", func(c *orders.HealthCard) { c.RiderID = "" }},
		{"too cold", func(c *orders.HealthCard) { c.TemperatureC = 33.9 }},
		{"too hot", func(c *orders.HealthCard) { c.TemperatureC = 42.1 }},
		{"not a number", func(c *orders.HealthCard) { c.TemperatureC = math.NaN() }},
		{"no code", func(c *orders.HealthCard) { c.Code = "" }},
		{"unknown code", func(c *orders.HealthCard) { c.Code = "BLUE" }},
		{"no time", func(c *orders.HealthCard) { c.RecordedAt = time.Time{} }},
		{"another day", func(c *orders.HealthCard) { c.Day = c.Day.AddDays(-1) }},
	} {
		card := SampleHealthCard("rider-1", FestivalStart)
		c.edit(&card)
		wantKind(t, c.name, hs.PutHealthCard(t.Context(), card), orders.KindInvalid)
	}
	_, err := hs.HealthCard(t.Context(), "rider-1", FestivalDay)
	wantKind(t, "HealthCard after invalid cards", err, orders.KindNotFound)
	// The bounds are plausible temperatures.
	for _, temp := range []float64{orders.MinTemperatureC, orders.MaxTemperatureC} {
		card := SampleHealthCard("rider-1", FestivalStart)
		card.TemperatureC = temp
		mustPutCard(t, hs, card)
	}
}

// testOrdersDroppedIn stores orders delivered inside and outside a box, and before, during and
// after a window, and checks which ones OrdersDroppedIn finds.
func testOrdersDroppedIn(t *testing.T, repo orders.Repository) {
	df, ok := repo.(orders.DropoffFinder)
	if !ok {
		t.Fatal("the repository is not an orders.DropoffFinder")
	}
	ctx := t.Context()
	in := geo.Point{Lat: 34.7570, Lng: 113.6400}
	out := geo.Point{Lat: 34.7700, Lng: 113.6400}
	sw, ne := geo.Point{Lat: 34.7560, Lng: 113.6390}, geo.Point{Lat: 34.7580, Lng: 113.6410}
	from, to := FestivalStart.Add(2*time.Hour), FestivalStart.Add(3*time.Hour)
	add := func(id string, at geo.Point, placed time.Time, ended bool) {
		o := SampleOrder(id)
		o.Dropoff, o.PlacedAt, o.ReadyAt, o.PromiseAt = at, placed, placed.Add(10*time.Minute), placed.Add(time.Hour)
		mustCreate(t, repo, o)
		if ended {
			mustUpdate(t, repo, id, func(o *orders.Order) (orders.Event, error) {
				return o.Cancel(placed.Add(20*time.Minute), "consumer", "changed their mind")
			})
		}
	}
	add("o-during", in, from.Add(10*time.Minute), true)
	add("o-before-open", in, from.Add(-90*time.Minute), false)             // placed before, still going
	add("o-before-ended", in, from.Add(-90*time.Minute), true)             // ended before the window
	add("o-across", in, from.Add(-10*time.Minute), true)                   // ends within it
	add("o-after", in, to.Add(time.Minute), false)                         // placed after
	add("o-elsewhere", out, from.Add(10*time.Minute), false)               // another place
	add("o-long-ago", in, from.Add(-orders.MaxOrderLife-time.Hour), false) // beyond MaxOrderLife
	add("o-edge", geo.Point{Lat: ne.Lat, Lng: sw.Lng}, to, false)          // on the box's edge, at the window's end
	got, err := df.OrdersDroppedIn(ctx, sw, ne, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range got {
		ids = append(ids, o.ID)
	}
	want := []string{"o-before-open", "o-across", "o-during", "o-edge"}
	if !slices.Equal(ids, want) {
		t.Errorf("OrdersDroppedIn = %v, want %v (by placement)", ids, want)
	}
	if len(got) > 0 && (got[0].Dropoff != in || got[0].TrackingSecret == "") {
		t.Errorf("OrdersDroppedIn returned %+v, want the whole order", got[0])
	}
	for _, c := range []struct {
		name     string
		sw, ne   geo.Point
		from, to time.Time
	}{
		{"a box upside down", ne, sw, from, to},
		{"a window backwards", sw, ne, to, from},
		{"no window", sw, ne, time.Time{}, time.Time{}},
	} {
		_, err := df.OrdersDroppedIn(ctx, c.sw, c.ne, c.from, c.to)
		wantKind(t, c.name, err, orders.KindInvalid)
	}
}
