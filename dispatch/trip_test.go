package dispatch

import (
	"testing"
	"unsafe"
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
