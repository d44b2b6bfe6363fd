package memory_test

import (
	"testing"

	"zhengxiang/orders"
	"zhengxiang/orders/memory"
	"zhengxiang/orders/orderstest"
)

func TestHealthContract(t *testing.T) {
	orderstest.RunHealthContract(t, func(t *testing.T) orders.Repository { return memory.NewRepository(nil) })
}
