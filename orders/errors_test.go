package orders_test

import (
	"errors"
	"fmt"
	"testing"

	"zhengxiang/orders"
)

func TestErrorMessages(t *testing.T) {
	cause := errors.New("connection refused")
	for _, tc := range []struct {
		name string
		err  error
		want string
		kind orders.Kind
	}{
		{"invalid", orders.Invalid("order.dropoff.lat", "%v is not a coordinate", "NaN"),
			"invalid order.dropoff.lat: NaN is not a coordinate", orders.KindInvalid},
		{"not found", orders.NotFound("order", "o-1"), `order "o-1" not found`, orders.KindNotFound},
		{"conflict", orders.Conflict("order %s is %s", "o-1", "DELIVERED"), "order o-1 is DELIVERED", orders.KindConflict},
		{"forbidden", orders.Forbidden("not your order"), "not your order", orders.KindForbidden},
		{"unavailable", orders.Unavailable("event stream closed"), "event stream closed", orders.KindUnavailable},
		{"with cause", &orders.Error{Kind: orders.KindUnavailable, Msg: "store database", Err: cause},
			"store database: connection refused", orders.KindUnavailable},
		{"cause only", &orders.Error{Kind: orders.KindUnavailable, Err: cause}, "unavailable: connection refused", orders.KindUnavailable},
		{"kind only", &orders.Error{Kind: orders.KindConflict}, "conflict", orders.KindConflict},
		{"wrapped", fmt.Errorf("assign order o-1: %w", orders.Forbidden("not your order")),
			"assign order o-1: not your order", orders.KindForbidden},
		{"joined", errors.Join(errors.New("first"), orders.NotFound("rider", "r-1")),
			"first\n" + `rider "r-1" not found`, orders.KindNotFound},
		{"plain", errors.New("boom"), "boom", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
			if got := orders.KindOf(tc.err); got != tc.kind {
				t.Errorf("KindOf = %v, want %v", got, tc.kind)
			}
			if tc.kind != 0 && !orders.IsKind(tc.err, tc.kind) {
				t.Errorf("IsKind(%v) = false", tc.kind)
			}
		})
	}
	if orders.KindOf(nil) != 0 || orders.IsKind(nil, 0) {
		t.Errorf("nil error has a kind")
	}
	if err := (&orders.Error{Kind: orders.KindUnavailable, Err: cause}); !errors.Is(err, cause) {
		t.Errorf("errors.Is does not reach the cause through Unwrap")
	}
}

func TestKindString(t *testing.T) {
	want := map[orders.Kind]string{orders.KindInvalid: "invalid", orders.KindNotFound: "not found",
		orders.KindConflict: "conflict", orders.KindForbidden: "forbidden", orders.KindUnavailable: "unavailable", 9: "Kind(9)"}
	for k, s := range want {
		if k.String() != s {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), k.String(), s)
		}
	}
}
