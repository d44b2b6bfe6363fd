package console_test

import (
	"net/http"
	"testing"

	"zhengxiang/api/console"
	"zhengxiang/api/server/servertest"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/orderstest"
)

// The test's store, near the Erqi Tower, and a door about 1 km from it;
// two more stores of the other sections for the map, the last of which the
// scene suspends.
var (
	storeA = orders.Store{ID: "S-A", Name: "丹尼斯 二七店", District: "二七区", Section: orders.SectionDeals,
		Point: orderstest.Erqi, PrepMinutes: 8}
	near   = geo.Point{Lat: 34.7540, Lng: 113.6300}
	storeB = orders.Store{ID: "S-B", Name: "郑州制造 金水店", District: "金水区", Section: orders.SectionMade,
		Point: geo.Point{Lat: 34.7800, Lng: 113.6850}, PrepMinutes: 15}
	storeC = orders.Store{ID: "S-C", Name: "合记烩面 管城店", District: "管城回族区", Section: orders.SectionFlavours,
		Point: geo.Point{Lat: 34.7400, Lng: 113.6900}, PrepMinutes: 12}
)

type env = servertest.Env

// mustEnv starts the API with the console on the same mux, as serve runs
// them; everything stops when the test ends.
func mustEnv(t testing.TB) *env {
	t.Helper()
	return servertest.New(t, servertest.Options{Stores: []orders.Store{storeA, storeB, storeC},
		Mount: func(mux *http.ServeMux) { mux.Handle("/", console.Handler()) }})
}

var str = servertest.Str
