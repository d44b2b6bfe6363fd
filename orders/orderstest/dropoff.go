package orderstest

import (
	"testing"

	"zhengxiang/orders"
)

// deliverWith is deliver with the drop-off d as its last step.
func deliverWith(d orders.Dropoff) func(o *orders.Order) ([]orders.Event, error) {
	return func(o *orders.Order) ([]orders.Event, error) {
		var evs []orders.Event
		for _, step := range deliverSteps[:len(deliverSteps)-1] {
			ev, err := step(o)
			if err != nil {
				return nil, err
			}
			evs = append(evs, ev)
		}
		ev, err := o.DeliverWith(deliveredAt, "rider-1", d)
		if err != nil {
			return nil, err
		}
		return append(evs, ev), nil
	}
}

// testDropoffProof checks that an order keeps the proof of its contactless drop-off (the
// locker's code, the photo's reference) through UpdateOrder, UpdateOrders and reads.
func testDropoffProof(t *testing.T, repo orders.Repository) {
	proof := orders.Dropoff{Handover: orders.HandoverLocker, Code: "A-17 4821", PhotoRef: "photos/o-1.jpg"}
	for _, batch := range []bool{false, true} {
		id := "o-1"
		if batch {
			id = "o-2"
		}
		o := SampleOrder(id)
		o.DropoffMethod = orders.HandoverLocker
		mustCreate(t, repo, o)
		steps := deliverWith(proof)
		if batch {
			bu, ok := repo.(orders.BatchUpdater)
			if !ok {
				continue
			}
			errs, err := bu.UpdateOrders(t.Context(), []string{id}, steps)
			if err != nil || errs[0] != nil {
				t.Fatalf("UpdateOrders: %v %v", err, errs)
			}
		} else if _, err := repo.UpdateOrder(t.Context(), id, steps); err != nil {
			t.Fatalf("UpdateOrder: %v", err)
		}
		got, err := repo.GetOrder(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Handover != proof.Handover || got.DropoffCode != proof.Code || got.PhotoRef != proof.PhotoRef {
			t.Errorf("%s after a locker drop-off: %s %q %q, want %s %q %q", id, got.Handover, got.DropoffCode, got.PhotoRef,
				proof.Handover, proof.Code, proof.PhotoRef)
		}
		list, err := repo.ListOrders(t.Context(), orders.OrderFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list {
			if o.ID == id && (o.DropoffCode != proof.Code || o.PhotoRef != proof.PhotoRef) {
				t.Errorf("ListOrders: %s has %q %q", id, o.DropoffCode, o.PhotoRef)
			}
		}
	}
}
