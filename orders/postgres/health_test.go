package postgres_test

import (
	"testing"

	"zhengxiang/orders"
	"zhengxiang/orders/orderstest"
	"zhengxiang/orders/postgres/pgtest"
)

func TestHealthContract(t *testing.T) {
	pgtest.URL(t)
	orderstest.RunHealthContract(t, func(t *testing.T) orders.Repository { return pgtest.DB(t).Repository() })
}
