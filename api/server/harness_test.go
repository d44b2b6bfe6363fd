package server_test

import (
	"testing"

	"zhengxiang/api/server/servertest"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/orderstest"
)

// backends are the records the API tests run against.
var backends = []string{"memory", "postgres"}

// Stores of the tests: two near the Erqi Tower, one on the other side of
// town.
var (
	storeA = orders.Store{ID: "S-A", Name: "丹尼斯 二七店", District: "二七区", Section: orders.SectionDeals, Point: orderstest.Erqi, PrepMinutes: 8}
	storeB = orders.Store{ID: "S-B", Name: "蜜雪冰城 德化街", District: "二七区", Section: orders.SectionFlavours, Point: geo.Point{Lat: 34.7490, Lng: 113.6290}, PrepMinutes: 5}
	storeC = orders.Store{ID: "S-C", Name: "郑东万象城", District: "金水区", Section: orders.SectionDeals, Point: geo.Point{Lat: 34.7685, Lng: 113.7270}, PrepMinutes: 10}
	// near is a door about 1 km from storeA.
	near = geo.Point{Lat: 34.7540, Lng: 113.6300}
)

type env = servertest.Env

// newEnv serves the API over the backend's record with the three stores.
func newEnv(t *testing.T, backend string) *env {
	t.Helper()
	return servertest.New(t, servertest.Options{Backend: backend, Stores: []orders.Store{storeA, storeB, storeC}})
}

var (
	get = servertest.Get
	str = servertest.Str
)
