package mdrp

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
)

// Params holds the instance-wide parameters of instance_parameters.txt.
// Durations are in minutes, distances in metres, pay in dollars.
type Params struct {
	MetersPerMinute float64 // courier speed
	PickupService   float64 // minutes spent at a restaurant, half before and half after the pickup
	DropoffService  float64 // minutes spent at a customer, half before and half after the drop-off
	TargetCTD       float64 // target click-to-door
	MaxCTD          float64 // maximum click-to-door of a delivered order
	PayPerOrder     float64 // courier pay per delivered order
	PayPerHour      float64 // guaranteed courier pay per duty hour
}

// Order is one customer order of orders.txt.
type Order struct {
	ID         string
	X, Y       float64 // drop-off location, metres
	Placement  float64 // minute the order is placed (and becomes known)
	Ready      float64 // minute the food is ready at the restaurant
	Restaurant string
}

// Restaurant is one restaurant of restaurants.txt.
type Restaurant struct {
	ID   string
	X, Y float64
}

// Courier is one courier shift of couriers.txt.
type Courier struct {
	ID   string
	X, Y float64 // start point
	On   float64 // minute the shift starts
	Off  float64 // minute after which the courier may not pick up
}

// Instance is one MDRP benchmark instance. The index maps give the position of
// each id in Orders, Restaurants and Couriers; they are built by Load and
// NewInstance and must not be modified.
type Instance struct {
	Name        string
	Params      Params
	Orders      []Order
	Restaurants []Restaurant
	Couriers    []Courier

	OrderIndex      map[string]int
	RestaurantIndex map[string]int
	CourierIndex    map[string]int

	// LegUnit is what each travel leg is rounded up to, in minutes. Zero
	// means whole minutes, as the problem's rules state; see WithLegUnit.
	LegUnit float64
}

// WithLegUnit returns a copy of the instance whose travel legs are rounded
// up to unit minutes instead of whole ones, sharing its data. With 1/60,
// legs are timed to the second, as the published solutions of the
// benchmark are; it is for comparing with them, never for judging
// feasibility.
func (in *Instance) WithLegUnit(unit float64) *Instance {
	c := *in
	c.LegUnit = unit
	return &c
}

// Instance file names inside an instance folder.
const (
	OrdersFile      = "orders.txt"
	RestaurantsFile = "restaurants.txt"
	CouriersFile    = "couriers.txt"
	ParamsFile      = "instance_parameters.txt"
)

// OriginStart is the origin id that solution files use for a courier's start point.
// No order or restaurant may use it as its id.
const OriginStart = "0"

// Load reads the instance in folder dir: orders.txt, restaurants.txt,
// couriers.txt and instance_parameters.txt. The instance is named after the
// folder. Besides the checks of the readers it verifies that every order's
// restaurant exists and that order and restaurant ids are distinct from each
// other and from OriginStart, so that solution files are unambiguous.
func Load(dir string) (*Instance, error) {
	in := &Instance{Name: filepath.Base(filepath.Clean(dir))}
	var orderLines, restLines []int
	var err error
	err = readFile(dir, OrdersFile, func(f *os.File) error {
		in.Orders, orderLines, err = readOrders(f)
		return err
	})
	if err == nil {
		err = readFile(dir, RestaurantsFile, func(f *os.File) error {
			in.Restaurants, restLines, err = readRestaurants(f)
			return err
		})
	}
	if err == nil {
		err = readFile(dir, CouriersFile, func(f *os.File) error {
			in.Couriers, _, err = readCouriers(f)
			return err
		})
	}
	if err == nil {
		err = readFile(dir, ParamsFile, func(f *os.File) error {
			in.Params, err = ReadParams(f)
			return err
		})
	}
	if err == nil {
		err = in.index(orderLines, restLines)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return in, nil
}

func readFile(dir, name string, read func(*os.File) error) error {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	return read(f)
}

// NewInstance builds an instance from records made in code, applying the same
// checks as Load. It copies the slices.
func NewInstance(name string, p Params, orders []Order, restaurants []Restaurant, couriers []Courier) (*Instance, error) {
	if fe := validateParams(p); fe != nil {
		return nil, fmt.Errorf("params: %s: %s", fe.col, fe.msg)
	}
	in := &Instance{
		Name:        name,
		Params:      p,
		Orders:      slices.Clone(orders),
		Restaurants: slices.Clone(restaurants),
		Couriers:    slices.Clone(couriers),
	}
	for i, o := range in.Orders {
		if fe := validateOrder(o); fe != nil {
			return nil, fmt.Errorf("orders[%d]: %s: %s", i, fe.col, fe.msg)
		}
	}
	for i, r := range in.Restaurants {
		if fe := validateRestaurant(r); fe != nil {
			return nil, fmt.Errorf("restaurants[%d]: %s: %s", i, fe.col, fe.msg)
		}
	}
	for i, c := range in.Couriers {
		if fe := validateCourier(c); fe != nil {
			return nil, fmt.Errorf("couriers[%d]: %s: %s", i, fe.col, fe.msg)
		}
	}
	if err := in.index(nil, nil); err != nil {
		return nil, err
	}
	return in, nil
}

// index builds the lookup maps and checks uniqueness and references. When the
// line slices are given, errors name the file line; otherwise the slice index.
func (in *Instance) index(orderLines, restLines []int) error {
	where := func(file, slice string, lines []int, i int, col, msg string) error {
		if lines != nil && i < len(lines) {
			return &ParseError{File: file, Line: lines[i], Column: col, Err: msg}
		}
		return fmt.Errorf("%s[%d]: %s: %s", slice, i, col, msg)
	}
	in.OrderIndex = make(map[string]int, len(in.Orders))
	in.RestaurantIndex = make(map[string]int, len(in.Restaurants))
	in.CourierIndex = make(map[string]int, len(in.Couriers))
	for i, r := range in.Restaurants {
		if r.ID == OriginStart {
			return where(RestaurantsFile, "restaurants", restLines, i, colRestaurant, fmt.Sprintf("id %q is reserved for a courier's start point in solution files", r.ID))
		}
		if j, dup := in.RestaurantIndex[r.ID]; dup {
			return where(RestaurantsFile, "restaurants", restLines, i, colRestaurant, fmt.Sprintf("duplicate id %q (first at %s)", r.ID, position(restLines, j)))
		}
		in.RestaurantIndex[r.ID] = i
	}
	for i, o := range in.Orders {
		if o.ID == OriginStart {
			return where(OrdersFile, "orders", orderLines, i, colOrder, fmt.Sprintf("id %q is reserved for a courier's start point in solution files", o.ID))
		}
		if j, dup := in.OrderIndex[o.ID]; dup {
			return where(OrdersFile, "orders", orderLines, i, colOrder, fmt.Sprintf("duplicate id %q (first at %s)", o.ID, position(orderLines, j)))
		}
		if _, clash := in.RestaurantIndex[o.ID]; clash {
			return where(OrdersFile, "orders", orderLines, i, colOrder, fmt.Sprintf("id %q is also a restaurant id", o.ID))
		}
		if _, ok := in.RestaurantIndex[o.Restaurant]; !ok {
			return where(OrdersFile, "orders", orderLines, i, colRestaurant, fmt.Sprintf("unknown restaurant %q", o.Restaurant))
		}
		in.OrderIndex[o.ID] = i
	}
	for i, c := range in.Couriers {
		if j, dup := in.CourierIndex[c.ID]; dup {
			return fmt.Errorf("couriers[%d]: courier: duplicate id %q (first at couriers[%d])", i, c.ID, j)
		}
		in.CourierIndex[c.ID] = i
	}
	return nil
}

func position(lines []int, i int) string {
	if lines != nil && i < len(lines) {
		return fmt.Sprintf("line %d", lines[i])
	}
	return fmt.Sprintf("index %d", i)
}

// Order returns the order with the given id.
func (in *Instance) Order(id string) (Order, bool) {
	i, ok := in.OrderIndex[id]
	if !ok {
		return Order{}, false
	}
	return in.Orders[i], true
}

// Restaurant returns the restaurant with the given id.
func (in *Instance) Restaurant(id string) (Restaurant, bool) {
	i, ok := in.RestaurantIndex[id]
	if !ok {
		return Restaurant{}, false
	}
	return in.Restaurants[i], true
}

// Courier returns the courier with the given id.
func (in *Instance) Courier(id string) (Courier, bool) {
	i, ok := in.CourierIndex[id]
	if !ok {
		return Courier{}, false
	}
	return in.Couriers[i], true
}

// TravelMinutes returns the travel time in whole minutes between two points:
// ceil(euclidean distance / MetersPerMinute), or rounded up to LegUnit when
// that is set. Dispatchers should use it so that their times agree exactly
// with Check.
func (in *Instance) TravelMinutes(ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	m := math.Sqrt(dx*dx+dy*dy) / in.Params.MetersPerMinute
	if in.LegUnit > 0 && in.LegUnit != 1 {
		return math.Ceil(m/in.LegUnit-1e-9) * in.LegUnit
	}
	return math.Ceil(m)
}

// CourierHours returns the total duty time of the instance's couriers in hours.
func (in *Instance) CourierHours() float64 {
	var m float64
	for _, c := range in.Couriers {
		m += c.Off - c.On
	}
	return m / 60
}

// DataDirEnv names the environment variable that overrides where DataDir looks
// for the benchmark folder.
const DataDirEnv = "ZX_MDRP_DIR"

// ErrNoData reports that the benchmark folder was not found.
var ErrNoData = errors.New("mdrp: benchmark folder not found")

// DataDir returns the folder holding the benchmark instances: the value of
// ZX_MDRP_DIR when set, otherwise the first shared/data/mdrp folder found
// walking up from the working directory (the shared folder sits next to the
// repository). It returns ErrNoData when there is none.
func DataDir() (string, error) {
	if d := os.Getenv(DataDirEnv); d != "" {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return "", fmt.Errorf("%w: %s=%s is not a folder", ErrNoData, DataDirEnv, d)
		}
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoData, err)
	}
	for d := wd; ; {
		cand := filepath.Join(d, "shared", "data", "mdrp")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand, nil
		}
		up := filepath.Dir(d)
		if up == d {
			return "", ErrNoData
		}
		d = up
	}
}

// InstanceNames returns the names of the instance folders under dir (those
// holding an orders.txt), sorted.
func InstanceNames(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), OrdersFile)); err == nil {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}
