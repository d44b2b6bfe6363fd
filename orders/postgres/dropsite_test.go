package postgres_test

import (
	"testing"

	"zhengxiang/orders/orderstest"
	"zhengxiang/orders/postgres/pgtest"
)

func TestDropSiteContract(t *testing.T) {
	pgtest.URL(t)
	orderstest.RunDropSiteContract(t, func(t *testing.T) orderstest.SiteRepository { return pgtest.DB(t).Repository() })
}
