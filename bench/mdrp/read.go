package mdrp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseError reports a problem at one line (and column) of an instance,
// solution or reference file, e.g.
// "orders.txt line 7: ready_time: 3 is before placement_time 5".
type ParseError struct {
	File   string // base name of the file
	Line   int    // 1-based line number; 0 when the problem concerns the whole file
	Column string // column name, or "" when the problem concerns the whole line
	Err    string
}

// Error formats the error as "file line N: column: message".
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	b.WriteString(": ")
	if e.Column != "" {
		b.WriteString(e.Column)
		b.WriteString(": ")
	}
	b.WriteString(e.Err)
	return b.String()
}

// Column names of the instance files.
const (
	colOrder      = "order"
	colRestaurant = "restaurant"
	colCourier    = "courier"
	colX          = "x"
	colY          = "y"
	colPlacement  = "placement_time"
	colReady      = "ready_time"
	colOn         = "on_time"
	colOff        = "off_time"

	colMPM     = "meters_per_minute"
	colPickup  = "pickup service minutes"
	colDropoff = "dropoff service minutes"
	colTarget  = "target click-to-door"
	colMaxCTD  = "maximum click-to-door"
	colPayOrd  = "pay per order"
	colPayHour = "guaranteed pay per hour"
)

var (
	orderCols      = []string{colOrder, colX, colY, colPlacement, colRestaurant, colReady}
	restaurantCols = []string{colRestaurant, colX, colY}
	courierCols    = []string{colCourier, colX, colY, colOn, colOff}
	paramCols      = []string{colMPM, colPickup, colDropoff, colTarget, colMaxCTD, colPayOrd, colPayHour}
)

// Limits on the values the readers accept. They are far beyond any real
// instance and keep every computed time finite.
const (
	maxCoord   = 1e9 // metres
	maxTime    = 1e9 // minutes
	minSpeed   = 1e-3
	maxSpeed   = 1e9
	maxService = 1e6
	maxMoney   = 1e9
	maxLineLen = 1 << 20
)

// ReadOrders reads orders.txt: a tab-separated table with the header
// order, x, y, placement_time, restaurant, ready_time (in any column order).
// Ids must be unique and non-empty, coordinates finite, times >= 0 and
// ready_time >= placement_time. Restaurant references are checked by Load.
func ReadOrders(r io.Reader) ([]Order, error) {
	orders, _, err := readOrders(r)
	return orders, err
}

// ReadRestaurants reads restaurants.txt: a tab-separated table with the header
// restaurant, x, y. Ids must be unique and non-empty, coordinates finite.
func ReadRestaurants(r io.Reader) ([]Restaurant, error) {
	rs, _, err := readRestaurants(r)
	return rs, err
}

// ReadCouriers reads couriers.txt: a tab-separated table with the header
// courier, x, y, on_time, off_time. Ids must be unique and non-empty,
// coordinates finite, on_time >= 0 and off_time > on_time.
func ReadCouriers(r io.Reader) ([]Courier, error) {
	cs, _, err := readCouriers(r)
	return cs, err
}

// ReadParams reads instance_parameters.txt: a tab-separated table with one data
// row under the header meters_per_minute, pickup service minutes, dropoff
// service minutes, target click-to-door, maximum click-to-door, pay per order,
// guaranteed pay per hour. The speed must be positive, service times, pay and
// click-to-door limits non-negative, and the maximum click-to-door at least the
// target.
func ReadParams(r io.Reader) (Params, error) {
	t, err := readTable(r, ParamsFile, paramCols)
	if err != nil {
		return Params{}, err
	}
	if len(t.rows) == 0 {
		return Params{}, &ParseError{File: ParamsFile, Err: "no data row"}
	}
	if len(t.rows) > 1 {
		return Params{}, &ParseError{File: ParamsFile, Line: t.lines[1], Err: "more than one data row"}
	}
	var p Params
	rp := rowParser{t: t, i: 0}
	p.MetersPerMinute = rp.num(0)
	p.PickupService = rp.num(1)
	p.DropoffService = rp.num(2)
	p.TargetCTD = rp.num(3)
	p.MaxCTD = rp.num(4)
	p.PayPerOrder = rp.num(5)
	p.PayPerHour = rp.num(6)
	if rp.err != nil {
		return Params{}, rp.err
	}
	if fe := validateParams(p); fe != nil {
		return Params{}, t.errAt(0, fe)
	}
	return p, nil
}

func readOrders(r io.Reader) ([]Order, []int, error) {
	t, err := readTable(r, OrdersFile, orderCols)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Order, 0, len(t.rows))
	seen := make(map[string]int, len(t.rows))
	for i := range t.rows {
		rp := rowParser{t: t, i: i}
		o := Order{
			ID:         rp.str(0),
			X:          rp.num(1),
			Y:          rp.num(2),
			Placement:  rp.num(3),
			Restaurant: rp.str(4),
			Ready:      rp.num(5),
		}
		if rp.err != nil {
			return nil, nil, rp.err
		}
		if fe := validateOrder(o); fe != nil {
			return nil, nil, t.errAt(i, fe)
		}
		if err := t.unique(seen, i, colOrder, o.ID); err != nil {
			return nil, nil, err
		}
		out = append(out, o)
	}
	return out, t.lines, nil
}

func readRestaurants(r io.Reader) ([]Restaurant, []int, error) {
	t, err := readTable(r, RestaurantsFile, restaurantCols)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Restaurant, 0, len(t.rows))
	seen := make(map[string]int, len(t.rows))
	for i := range t.rows {
		rp := rowParser{t: t, i: i}
		x := Restaurant{ID: rp.str(0), X: rp.num(1), Y: rp.num(2)}
		if rp.err != nil {
			return nil, nil, rp.err
		}
		if fe := validateRestaurant(x); fe != nil {
			return nil, nil, t.errAt(i, fe)
		}
		if err := t.unique(seen, i, colRestaurant, x.ID); err != nil {
			return nil, nil, err
		}
		out = append(out, x)
	}
	return out, t.lines, nil
}

func readCouriers(r io.Reader) ([]Courier, []int, error) {
	t, err := readTable(r, CouriersFile, courierCols)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Courier, 0, len(t.rows))
	seen := make(map[string]int, len(t.rows))
	for i := range t.rows {
		rp := rowParser{t: t, i: i}
		c := Courier{ID: rp.str(0), X: rp.num(1), Y: rp.num(2), On: rp.num(3), Off: rp.num(4)}
		if rp.err != nil {
			return nil, nil, rp.err
		}
		if fe := validateCourier(c); fe != nil {
			return nil, nil, t.errAt(i, fe)
		}
		if err := t.unique(seen, i, colCourier, c.ID); err != nil {
			return nil, nil, err
		}
		out = append(out, c)
	}
	return out, t.lines, nil
}

// table is a parsed tab-separated file whose row fields are in the canonical
// column order.
type table struct {
	file  string
	cols  []string
	rows  [][]string
	lines []int
}

// readTable reads a tab-separated file with a header line naming exactly cols
// (in any order). Blank lines are skipped; a UTF-8 byte order mark and CR line
// ends are tolerated; fields are trimmed of surrounding white space.
func readTable(r io.Reader, file string, cols []string) (*table, error) {
	if r == nil {
		return nil, &ParseError{File: file, Err: "no input"}
	}
	t := &table{file: file, cols: cols}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), maxLineLen)
	var perm []int // perm[k] = canonical index of file column k
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		fields := strings.Split(text, "\t")
		for k := range fields {
			fields[k] = strings.TrimSpace(fields[k])
		}
		if perm == nil {
			p, err := headerPerm(file, line, fields, cols)
			if err != nil {
				return nil, err
			}
			perm = p
			continue
		}
		if len(fields) != len(cols) {
			return nil, &ParseError{File: file, Line: line, Err: fmt.Sprintf("%d fields, the header has %d", len(fields), len(cols))}
		}
		row := make([]string, len(cols))
		for k, f := range fields {
			row[perm[k]] = f
		}
		t.rows = append(t.rows, row)
		t.lines = append(t.lines, line)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &ParseError{File: file, Line: line + 1, Err: fmt.Sprintf("line longer than %d bytes", maxLineLen)}
		}
		return nil, &ParseError{File: file, Line: line, Err: err.Error()}
	}
	if perm == nil {
		return nil, &ParseError{File: file, Err: "empty file, no header line"}
	}
	return t, nil
}

func headerPerm(file string, line int, fields, cols []string) ([]int, error) {
	perm := make([]int, len(fields))
	seen := make([]bool, len(cols))
	for k, f := range fields {
		j := indexOf(cols, f)
		if j < 0 {
			return nil, &ParseError{File: file, Line: line, Err: fmt.Sprintf("unexpected column %q in header (want %s)", f, strings.Join(quoteAll(cols), ", "))}
		}
		if seen[j] {
			return nil, &ParseError{File: file, Line: line, Err: fmt.Sprintf("duplicate column %q in header", f)}
		}
		seen[j] = true
		perm[k] = j
	}
	for j, ok := range seen {
		if !ok {
			return nil, &ParseError{File: file, Line: line, Err: fmt.Sprintf("missing column %q in header", cols[j])}
		}
	}
	return perm, nil
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strconv.Quote(x)
	}
	return out
}

func (t *table) errAt(i int, fe *fieldError) error {
	return &ParseError{File: t.file, Line: t.lines[i], Column: fe.col, Err: fe.msg}
}

func (t *table) unique(seen map[string]int, i int, col, id string) error {
	if j, dup := seen[id]; dup {
		return &ParseError{File: t.file, Line: t.lines[i], Column: col, Err: fmt.Sprintf("duplicate id %q (first on line %d)", id, t.lines[j])}
	}
	seen[id] = i
	return nil
}

// rowParser converts the fields of one row, keeping the first error.
type rowParser struct {
	t   *table
	i   int
	err error
}

func (p *rowParser) str(j int) string { return p.t.rows[p.i][j] }

func (p *rowParser) num(j int) float64 {
	if p.err != nil {
		return 0
	}
	s := p.t.rows[p.i][j]
	v, msg := parseNumber(s)
	if msg != "" {
		p.err = &ParseError{File: p.t.file, Line: p.t.lines[p.i], Column: p.t.cols[j], Err: msg}
	}
	return v
}

// parseNumber parses a finite decimal number; on failure it returns a message.
func parseNumber(s string) (float64, string) {
	if s == "" {
		return 0, "missing value"
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Sprintf("%q is not a number", s)
	}
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Sprintf("%q is not a finite number", s)
	}
	return v, ""
}

// fieldError is a validation failure of one column of a record.
type fieldError struct{ col, msg string }

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func checkID(col, id string) *fieldError {
	if id == "" {
		return &fieldError{col, "missing id"}
	}
	if !utf8.ValidString(id) {
		return &fieldError{col, fmt.Sprintf("id %q is not valid UTF-8", id)}
	}
	for _, r := range id {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return &fieldError{col, fmt.Sprintf("id %q contains white space or a control character", id)}
		}
	}
	return nil
}

func checkRange(col string, v, lo, hi float64) *fieldError {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return &fieldError{col, fmt.Sprintf("%s is not a finite number", num(v))}
	}
	if v < lo || v > hi {
		return &fieldError{col, fmt.Sprintf("%s is out of range [%s, %s]", num(v), num(lo), num(hi))}
	}
	return nil
}

func firstErr(fs ...*fieldError) *fieldError {
	for _, f := range fs {
		if f != nil {
			return f
		}
	}
	return nil
}

func validateOrder(o Order) *fieldError {
	if fe := firstErr(
		checkID(colOrder, o.ID),
		checkRange(colX, o.X, -maxCoord, maxCoord),
		checkRange(colY, o.Y, -maxCoord, maxCoord),
		checkRange(colPlacement, o.Placement, 0, maxTime),
		checkID(colRestaurant, o.Restaurant),
		checkRange(colReady, o.Ready, 0, maxTime),
	); fe != nil {
		return fe
	}
	if o.Ready < o.Placement {
		return &fieldError{colReady, fmt.Sprintf("%s is before %s %s", num(o.Ready), colPlacement, num(o.Placement))}
	}
	return nil
}

func validateRestaurant(r Restaurant) *fieldError {
	return firstErr(
		checkID(colRestaurant, r.ID),
		checkRange(colX, r.X, -maxCoord, maxCoord),
		checkRange(colY, r.Y, -maxCoord, maxCoord),
	)
}

func validateCourier(c Courier) *fieldError {
	if fe := firstErr(
		checkID(colCourier, c.ID),
		checkRange(colX, c.X, -maxCoord, maxCoord),
		checkRange(colY, c.Y, -maxCoord, maxCoord),
		checkRange(colOn, c.On, 0, maxTime),
		checkRange(colOff, c.Off, 0, maxTime),
	); fe != nil {
		return fe
	}
	if c.Off <= c.On {
		return &fieldError{colOff, fmt.Sprintf("%s is not after %s %s", num(c.Off), colOn, num(c.On))}
	}
	return nil
}

func validateParams(p Params) *fieldError {
	if p.MetersPerMinute <= 0 {
		return &fieldError{colMPM, fmt.Sprintf("%s is not positive", num(p.MetersPerMinute))}
	}
	if fe := firstErr(
		checkRange(colMPM, p.MetersPerMinute, minSpeed, maxSpeed),
		checkRange(colPickup, p.PickupService, 0, maxService),
		checkRange(colDropoff, p.DropoffService, 0, maxService),
		checkRange(colTarget, p.TargetCTD, 0, maxTime),
		checkRange(colMaxCTD, p.MaxCTD, 0, maxTime),
		checkRange(colPayOrd, p.PayPerOrder, 0, maxMoney),
		checkRange(colPayHour, p.PayPerHour, 0, maxMoney),
	); fe != nil {
		return fe
	}
	if p.MaxCTD < p.TargetCTD {
		return &fieldError{colMaxCTD, fmt.Sprintf("%s is below %s %s", num(p.MaxCTD), colTarget, num(p.TargetCTD))}
	}
	return nil
}

// WriteInstance writes the instance's orders.txt, restaurants.txt,
// couriers.txt and instance_parameters.txt into dir (created if needed), in
// the benchmark's tab-separated format, so that Load reads it back unchanged.
func WriteInstance(dir string, in *Instance) error {
	if in == nil {
		return errors.New("mdrp: WriteInstance: nil instance")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{
		{OrdersFile, encodeOrders(in.Orders)},
		{RestaurantsFile, encodeRestaurants(in.Restaurants)},
		{CouriersFile, encodeCouriers(in.Couriers)},
		{ParamsFile, encodeParams(in.Params)},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func tnum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func encodeRows(cols []string, n int, row func(i int) []string) []byte {
	var b bytes.Buffer
	b.WriteString(strings.Join(cols, "\t"))
	b.WriteByte('\n')
	for i := 0; i < n; i++ {
		b.WriteString(strings.Join(row(i), "\t"))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func encodeOrders(orders []Order) []byte {
	return encodeRows(orderCols, len(orders), func(i int) []string {
		o := orders[i]
		return []string{o.ID, tnum(o.X), tnum(o.Y), tnum(o.Placement), o.Restaurant, tnum(o.Ready)}
	})
}

func encodeRestaurants(rs []Restaurant) []byte {
	return encodeRows(restaurantCols, len(rs), func(i int) []string {
		r := rs[i]
		return []string{r.ID, tnum(r.X), tnum(r.Y)}
	})
}

func encodeCouriers(cs []Courier) []byte {
	return encodeRows(courierCols, len(cs), func(i int) []string {
		c := cs[i]
		return []string{c.ID, tnum(c.X), tnum(c.Y), tnum(c.On), tnum(c.Off)}
	})
}

func encodeParams(p Params) []byte {
	return encodeRows(paramCols, 1, func(int) []string {
		return []string{tnum(p.MetersPerMinute), tnum(p.PickupService), tnum(p.DropoffService),
			tnum(p.TargetCTD), tnum(p.MaxCTD), tnum(p.PayPerOrder), tnum(p.PayPerHour)}
	})
}
