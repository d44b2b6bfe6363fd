package dispatch

import (
	"slices"
	"sync"

	"zhengxiang/geo"
	"zhengxiang/orders"
)

// Reach tells where stores deliver, by the service class of their section:
// a store of the 1-hour circle (郑享特惠, 郑享百味) delivers within its
// circle, the cells of the service area whose promise from the store fits
// within PromiseCap; a 郑享制造 factory outlet, whose goods go the same day
// by same-city logistics, delivers to any point of the service area. The
// quote, CreateOrder and the Kafka intake all ask it. It is safe for
// concurrent use.
type Reach struct {
	area    *geo.Area
	travel  geo.Travel
	circles *geo.Coverage // the 1-hour circle of every store known

	mu     sync.RWMutex
	stores map[string]orders.Store // as their circles were made
	made   []string                // the factory outlets, sorted
}

// NewReach returns a Reach over the service area under the travel model t,
// knowing the stores of list.
func NewReach(area *geo.Area, t geo.Travel, list []orders.Store) *Reach {
	r := &Reach{area: area, travel: t, circles: geo.NewCoverage(), stores: map[string]orders.Store{}}
	for _, st := range list {
		r.add(st)
	}
	return r
}

// add makes known st, or its new position, preparation or section.
func (r *Reach) add(st orders.Store) {
	r.mu.RLock()
	old, ok := r.stores[st.ID]
	r.mu.RUnlock()
	if ok && old.Point == st.Point && old.PrepMinutes == st.PrepMinutes && old.Section == st.Section {
		return
	}
	c := geo.CircleOf(st.ID, st.Point, st.PrepMinutes, PromiseCap.Minutes(), r.travel, r.area)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.circles.Add(c)
	r.stores[st.ID] = st
	i, found := slices.BinarySearch(r.made, st.ID)
	switch {
	case st.Section == orders.SectionMade && !found:
		r.made = slices.Insert(r.made, i, st.ID)
	case st.Section != orders.SectionMade && found:
		r.made = slices.Delete(r.made, i, i+1)
	}
}

// Serves tells whether st delivers to p. A store not known yet is known
// from then on.
func (r *Reach) Serves(st orders.Store, p geo.Point) bool {
	r.add(st)
	if st.Section == orders.SectionMade {
		return r.area.Contains(p)
	}
	return r.circles.Covers(st.ID, p)
}

// Check refuses an order of st whose drop-off (the gate of its drop site,
// when it chose one) st does not deliver to, naming dropoff_site_id for a
// drop site's gate and dropoff otherwise.
func (r *Reach) Check(st orders.Store, o orders.Order) error {
	if r.Serves(st, o.Dropoff) {
		return nil
	}
	field := "dropoff"
	if o.DropoffSiteID != "" {
		field = "dropoff_site_id"
	}
	if st.Section == orders.SectionMade {
		return orders.Invalid(field, "outside the service area of factory outlet %s", st.ID)
	}
	return orders.Invalid(field, "outside the 1-hour circle of store %s", st.ID)
}

// Stores returns, sorted by id, the stores known that deliver to p.
func (r *Reach) Stores(p geo.Point) []orders.Store {
	ids := r.circles.Stores(p)
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids = slices.DeleteFunc(ids, func(id string) bool { return r.stores[id].Section == orders.SectionMade })
	if len(r.made) > 0 && r.area.Contains(p) {
		ids = append(ids, r.made...)
		slices.Sort(ids)
	}
	out := make([]orders.Store, len(ids))
	for i, id := range ids {
		out[i] = r.stores[id]
	}
	return out
}

// Circle returns the 1-hour circle of a store known (a 郑享制造 factory
// outlet delivers beyond it, to the whole service area).
func (r *Reach) Circle(storeID string) (geo.Circle, bool) {
	return r.circles.Circle(storeID)
}
