package orders

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"time"
)

// CST is China Standard Time (UTC+8, no daylight saving), in which the festival's days are
// counted: a free-delivery quota is per day of CST.
var CST = time.FixedZone("CST", 8*60*60)

// Day is a calendar day, without a time or a zone, as the festival counts its days (see DayOf).
// The zero Day is not valid.
type Day struct {
	Year  int
	Month time.Month
	Day   int
}

// DayOf returns the day of China Standard Time that t falls on.
func DayOf(t time.Time) Day {
	y, m, d := t.In(CST).Date()
	return Day{Year: y, Month: m, Day: d}
}

// ParseDay reads a day written as 2006-01-02.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Day{}, Invalid("day", "%q is not a day written as 2006-01-02", s)
	}
	return Day{Year: t.Year(), Month: t.Month(), Day: t.Day()}, nil
}

// String returns the day as 2006-01-02.
func (d Day) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// Valid reports whether d is a day of the calendar between the years 1 and 9999.
func (d Day) Valid() bool {
	if d.Year < 1 || d.Year > 9999 {
		return false
	}
	y, m, dd := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Date()
	return y == d.Year && m == d.Month && dd == d.Day
}

// Start returns the first instant of the day in China Standard Time.
func (d Day) Start() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, CST) }

// AddDays returns the day n days after d (before it when n is negative).
func (d Day) AddDays(n int) Day {
	return DayOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, CST))
}

// Compare returns -1, 0 or +1 as d is before, the same as or after e.
func (d Day) Compare(e Day) int {
	return cmp.Or(cmp.Compare(d.Year, e.Year), cmp.Compare(d.Month, e.Month), cmp.Compare(d.Day, e.Day))
}

// MaxFreeDeliveryQuota is the largest daily quota of a platform.
const MaxFreeDeliveryQuota = math.MaxInt32

// QuotaUse is one platform's use of its free-delivery quota on one day, for the bureau's
// figures: Used free deliveries granted out of Quota.
type QuotaUse struct {
	Platform string
	Day      Day
	Used     int
	Quota    int
}

// QuotaStore keeps each platform's daily quota of free-delivery orders in the 郑享百味 (Flavours)
// section and the grants taken from it. A platform without a quota of its own for a day has the
// store's default (configured when the store is made); SetFreeDeliveryQuota gives it one. Every
// implementation (the in-memory one in orders/memory, the database one) passes
// orderstest.RunQuotaContract.
//
// A grant is taken by an order's key, so that a platform's resend of an order gets the answer
// its first sending got, whatever the day and the quota are by then, and takes nothing more. The
// answer, free or not, is kept for every key taken; the bureau counts the free ones.
type QuotaStore interface {
	// SetFreeDeliveryQuota sets the platform's quota of the day to n (0 to
	// MaxFreeDeliveryQuota). A quota lowered below what is already used grants nothing more
	// that day; nothing granted is taken back.
	SetFreeDeliveryQuota(ctx context.Context, platform string, day Day, n int) error
	// FreeDeliveryLeft returns how many free deliveries the platform has left on the day: its
	// quota less those granted, never below 0.
	FreeDeliveryLeft(ctx context.Context, platform string, day Day) (int, error)
	// TakeFreeDelivery grants the order with key orderKey (the platform's own id of the order)
	// a free delivery from the platform's quota of the day, when one is left, atomically:
	// however many orders take at once, no more than the quota are granted. A key already
	// taken gets the answer it got the first time, and takes nothing.
	TakeFreeDelivery(ctx context.Context, platform string, day Day, orderKey string) (granted bool, err error)
	// TakeFreeDeliveries takes as TakeFreeDelivery does for each of takes, in one step:
	// granted[i] is the answer of takes[i]. A key named twice gets one answer.
	TakeFreeDeliveries(ctx context.Context, takes []QuotaTake) (granted []bool, err error)
	// FreeDeliveryUse returns the platform's quota of the day and the free deliveries granted.
	FreeDeliveryUse(ctx context.Context, platform string, day Day) (QuotaUse, error)
	// FreeDeliveriesUsed returns, for each platform and each day from from to to (both
	// included) on which the platform took a free delivery, was refused one or was given a
	// quota, the grants and the quota, ordered by day and then platform.
	FreeDeliveriesUsed(ctx context.Context, from, to Day) ([]QuotaUse, error)
}

// QuotaTake is an order's take of a free delivery: the platform's quota of the day, and the
// order's key (the platform's own id of the order).
type QuotaTake struct {
	Platform string
	Day      Day
	OrderKey string
}

// CheckTakes checks the takes of TakeFreeDeliveries. Every QuotaStore applies it.
func CheckTakes(takes []QuotaTake) error {
	for i, tk := range takes {
		if err := CheckTake(tk.Platform, tk.Day, tk.OrderKey); err != nil {
			return fmt.Errorf("takes[%d]: %w", i, err)
		}
	}
	return nil
}

// FreeAsk is an order's ask for a free delivery of 郑享百味 (Flavours).
type FreeAsk struct {
	Order Order     // the order, complete but for the free delivery
	Store Store     // its store
	Fee   *int64    // the delivery fee the order names; nil: left out
	At    time.Time // when it is asked: the quota is the one of its day
}

// FreeDeliveries decides which of asks are delivered free, taking their free deliveries from q
// (nil: none to give) in one TakeFreeDeliveries. An order of a Flavours store, not suspended,
// whose fee is left out or 0 takes one from its platform's quota of the day of At, by its key
// (its platform's id of it), once: a resend gets the first answer. free[i] is asks[i]'s answer;
// errs[i] is the order's own error when it is invalid, when it takes one (an invalid order takes
// none), or KindConflict when it named a fee of 0 and got none. Other orders take nothing and
// cost no call to q.
func FreeDeliveries(ctx context.Context, q QuotaStore, asks []FreeAsk) (free []bool, errs []error) {
	free, errs = make([]bool, len(asks)), make([]error, len(asks))
	var takes []QuotaTake
	var at []int
	for i, a := range asks {
		if a.Store.Section != SectionFlavours || a.Store.Suspended || (a.Fee != nil && *a.Fee != 0) {
			continue
		}
		if errs[i] = a.Order.Validate(); errs[i] == nil {
			takes = append(takes, QuotaTake{Platform: a.Order.Platform, Day: DayOf(a.At), OrderKey: a.Order.PlatformOrderID})
			at = append(at, i)
		}
	}
	if len(takes) == 0 {
		return free, errs
	}
	granted := make([]bool, len(takes))
	if q != nil {
		var err error
		if granted, err = q.TakeFreeDeliveries(ctx, takes); err != nil {
			for _, i := range at {
				errs[i] = err
			}
			return free, errs
		}
	}
	for k, i := range at {
		free[i] = granted[k]
		if !granted[k] && asks[i].Fee != nil {
			errs[i] = Conflict("no free delivery left today")
		}
	}
	return free, errs
}

// CheckQuota checks the arguments of SetFreeDeliveryQuota. Every QuotaStore applies it.
func CheckQuota(platform string, day Day, n int) error {
	if err := CheckQuotaDay(platform, day); err != nil {
		return err
	}
	if n < 0 || n > MaxFreeDeliveryQuota {
		return Invalid("quota", "%d is not between 0 and %d", n, MaxFreeDeliveryQuota)
	}
	return nil
}

// CheckQuotaDay checks a platform and a day given to a QuotaStore. Every QuotaStore applies it.
func CheckQuotaDay(platform string, day Day) error {
	if platform == "" {
		return Invalid("platform", "required")
	}
	if !day.Valid() {
		return Invalid("day", "%s is not a day", day)
	}
	return nil
}

// CheckTake checks the arguments of TakeFreeDelivery. Every QuotaStore applies it.
func CheckTake(platform string, day Day, orderKey string) error {
	if err := CheckQuotaDay(platform, day); err != nil {
		return err
	}
	if orderKey == "" {
		return Invalid("order_key", "required")
	}
	return nil
}

// CheckDays checks the range of days of FreeDeliveriesUsed. Every QuotaStore applies it.
func CheckDays(from, to Day) error {
	switch {
	case !from.Valid():
		return Invalid("from", "%s is not a day", from)
	case !to.Valid():
		return Invalid("to", "%s is not a day", to)
	case from.Compare(to) > 0:
		return Invalid("from", "%s is after %s", from, to)
	}
	return nil
}
