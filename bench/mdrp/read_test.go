package mdrp

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestReadOrders(t *testing.T) {
	// Columns in another order, CRLF line ends, a byte order mark, blank lines
	// and padded fields are all accepted.
	text := "\ufeffrestaurant\torder\tready_time\tplacement_time\tx\ty\r\n" +
		"r1\to1\t753\t743\t9131\t7497\r\n" +
		"\r\n" +
		" r2 \to2\t557.5\t541\t-9024\t6677\r\n"
	got, err := ReadOrders(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []Order{
		{ID: "o1", X: 9131, Y: 7497, Placement: 743, Ready: 753, Restaurant: "r1"},
		{ID: "o2", X: -9024, Y: 6677, Placement: 541, Ready: 557.5, Restaurant: "r2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestReadParams(t *testing.T) {
	text := "meters_per_minute\tpickup service minutes\tdropoff service minutes\ttarget click-to-door\tmaximum click-to-door\tpay per order\tguaranteed pay per hour\n" +
		"320\t4\t4\t40\t90\t10\t15\n"
	got, err := ReadParams(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := Params{MetersPerMinute: 320, PickupService: 4, DropoffService: 4, TargetCTD: 40, MaxCTD: 90, PayPerOrder: 10, PayPerHour: 15}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

const (
	ordersHead   = "order\tx\ty\tplacement_time\trestaurant\tready_time\n"
	couriersHead = "courier\tx\ty\ton_time\toff_time\n"
	restHead     = "restaurant\tx\ty\n"
	paramsHead   = "meters_per_minute\tpickup service minutes\tdropoff service minutes\ttarget click-to-door\tmaximum click-to-door\tpay per order\tguaranteed pay per hour\n"
)

func TestReaderErrors(t *testing.T) {
	orders := func(r io.Reader) error { _, err := ReadOrders(r); return err }
	couriers := func(r io.Reader) error { _, err := ReadCouriers(r); return err }
	rests := func(r io.Reader) error { _, err := ReadRestaurants(r); return err }
	params := func(r io.Reader) error { _, err := ReadParams(r); return err }
	cases := []struct {
		name string
		read func(io.Reader) error
		in   string
		want string // the whole error message
		line int
		col  string
	}{
		{"empty file", orders, "", "orders.txt: empty file, no header line", 0, ""},
		{"blank file", couriers, "\n \n", "couriers.txt: empty file, no header line", 0, ""},
		{"missing column", orders, "order\tx\ty\tplacement_time\trestaurant\n", `orders.txt line 1: missing column "ready_time" in header`, 1, ""},
		{"unexpected column", rests, "restaurant\tx\ty\tz\n", `restaurants.txt line 1: unexpected column "z" in header (want "restaurant", "x", "y")`, 1, ""},
		{"space-separated header", rests, "restaurant x y\n", `restaurants.txt line 1: unexpected column "restaurant x y" in header (want "restaurant", "x", "y")`, 1, ""},
		{"duplicate column", rests, "restaurant\tx\tx\n", `restaurants.txt line 1: duplicate column "x" in header`, 1, ""},
		{"field count", orders, ordersHead + "o1\t1\t2\t3\tr1\n", "orders.txt line 2: 5 fields, the header has 6", 2, ""},
		{"not a number", orders, ordersHead + "o1\tabc\t2\t3\tr1\t4\n", `orders.txt line 2: x: "abc" is not a number`, 2, "x"},
		{"missing number", orders, ordersHead + "o1\t1\t\t3\tr1\t4\n", "orders.txt line 2: y: missing value", 2, "y"},
		{"NaN", couriers, couriersHead + "c1\t1\t2\tNaN\t5\n", `couriers.txt line 2: on_time: "NaN" is not a finite number`, 2, "on_time"},
		{"infinite", couriers, couriersHead + "c1\t1\t2\t0\tInf\n", `couriers.txt line 2: off_time: "Inf" is not a finite number`, 2, "off_time"},
		{"overflow", rests, restHead + "r1\t1e999\t0\n", `restaurants.txt line 2: x: "1e999" is not a finite number`, 2, "x"},
		{"coordinate out of range", rests, restHead + "r1\t0\t2e9\n", "restaurants.txt line 2: y: 2e+09 is out of range [-1e+09, 1e+09]", 2, "y"},
		{"ready before placement", orders, ordersHead + "o1\t1\t2\t5\tr1\t6\n\no2\t1\t2\t5\tr1\t3\n", "orders.txt line 4: ready_time: 3 is before placement_time 5", 4, "ready_time"},
		{"negative time", orders, ordersHead + "o1\t1\t2\t-1\tr1\t3\n", "orders.txt line 2: placement_time: -1 is out of range [0, 1e+09]", 2, "placement_time"},
		{"duplicate id", orders, ordersHead + "o1\t1\t2\t3\tr1\t4\no2\t1\t2\t3\tr1\t4\no1\t1\t2\t3\tr1\t4\n", `orders.txt line 4: order: duplicate id "o1" (first on line 2)`, 4, "order"},
		{"empty id", couriers, couriersHead + "\t1\t2\t0\t5\n", "couriers.txt line 2: courier: missing id", 2, "courier"},
		{"empty restaurant", orders, ordersHead + "o1\t1\t2\t3\t\t4\n", "orders.txt line 2: restaurant: missing id", 2, "restaurant"},
		{"id with a space", rests, restHead + "r 1\t1\t2\n", `restaurants.txt line 2: restaurant: id "r 1" contains white space or a control character`, 2, "restaurant"},
		{"id with a control character", rests, restHead + "r\x011\t1\t2\n", `restaurants.txt line 2: restaurant: id "r\x011" contains white space or a control character`, 2, "restaurant"},
		{"invalid UTF-8 id", rests, restHead + "r\xff\t1\t2\n", `restaurants.txt line 2: restaurant: id "r\xff" is not valid UTF-8`, 2, "restaurant"},
		{"off not after on", couriers, couriersHead + "c1\t1\t2\t90\t90\n", "couriers.txt line 2: off_time: 90 is not after on_time 90", 2, "off_time"},
		{"no parameter row", params, paramsHead, "instance_parameters.txt: no data row", 0, ""},
		{"two parameter rows", params, paramsHead + "320\t4\t4\t40\t90\t10\t15\n320\t4\t4\t40\t90\t10\t15\n", "instance_parameters.txt line 3: more than one data row", 3, ""},
		{"zero speed", params, paramsHead + "0\t4\t4\t40\t90\t10\t15\n", "instance_parameters.txt line 2: meters_per_minute: 0 is not positive", 2, "meters_per_minute"},
		{"tiny speed", params, paramsHead + "1e-300\t4\t4\t40\t90\t10\t15\n", "instance_parameters.txt line 2: meters_per_minute: 1e-300 is out of range [0.001, 1e+09]", 2, "meters_per_minute"},
		{"negative service", params, paramsHead + "320\t-4\t4\t40\t90\t10\t15\n", "instance_parameters.txt line 2: pickup service minutes: -4 is out of range [0, 1e+06]", 2, "pickup service minutes"},
		{"maximum below target", params, paramsHead + "320\t4\t4\t40\t30\t10\t15\n", "instance_parameters.txt line 2: maximum click-to-door: 30 is below target click-to-door 40", 2, "maximum click-to-door"},
		{"negative pay", params, paramsHead + "320\t4\t4\t40\t90\t-10\t15\n", "instance_parameters.txt line 2: pay per order: -10 is out of range [0, 1e+09]", 2, "pay per order"},
		{"line too long", rests, restHead + "r1\t1\t" + strings.Repeat("1", maxLineLen+1) + "\n", "restaurants.txt line 2: line longer than 1048576 bytes", 2, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.read(strings.NewReader(tc.in))
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got  %s\n want %s", err, tc.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			if pe.Line != tc.line || pe.Column != tc.col {
				t.Errorf("line %d column %q, want %d %q", pe.Line, pe.Column, tc.line, tc.col)
			}
		})
	}
	if _, err := ReadOrders(nil); err == nil {
		t.Error("ReadOrders(nil): no error")
	}
}

func TestLoadTestdata(t *testing.T) {
	in, err := Load(testInstanceDir())
	if err != nil {
		t.Fatal(err)
	}
	if in.Name != testInstanceName {
		t.Errorf("name %q", in.Name)
	}
	checkCharacteristics(t, testInstanceDir(), in)
	if want := (Params{320, 4, 4, 40, 90, 10, 15}); in.Params != want {
		t.Errorf("params %+v, want %+v", in.Params, want)
	}
	o, ok := in.Order(in.Orders[7].ID)
	if !ok || o != in.Orders[7] {
		t.Errorf("Order lookup: %+v %v", o, ok)
	}
	if _, ok := in.Restaurant(o.Restaurant); !ok {
		t.Errorf("restaurant %s not found", o.Restaurant)
	}
	if c, ok := in.Courier(in.Couriers[3].ID); !ok || c != in.Couriers[3] {
		t.Errorf("Courier lookup: %+v %v", c, ok)
	}
	if _, ok := in.Order("nope"); ok {
		t.Error("unknown order found")
	}
}

// checkCharacteristics compares an instance with the counts stated in its
// instance_characteristics.txt.
func checkCharacteristics(t *testing.T, dir string, in *Instance) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "instance_characteristics.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stated := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		if x, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			stated[strings.TrimSpace(k)] = x
		}
	}
	for k, got := range map[string]float64{
		"number of orders":      float64(len(in.Orders)),
		"number of restaurants": float64(len(in.Restaurants)),
		"number of couriers":    float64(len(in.Couriers)),
		"total courier hours":   in.CourierHours(),
	} {
		want, ok := stated[k]
		if !ok {
			t.Errorf("%s: %q not stated", in.Name, k)
		} else if d := got - want; d > 0.005 || d < -0.005 {
			t.Errorf("%s: %s = %v, stated %v", in.Name, k, got, want)
		}
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadErrors(t *testing.T) {
	params := paramsHead + "320\t4\t4\t40\t90\t10\t15\n"
	couriers := couriersHead + "c1\t0\t0\t0\t60\n"
	cases := []struct {
		name        string
		orders      string
		restaurants string
		want        string
	}{
		{"unknown restaurant", ordersHead + "o1\t1\t2\t3\tr1\t4\no2\t1\t2\t3\tr9\t4\n", restHead + "r1\t0\t0\n",
			`orders.txt line 3: restaurant: unknown restaurant "r9"`},
		{"order id is a restaurant id", ordersHead + "r1\t1\t2\t3\tr1\t4\n", restHead + "r1\t0\t0\n",
			`orders.txt line 2: order: id "r1" is also a restaurant id`},
		{"reserved restaurant id", ordersHead, restHead + "r1\t0\t0\n0\t1\t1\n",
			`restaurants.txt line 3: restaurant: id "0" is reserved for a courier's start point in solution files`},
		{"reserved order id", ordersHead + "0\t1\t2\t3\tr1\t4\n", restHead + "r1\t0\t0\n",
			`orders.txt line 2: order: id "0" is reserved for a courier's start point in solution files`},
		{"bad file", ordersHead + "o1\t1\t2\t3\tr1\n", restHead + "r1\t0\t0\n",
			"orders.txt line 2: 5 fields, the header has 6"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{OrdersFile: tc.orders, RestaurantsFile: tc.restaurants, CouriersFile: couriers, ParamsFile: params})
			_, err := Load(dir)
			if err == nil {
				t.Fatal("no error")
			}
			if want := dir + ": " + tc.want; err.Error() != want {
				t.Errorf("error\n got  %s\n want %s", err, want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error %T does not wrap a *ParseError", err)
			}
		})
	}
	if _, err := Load(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty folder: %v", err)
	}
}

func TestNewInstanceErrors(t *testing.T) {
	p := Params{MetersPerMinute: 100, PickupService: 4, DropoffService: 2, TargetCTD: 40, MaxCTD: 90, PayPerOrder: 10, PayPerHour: 15}
	rs := []Restaurant{{ID: "r1"}}
	cs := []Courier{{ID: "c1", On: 0, Off: 10}}
	cases := []struct {
		name     string
		p        Params
		orders   []Order
		couriers []Courier
		want     string
	}{
		{"bad params", Params{}, nil, cs, "params: meters_per_minute: 0 is not positive"},
		{"ready before placement", p, []Order{{ID: "o1", Placement: 5, Ready: 3, Restaurant: "r1"}}, cs, "orders[0]: ready_time: 3 is before placement_time 5"},
		{"unknown restaurant", p, []Order{{ID: "o1", Restaurant: "r2"}}, cs, `orders[0]: restaurant: unknown restaurant "r2"`},
		{"duplicate order", p, []Order{{ID: "o1", Restaurant: "r1"}, {ID: "o1", Restaurant: "r1"}}, cs, `orders[1]: order: duplicate id "o1" (first at index 0)`},
		{"duplicate courier", p, nil, []Courier{{ID: "c1", Off: 1}, {ID: "c1", Off: 1}}, `couriers[1]: courier: duplicate id "c1" (first at couriers[0])`},
		{"NaN courier", p, nil, []Courier{{ID: "c1", X: nanValue(), Off: 1}}, "couriers[0]: x: NaN is not a finite number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewInstance("x", tc.p, tc.orders, rs, tc.couriers)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %s", err, tc.want)
			}
		})
	}
}

func nanValue() float64 { var z float64; return z / z }

func TestWriteInstanceRoundTrip(t *testing.T) {
	in, err := Load(testInstanceDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), in.Name)
	if err := WriteInstance(dir, in); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, in) {
		t.Error("instance changed through WriteInstance and Load")
	}
	for _, name := range []string{OrdersFile, RestaurantsFile, CouriersFile, ParamsFile} {
		a, _ := os.ReadFile(filepath.Join(testInstanceDir(), name))
		b, _ := os.ReadFile(filepath.Join(dir, name))
		if string(a) != string(b) {
			t.Errorf("%s: written file differs from the original", name)
		}
	}
}

func TestTravelMinutes(t *testing.T) {
	in := tiny(t) // 100 m/min
	for _, tc := range []struct {
		ax, ay, bx, by, want float64
	}{
		{0, 0, 0, 0, 0},
		{0, 0, 300, 400, 5},    // exactly 500 m
		{0, 0, 300, 401, 6},    // just over
		{0, 0, -0.5, 0, 1},     // any distance rounds up
		{10, 10, 10, 1010, 10}, // exactly 1000 m
	} {
		if got := in.TravelMinutes(tc.ax, tc.ay, tc.bx, tc.by); got != tc.want {
			t.Errorf("TravelMinutes(%v,%v,%v,%v) = %v, want %v", tc.ax, tc.ay, tc.bx, tc.by, got, tc.want)
		}
	}
}

func TestDataDirEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(DataDirEnv, dir)
	if got, err := DataDir(); err != nil || got != dir {
		t.Errorf("DataDir() = %q, %v; want %q", got, err, dir)
	}
	t.Setenv(DataDirEnv, filepath.Join(dir, "missing"))
	if _, err := DataDir(); !errors.Is(err, ErrNoData) {
		t.Errorf("missing folder: %v", err)
	}
}

// TestLoadAllInstances loads every instance of the shared benchmark folder and
// compares it with its stated characteristics.
func TestLoadAllInstances(t *testing.T) {
	dir := benchDir(t)
	names, err := InstanceNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 72 {
		t.Errorf("%d instances in %s, want 72", len(names), dir)
	}
	for _, name := range names {
		in, err := Load(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if len(in.Orders) == 0 || len(in.Couriers) == 0 || len(in.Restaurants) == 0 {
			t.Errorf("%s: empty instance", name)
		}
		checkCharacteristics(t, filepath.Join(dir, name), in)
	}
}
