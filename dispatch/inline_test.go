package dispatch

import (
	"slices"
	"testing"
	"unsafe"

	"zhengxiang/orders"
)

// TestNewTripHoldsItsOrders: a trip of up to tripInline orders holds them
// and their drop-off times in itself, apart from the slice it was made
// from; a longer one gets slices of its own size.
func TestNewTripHoldsItsOrders(t *testing.T) {
	os := make([]*orderState, tripInline+1)
	for i := range os {
		os[i] = &orderState{id: string(rune('a' + i))}
	}
	inside := func(tr *trip, p unsafe.Pointer) bool {
		lo := uintptr(unsafe.Pointer(tr))
		return uintptr(p) >= lo && uintptr(p) < lo+unsafe.Sizeof(*tr)
	}
	for n := 1; n <= len(os); n++ {
		in := append([]*orderState(nil), os[:n]...)
		tr := newTrip(in)
		if len(tr.orders) != n || len(tr.drops) != n {
			t.Fatalf("%d orders: a trip of %d orders and %d drops", n, len(tr.orders), len(tr.drops))
		}
		for i := range n {
			if tr.orders[i] != os[i] {
				t.Fatalf("%d orders: order %d is %s", n, i, tr.orders[i].id)
			}
		}
		held := inside(tr, unsafe.Pointer(unsafe.SliceData(tr.orders))) && inside(tr, unsafe.Pointer(unsafe.SliceData(tr.drops)))
		if held != (n <= tripInline) {
			t.Errorf("%d orders: held in the trip %v, want %v", n, held, n <= tripInline)
		}
		if n <= tripInline {
			in[0] = nil
			if tr.orders[0] != os[0] {
				t.Errorf("%d orders: the trip shares the slice it was made from", n)
			}
		}
	}
}

// TestSetSKUs: an order keeps each of its products once, in its state
// itself when there are no more than it holds.
func TestSetSKUs(t *testing.T) {
	for _, c := range []struct {
		items []string
		want  []string
	}{
		{[]string{"a"}, []string{"a"}},
		{[]string{"a", "b", "a"}, []string{"a", "b"}},
		{[]string{"a", "b", "c", "b"}, []string{"a", "b", "c"}},
		{[]string{"a", "b", "c", "d"}, []string{"a", "b", "c", "d"}},
	} {
		var o orders.Order
		for _, sku := range c.items {
			o.Items = append(o.Items, orders.Item{SKU: sku, Qty: 1})
		}
		s := &orderState{}
		s.setSKUs(o)
		if !slices.Equal(s.skus, c.want) {
			t.Errorf("%v: skus %v, want %v", c.items, s.skus, c.want)
		}
		held := unsafe.SliceData(s.skus) == &s.inSKUs[0]
		if held != (len(c.want) <= len(s.inSKUs)) {
			t.Errorf("%v: held in the order's state %v, want %v", c.items, held, len(c.want) <= len(s.inSKUs))
		}
	}
}
