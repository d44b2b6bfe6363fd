package festival

import (
	"fmt"
	"math"
	"math/rand/v2"

	"zhengxiang/geo"
	"zhengxiang/orders"
)

// HotSpot is a place in Zhengzhou where stores cluster and orders come
// from: a shopping street, a business district, a functional zone or a
// district's centre.
type HotSpot struct {
	Label  string // "Zhengdong New District CBD"
	Point  geo.Point
	Weight float64 // relative share of stores and riders
}

// namedHotSpots are the landmarks and functional zones of the festival
// city, in GCJ-02 like the district boundaries.
var namedHotSpots = []HotSpot{
	{"Erqi Square 二七广场", geo.Point{Lat: 34.7566, Lng: 113.6683}, 3},
	{"Zhengdong New District CBD 郑东新区CBD", geo.Point{Lat: 34.7685, Lng: 113.7270}, 3},
	{"High-tech zone 高新区", geo.Point{Lat: 34.8080, Lng: 113.5530}, 2},
	{"Economic zone 经开区", geo.Point{Lat: 34.7280, Lng: 113.7330}, 2},
	{"Huayuan Road 花园路", geo.Point{Lat: 34.7880, Lng: 113.6860}, 2},
	{"Zijingshan 紫荆山", geo.Point{Lat: 34.7620, Lng: 113.6830}, 1.5},
	{"Bishagang 碧沙岗", geo.Point{Lat: 34.7560, Lng: 113.6330}, 1.5},
	{"Daxue Road 大学路", geo.Point{Lat: 34.7380, Lng: 113.6540}, 1},
	{"Zhengzhou East Station 郑州东站", geo.Point{Lat: 34.7570, Lng: 113.7770}, 1},
	{"Guoji Road 国基路", geo.Point{Lat: 34.8100, Lng: 113.6800}, 1},
}

// HotSpots returns the hot spots of the area: the named landmarks and
// zones that lie inside it, then the centre of each district.
func HotSpots(area *geo.Area) []HotSpot {
	var out []HotSpot
	for _, h := range namedHotSpots {
		if area.Contains(h.Point) {
			out = append(out, h)
		}
	}
	for _, d := range area.Districts() {
		if area.Contains(d.Center) {
			out = append(out, HotSpot{Label: d.Name + " centre " + d.NameZH, Point: d.Center, Weight: 1})
		}
	}
	return out
}

// pickHotSpot draws a hot spot with probability proportional to its weight.
func pickHotSpot(r *rand.Rand, hs []HotSpot) HotSpot {
	total := 0.0
	for _, h := range hs {
		total += h.Weight
	}
	x := r.Float64() * total
	for _, h := range hs {
		x -= h.Weight
		if x < 0 {
			return h
		}
	}
	return hs[len(hs)-1]
}

// nearestHotSpot returns the hot spot closest to p.
func nearestHotSpot(hs []HotSpot, p geo.Point) HotSpot {
	best, bestD := hs[0], math.Inf(1)
	for _, h := range hs {
		if d := geo.DistanceM(h.Point, p); d < bestD {
			best, bestD = h, d
		}
	}
	return best
}

// kind is a type of store of one section, with what it sells.
type kind struct {
	name             string
	section          orders.Section
	prepMin, prepMax float64 // minutes
	items            []orders.Item
}

// kinds are the stores of the festival. Restaurants (郑享百味) sell the set
// meals of the plan; supermarkets and malls (郑享特惠) daily goods; factory
// outlets (郑享制造) goods made in Zhengzhou.
var kinds = []kind{
	{"烩面馆 Huimian noodle house", orders.SectionFlavours, 8, 20, []orders.Item{
		{SKU: "huimian-lamb", Name: "羊肉烩面 lamb huimian", PriceCents: 2200},
		{SKU: "set-back-to-work", Name: "复工套餐 back-to-work set meal", PriceCents: 2800},
		{SKU: "cold-dish", Name: "凉拌菜 cold dish", PriceCents: 1200},
	}},
	{"胡辣汤 Hulatang kitchen", orders.SectionFlavours, 8, 15, []orders.Item{
		{SKU: "hulatang", Name: "胡辣汤 hot and spicy soup", PriceCents: 800},
		{SKU: "shuijianbao", Name: "水煎包 pan-fried buns", PriceCents: 1000},
		{SKU: "set-stay-home", Name: "宅家套餐 stay-home meal", PriceCents: 3600},
	}},
	{"家常菜 Home cooking", orders.SectionFlavours, 10, 20, []orders.Item{
		{SKU: "set-family", Name: "宅家套餐 stay-home family meal", PriceCents: 6800},
		{SKU: "set-back-to-work", Name: "复工套餐 back-to-work set meal", PriceCents: 2600},
		{SKU: "semi-carp", Name: "半成品黄河鲤鱼 semi-prepared Yellow River carp", PriceCents: 5800},
	}},
	{"轻食 Healthy bowls", orders.SectionFlavours, 8, 14, []orders.Item{
		{SKU: "bowl-chicken", Name: "健康餐 healthy chicken bowl", PriceCents: 3200},
		{SKU: "salad", Name: "轻食沙拉 salad", PriceCents: 2600},
		{SKU: "juice", Name: "鲜榨果汁 fresh juice", PriceCents: 1500},
	}},
	{"社区超市 Community supermarket", orders.SectionDeals, 5, 12, []orders.Item{
		{SKU: "veg-box", Name: "蔬菜组合 vegetable box", PriceCents: 3990},
		{SKU: "eggs-30", Name: "鸡蛋30枚 eggs ×30", PriceCents: 2490},
		{SKU: "rice-5kg", Name: "大米5kg rice 5 kg", PriceCents: 3590},
		{SKU: "milk-12", Name: "牛奶12盒 milk ×12", PriceCents: 5990},
	}},
	{"购物中心 Mall", orders.SectionDeals, 5, 12, []orders.Item{
		{SKU: "disinfectant", Name: "消毒液 disinfectant", PriceCents: 2990},
		{SKU: "masks-10", Name: "口罩10只 masks ×10", PriceCents: 1990},
		{SKU: "fruit-box", Name: "水果礼盒 fruit box", PriceCents: 8800},
	}},
	{"工厂店 Factory outlet", orders.SectionMade, 10, 20, []orders.Item{
		{SKU: "dumplings-frozen", Name: "速冻水饺 frozen dumplings", PriceCents: 2590},
		{SKU: "tangyuan", Name: "汤圆 sweet rice balls", PriceCents: 1690},
		{SKU: "jujube", Name: "新郑红枣 Xinzheng jujubes", PriceCents: 3990},
		{SKU: "noodles-instant", Name: "方便面整箱 instant noodles, case", PriceCents: 4590},
	}},
}

// sectionShares is the share of stores in each section: mostly restaurants.
var sectionShares = []struct {
	section orders.Section
	share   float64
}{
	{orders.SectionFlavours, 0.65},
	{orders.SectionDeals, 0.25},
	{orders.SectionMade, 0.10},
}

// store is a festival store with what the simulation needs besides
// orders.Store.
type store struct {
	orders.Store
	kind       *kind
	popularity float64
}

// placeStores places n stores of the three sections around the hot spots
// (and a few anywhere in the area) and gives each its preparation time.
func placeStores(r *rand.Rand, area *geo.Area, hs []HotSpot, n int) []*store {
	bySection := map[orders.Section][]*kind{}
	for i := range kinds {
		bySection[kinds[i].section] = append(bySection[kinds[i].section], &kinds[i])
	}
	out := make([]*store, 0, n)
	for i := range n {
		// Exact section counts: store i takes the section whose cumulative
		// share covers the middle of its slot.
		sec, f := sectionShares[0].section, (float64(i)+0.5)/float64(n)
		for _, s := range sectionShares {
			if f < s.share {
				sec = s.section
				break
			}
			f -= s.share
		}
		ks := bySection[sec]
		k := ks[r.IntN(len(ks))]
		// Most stores crowd the hot spot; neighbourhood stores spread
		// farther out.
		h := pickHotSpot(r, hs)
		sigma := 1200.0
		if r.Float64() < 0.2 {
			sigma = 4000
		}
		p := area.RandomPointNear(r, h.Point, sigma)
		label := nearestHotSpot(hs, p).Label
		d, _ := area.District(p)
		prep := k.prepMin + r.Float64()*(k.prepMax-k.prepMin)
		out = append(out, &store{
			Store: orders.Store{
				ID:          fmt.Sprintf("S%04d", i+1),
				Name:        fmt.Sprintf("%s · %s #%d", k.name, label, i+1),
				District:    d.Name,
				Section:     sec,
				Point:       p,
				PrepMinutes: math.Round(prep*10) / 10,
			},
			kind:       k,
			popularity: math.Exp(0.5 * r.NormFloat64()),
		})
	}
	return out
}

// pickStore draws a store with probability proportional to its popularity.
func pickStore(r *rand.Rand, ss []*store) *store {
	total := 0.0
	for _, s := range ss {
		total += s.popularity
	}
	x := r.Float64() * total
	for _, s := range ss {
		if x -= s.popularity; x < 0 {
			return s
		}
	}
	return ss[len(ss)-1]
}

// Stores returns the n stores of the festival city for a seed: the stores
// demo places, for a service that runs the city for real.
func Stores(seed int64, n int) []orders.Store {
	area := geo.Zhengzhou()
	ss := placeStores(newRand(seed, streamStores), area, HotSpots(area), n)
	out := make([]orders.Store, len(ss))
	for i, s := range ss {
		out[i] = s.Store
	}
	return out
}
