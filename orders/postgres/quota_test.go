package postgres_test

import (
	"testing"

	"zhengxiang/orders"
	"zhengxiang/orders/orderstest"
	"zhengxiang/orders/postgres/pgtest"
)

func TestQuotaContract(t *testing.T) {
	pgtest.URL(t)
	orderstest.RunQuotaContract(t, func(t *testing.T, defaultPerDay int) orders.QuotaStore {
		q, err := pgtest.DB(t).Quota(defaultPerDay)
		if err != nil {
			t.Fatal(err)
		}
		return q
	})
}

// TestQuotaGrantsRecorded checks that each answer is kept under its order's key, for the bureau
// to count the free deliveries and find their orders.
func TestQuotaGrantsRecorded(t *testing.T) {
	db := pgtest.DB(t)
	q, err := db.Quota(1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, day := t.Context(), orderstest.FestivalDay
	for _, key := range []string{"e-1", "e-2", "e-1"} {
		if _, err := q.TakeFreeDelivery(ctx, "eleme", day, key); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.Pool().Query(ctx, "SELECT order_key || ':' || granted FROM free_delivery_grants WHERE platform = 'eleme' AND day = '2020-03-15' ORDER BY order_key")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if rows.Err() != nil || len(got) != 2 || got[0] != "e-1:true" || got[1] != "e-2:false" {
		t.Fatalf("grants %v, %v; want e-1 granted and e-2 refused, once each", got, rows.Err())
	}
}
