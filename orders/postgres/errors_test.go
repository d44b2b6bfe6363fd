package postgres

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"zhengxiang/orders"
	"zhengxiang/orders/orderstest"
)

func TestTranslate(t *testing.T) {
	pg := func(code string) error {
		return fmt.Errorf("batch: %w", &pgconn.PgError{Severity: "ERROR", Code: code, Message: "boom"})
	}
	for _, tc := range []struct {
		name string
		err  error
		kind orders.Kind
	}{
		{"unique violation", pg("23505"), orders.KindConflict},
		{"serialization failure", pg("40001"), orders.KindConflict},
		{"deadlock", pg("40P01"), orders.KindConflict},
		{"foreign key violation", pg("23503"), orders.KindNotFound},
		{"check violation", pg("23514"), orders.KindInvalid},
		{"NUL byte in a text", pg("22021"), orders.KindInvalid},
		{"connection failure", pg("08006"), orders.KindUnavailable},
		{"too many connections", pg("53300"), orders.KindUnavailable},
		{"shutting down", pg("57P01"), orders.KindUnavailable},
		{"statement timeout", pg("57014"), orders.KindUnavailable},
		{"undefined table", pg("42P01"), 0},
		{"no rows", pgx.ErrNoRows, orders.KindNotFound},
		{"connection refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), orders.KindUnavailable},
		{"closed pool", puddle.ErrClosedPool, orders.KindUnavailable},
		{"domain error", orders.Forbidden("no"), orders.KindForbidden},
		{"unexpected", errors.New("something else"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := translate(tc.err, "get order %s", "o-1")
			if got := orders.KindOf(err); got != tc.kind {
				t.Errorf("kind of %v = %v, want %v", err, got, tc.kind)
			}
			if !strings.HasPrefix(err.Error(), "get order o-1") {
				t.Errorf("message %q does not say what was being done", err)
			}
			if _, ok := errors.AsType[*pgconn.PgError](err); ok {
				t.Errorf("%v exposes a *pgconn.PgError", err)
			}
		})
	}
	if err := translate(fmt.Errorf("query: %w", context.Canceled), "get order"); !errors.Is(err, context.Canceled) {
		t.Errorf("translate of a cancellation = %v, want context.Canceled", err)
	}
	if err := translate(nil, "get order"); err != nil {
		t.Errorf("translate(nil) = %v", err)
	}
}

// TestColumns checks that the column lists and the values written for them agree.
func TestColumns(t *testing.T) {
	o, ev := orderstest.MustNewOrder(t, orderstest.SampleOrder("o-1"))
	for _, tc := range []struct {
		name    string
		columns string
		values  int
	}{
		{"orders", orderColumns, len(orderArgs(&o))},
		{"numOrderColumns", orderColumns, numOrderColumns},
		{"order_events", eventColumns, len(eventArgs(&ev))},
		{"orderColumnTypes", orderColumns, len(orderColumnTypes)},
		{"orderRows", orderColumns, len((&orderRows{}).args())},
		{"eventTypes", eventColumns, len(eventTypes)},
		{"eventRows", eventColumns, len((&eventRows{}).args())},
		{"assignmentRows", strings.Join(assignmentCols, ","), len((&assignmentRows{}).args())},
		{"releaseRows", strings.Join(releaseCols, ","), len((&releaseRows{}).args())},
		{"deliveryRows", strings.Join(deliveryCols, ","), len((&deliveryRows{}).args())},
	} {
		if n := strings.Count(tc.columns, ",") + 1; n != tc.values {
			t.Errorf("%s: %d columns, %d values", tc.name, n, tc.values)
		}
	}
}

func TestRedact(t *testing.T) {
	_, err := pgx.ParseConfig("postgres://zx:s3cret@%zz/db")
	if err == nil {
		t.Fatal("ParseConfig accepted a malformed URL")
	}
	if got := redact(err); strings.Contains(got, "s3cret") {
		t.Errorf("redact(%v) = %q, still holds the password", err, got)
	}
}

// TestOrderRowsGrow checks that grow makes room in every column that args sends.
func TestOrderRowsGrow(t *testing.T) {
	var r orderRows
	r.grow(7)
	for i, a := range r.args() {
		if c := reflect.ValueOf(a).Cap(); c < 7 {
			t.Errorf("column %d (%s): capacity %d after grow(7)", i, columns(orderColumns)[i], c)
		}
	}
}
