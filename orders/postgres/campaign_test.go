package postgres_test

import (
	"testing"

	"zhengxiang/orders"
	"zhengxiang/orders/orderstest"
	"zhengxiang/orders/postgres/pgtest"
)

func TestCampaignContract(t *testing.T) {
	pgtest.URL(t)
	orderstest.RunCampaignContract(t, func(t *testing.T) orders.CampaignStore { return pgtest.DB(t).Campaigns() })
}
