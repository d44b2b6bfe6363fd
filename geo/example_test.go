package geo_test

import (
	"errors"
	"fmt"
	"time"

	"zhengxiang/geo"
)

func ExampleCellOf() {
	erqi := geo.Point{Lat: 34.7566, Lng: 113.6683}
	fmt.Println(geo.CellOf(erqi, geo.PositionRes))
	fmt.Println(geo.CellOf(erqi, geo.CoverageRes))
	fmt.Println(geo.CellOf(erqi, geo.PositionRes).Parent(geo.CoverageRes))
	// Output:
	// 8940954924fffff
	// 8840954925fffff
	// 8840954925fffff
}

func ExampleParseCell() {
	c, err := geo.ParseCell("8940954924fffff")
	fmt.Println(c.Center(), err)
	_, err = geo.ParseCell("not-a-cell")
	fmt.Println(errors.Is(err, geo.ErrInvalidCell))
	// Output:
	// (34.758100, 113.667765) <nil>
	// true
}

func ExampleDistanceM() {
	fmt.Printf("%.0f m\n", geo.DistanceM(geo.Point{Lat: 0, Lng: 0}, geo.Point{Lat: 1, Lng: 0}))
	erqi, cbd := geo.Point{Lat: 34.7566, Lng: 113.6683}, geo.Point{Lat: 34.7685, Lng: 113.7270}
	fmt.Printf("%.0f m\n", geo.DistanceM(erqi, cbd))
	// Output:
	// 111195 m
	// 5523 m
}

func ExampleZhengzhou() {
	zz := geo.Zhengzhou()
	for _, d := range zz.Districts() {
		fmt.Println(d.Code, d.Name, d.NameZH)
	}
	d, _ := zz.District(geo.Point{Lat: 34.7685, Lng: 113.7270})
	fmt.Println("Zhengdong CBD is in", d.Name)
	err := zz.Validate(geo.Point{Lat: 39.9042, Lng: 116.4074})
	fmt.Println(errors.Is(err, geo.ErrOutsideArea), err)
	// Output:
	// 410102 Zhongyuan 中原区
	// 410103 Erqi 二七区
	// 410104 Guancheng 管城回族区
	// 410105 Jinshui 金水区
	// 410108 Huiji 惠济区
	// Zhengdong CBD is in Jinshui
	// true geo: point outside the service area: (39.904200, 116.407400)
}

func ExamplePlanarModel() {
	// An MDRP instance: coordinates in metres, 320 m/min, 4 + 4 minutes.
	pl := geo.Plane{Origin: geo.Point{Lat: 34.7566, Lng: 113.6683}}
	m := geo.PlanarModel{Plane: pl, MetersPerMinute: 320, PickupMin: 4, DropoffMin: 4}
	store, door := pl.ToPoint(0, 0), pl.ToPoint(384, 512) // 640 m apart
	fmt.Println(m.TravelMinutes(store, door))
	fmt.Println(geo.PromiseMinutes(m, 10, store, door))
	// Output:
	// 2
	// 20
}

func ExampleRiderIndex_Nearest() {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	// Each rider carries its vehicle.
	ix := geo.NewRiderIndex[string](geo.IndexConfig{})
	pl := geo.Plane{Origin: geo.Point{Lat: 34.7566, Lng: 113.6683}}
	ix.Put("rider-1", "e-bike", pl.ToPoint(300, 0), now)
	ix.Put("rider-2", "tricycle", pl.ToPoint(0, -120), now)
	ix.Put("rider-3", "e-bike", pl.ToPoint(50, 50), now.Add(-5*time.Minute)) // stale
	for _, n := range ix.Nearest(pl.Origin, 2, now, nil, nil) {
		fmt.Printf("%s (%s) %.0f m\n", n.ID, n.Value, n.DistanceM)
	}
	bikes := func(id, vehicle string) bool { return vehicle == "e-bike" }
	fmt.Println(len(ix.Nearest(pl.Origin, 2, now, bikes, nil)))
	// Output:
	// rider-2 (tricycle) 120 m
	// rider-1 (e-bike) 300 m
	// 1
}

func ExampleCircleOf() {
	zz := geo.Zhengzhou()
	erqi := geo.Point{Lat: 34.7566, Lng: 113.6683}
	c := geo.CircleOf("store-erqi", erqi, 10, 60, geo.DefaultRoadModel(), zz)
	cv := geo.NewCoverage()
	cv.Add(c)
	fmt.Println(len(c.Cells) > 300, cv.Stores(geo.Point{Lat: 34.7685, Lng: 113.7270}))
	// Output:
	// true [store-erqi]
}
