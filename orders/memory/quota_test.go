package memory_test

import (
	"testing"

	"zhengxiang/orders"
	"zhengxiang/orders/memory"
	"zhengxiang/orders/orderstest"
)

func TestQuotaContract(t *testing.T) {
	orderstest.RunQuotaContract(t, func(t *testing.T, defaultPerDay int) orders.QuotaStore {
		q, err := memory.NewQuota(defaultPerDay)
		if err != nil {
			t.Fatal(err)
		}
		return q
	})
}

func TestNewQuotaInvalid(t *testing.T) {
	for _, n := range []int{-1, orders.MaxFreeDeliveryQuota + 1} {
		if _, err := memory.NewQuota(n); !orders.IsKind(err, orders.KindInvalid) {
			t.Errorf("NewQuota(%d): %v, want KindInvalid", n, err)
		}
	}
}
