package memory_test

import (
	"testing"

	"zhengxiang/orders"
	"zhengxiang/orders/memory"
	"zhengxiang/orders/orderstest"
)

func TestCampaignContract(t *testing.T) {
	orderstest.RunCampaignContract(t, func(t *testing.T) orders.CampaignStore { return memory.NewCampaigns() })
}
