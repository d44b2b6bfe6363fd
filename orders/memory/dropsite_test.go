package memory_test

import (
	"testing"

	"zhengxiang/orders/memory"
	"zhengxiang/orders/orderstest"
)

func TestDropSiteContract(t *testing.T) {
	orderstest.RunDropSiteContract(t, func(t *testing.T) orderstest.SiteRepository { return memory.NewRepository(nil) })
}
