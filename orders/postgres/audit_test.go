package postgres_test

import (
	"testing"

	"zhengxiang/orders/orderstest"
	"zhengxiang/orders/postgres/pgtest"
)

func TestSuspensionContract(t *testing.T) {
	pgtest.URL(t)
	orderstest.RunSuspensionContract(t, func(t *testing.T) orderstest.OpsRepository {
		return pgtest.DB(t).Repository()
	})
}
