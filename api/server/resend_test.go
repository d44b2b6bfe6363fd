package server_test

import (
	"net/http"
	"testing"
)

// TestLockerOrderResentWhenFull resends a locker order after its locker filled, and again after
// it closed: the platform gets the stored order back, not the full locker's 409 nor the closed
// site's 400, while a new order to the locker and a resend whose body differs are refused.
func TestLockerOrderResentWhenFull(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newSiteEnv(t, backend)
			e.register("L1", "丰巢 东门柜", eastGate, 1)
			r1 := e.rider("R1")
			a := e.mustCreate("mt-a", "HANDOVER_LOCKER", "L1")
			trip, _ := e.offer(r1, "R1")
			e.Must(r1, "POST", "/v1/riders/R1/trips/"+trip+":accept", map[string]any{})
			if n := e.freeSlots("L1"); n != 0 {
				t.Fatalf("after the acceptance %d slots are free, want 0", n)
			}

			resend := func(when string) {
				t.Helper()
				r := e.create("mt-a", "HANDOVER_LOCKER", "L1")
				if r.Status != http.StatusOK {
					t.Fatalf("the resend %s: %d %s, want the stored order", when, r.Status, r.Body)
				}
				if got := r.JSON(t); str(got, "order", "id") != str(a, "id") || get(got, "created") == true ||
					str(got, "order", "dropoff_site_id") != "L1" {
					t.Fatalf("the resend %s answered %v, want order %s not created again", when, got, str(a, "id"))
				}
			}
			resend("after the locker filled")
			if n := e.freeSlots("L1"); n != 0 {
				t.Fatalf("after the resend %d slots are free, want 0", n)
			}
			wantStatus(t, "a new order to the full locker", e.create("mt-b", "HANDOVER_LOCKER", "L1"), http.StatusConflict, "full")
			e.register("L2", "丰巢 西门柜", westGate, 2)
			wantStatus(t, "a resend to another locker", e.create("mt-a", "HANDOVER_LOCKER", "L2"), http.StatusConflict, "different content")

			e.Must(e.operator, "POST", "/v1/drop-sites/L1:close", map[string]any{})
			resend("after the locker closed")
			wantStatus(t, "a new order to the closed locker", e.create("mt-c", "HANDOVER_LOCKER", "L1"), http.StatusBadRequest, "closed")
		})
	}
}
