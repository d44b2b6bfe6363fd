package memory

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"zhengxiang/orders"
)

var _ orders.QuotaStore = (*Quota)(nil)

// Quota is an orders.QuotaStore in memory. One mutex guards it, which makes every take atomic.
type Quota struct {
	def int

	mu     sync.Mutex
	days   map[quotaDay]*dayQuota
	grants map[grantKey]bool // the answer each key got
}

type quotaDay struct {
	platform string
	day      orders.Day
}

// dayQuota is a platform's day: the free deliveries granted, and its own quota when it was
// given one.
type dayQuota struct {
	used  int
	quota int
	own   bool
}

type grantKey struct{ platform, key string }

// NewQuota returns an empty QuotaStore whose platforms have defaultPerDay free deliveries a day
// unless SetFreeDeliveryQuota gives them another number. A defaultPerDay out of 0 to
// orders.MaxFreeDeliveryQuota is KindInvalid.
func NewQuota(defaultPerDay int) (*Quota, error) {
	if defaultPerDay < 0 || defaultPerDay > orders.MaxFreeDeliveryQuota {
		return nil, orders.Invalid("default_quota", "%d is not between 0 and %d", defaultPerDay, orders.MaxFreeDeliveryQuota)
	}
	return &Quota{def: defaultPerDay, days: make(map[quotaDay]*dayQuota), grants: make(map[grantKey]bool)}, nil
}

// quotaOf returns the day's quota; q.mu is held.
func (q *Quota) quotaOf(d *dayQuota) int {
	if d == nil || !d.own {
		return q.def
	}
	return d.quota
}

// dayLocked returns the platform's day, made when missing; q.mu is held.
func (q *Quota) dayLocked(platform string, day orders.Day) *dayQuota {
	k := quotaDay{platform, day}
	d := q.days[k]
	if d == nil {
		d = &dayQuota{}
		q.days[k] = d
	}
	return d
}

// SetFreeDeliveryQuota sets the platform's quota of the day.
func (q *Quota) SetFreeDeliveryQuota(ctx context.Context, platform string, day orders.Day, n int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := orders.CheckQuota(platform, day, n); err != nil {
		return err
	}
	q.mu.Lock()
	d := q.dayLocked(platform, day)
	d.quota, d.own = n, true
	q.mu.Unlock()
	return nil
}

// FreeDeliveryLeft returns the platform's free deliveries left on the day.
func (q *Quota) FreeDeliveryLeft(ctx context.Context, platform string, day orders.Day) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := orders.CheckQuotaDay(platform, day); err != nil {
		return 0, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	d := q.days[quotaDay{platform, day}]
	used := 0
	if d != nil {
		used = d.used
	}
	return max(q.quotaOf(d)-used, 0), nil
}

// TakeFreeDelivery grants the order a free delivery when one is left, once per key.
func (q *Quota) TakeFreeDelivery(ctx context.Context, platform string, day orders.Day, orderKey string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := orders.CheckTake(platform, day, orderKey); err != nil {
		return false, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.takeLocked(orders.QuotaTake{Platform: platform, Day: day, OrderKey: orderKey}), nil
}

// TakeFreeDeliveries takes as TakeFreeDelivery for each of takes, under one lock.
func (q *Quota) TakeFreeDeliveries(ctx context.Context, takes []orders.QuotaTake) ([]bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := orders.CheckTakes(takes); err != nil {
		return nil, err
	}
	granted := make([]bool, len(takes))
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, tk := range takes {
		granted[i] = q.takeLocked(tk)
	}
	return granted, nil
}

// takeLocked takes a free delivery for tk once per key; q.mu is held.
func (q *Quota) takeLocked(tk orders.QuotaTake) bool {
	k := grantKey{tk.Platform, tk.OrderKey}
	if granted, ok := q.grants[k]; ok {
		return granted
	}
	d := q.dayLocked(tk.Platform, tk.Day)
	granted := d.used < q.quotaOf(d)
	if granted {
		d.used++
	}
	q.grants[k] = granted
	return granted
}

// FreeDeliveryUse returns the platform's quota of the day and the free deliveries granted.
func (q *Quota) FreeDeliveryUse(ctx context.Context, platform string, day orders.Day) (orders.QuotaUse, error) {
	if err := ctx.Err(); err != nil {
		return orders.QuotaUse{}, err
	}
	if err := orders.CheckQuotaDay(platform, day); err != nil {
		return orders.QuotaUse{}, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	u := orders.QuotaUse{Platform: platform, Day: day, Quota: q.def}
	if d := q.days[quotaDay{platform, day}]; d != nil {
		u.Used, u.Quota = d.used, q.quotaOf(d)
	}
	return u, nil
}

// FreeDeliveriesUsed returns the use of the quotas on the days from from to to.
func (q *Quota) FreeDeliveriesUsed(ctx context.Context, from, to orders.Day) ([]orders.QuotaUse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := orders.CheckDays(from, to); err != nil {
		return nil, err
	}
	var out []orders.QuotaUse
	q.mu.Lock()
	for k, d := range q.days {
		if k.day.Compare(from) >= 0 && k.day.Compare(to) <= 0 {
			out = append(out, orders.QuotaUse{Platform: k.platform, Day: k.day, Used: d.used, Quota: q.quotaOf(d)})
		}
	}
	q.mu.Unlock()
	slices.SortFunc(out, func(a, b orders.QuotaUse) int {
		return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.Platform, b.Platform))
	})
	return out, nil
}
