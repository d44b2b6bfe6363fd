package memory_test

import (
	"testing"

	"zhengxiang/orders/memory"
	"zhengxiang/orders/orderstest"
)

func TestSuspensionContract(t *testing.T) {
	orderstest.RunSuspensionContract(t, func(t *testing.T) orderstest.OpsRepository {
		return memory.NewRepository(nil)
	})
}
