package mdrp

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Metrics are the figures of one solution, defined as in the public MDRP
// evaluator and in reference_dev.csv. Order figures are over delivered orders;
// courier figures are over all couriers of the instance. Percentiles use
// linear interpolation between closest ranks (NumPy's default): the p-th
// percentile of n sorted values v is v[h] interpolated at h = (n-1)p.
type Metrics struct {
	Instance, Algo string
	Orders         int  // orders of the instance
	Delivered      int  // orders delivered
	Feasible       bool // Check found no violation

	// Click-to-door = drop-off - placement, minutes.
	CTDMean, CTDP50, CTDP90, CTDMax float64
	// Shares of delivered orders with a click-to-door strictly over 40, 60
	// and 90 minutes, in percent (27.45 means 27.45 %).
	PctCTDGt40, PctCTDGt60, PctCTDGt90 float64
	// CTDOverageMean is the mean of max(0, click-to-door - TargetCTD).
	CTDOverageMean float64

	// Ready-to-pickup = pickup - ready; ready-to-door = drop-off - ready.
	R2PMean, R2PP90, R2DMean float64

	// CourierHours is the sum of the couriers' duty time (off - on) in hours.
	CourierHours float64
	// OrdersPerCourierHour is Delivered / CourierHours.
	OrdersPerCourierHour float64
	// TotalPay sums each courier's max(PayPerOrder × its orders, PayPerHour × its duty hours).
	TotalPay float64
	// CostPerOrder is TotalPay / Delivered (0 when nothing is delivered).
	CostPerOrder float64
	// FracCouriersGuarantee is the fraction of couriers whose guaranteed pay
	// is strictly greater than their per-order pay.
	FracCouriersGuarantee float64
	// OrdersPerBundleMean is the mean number of orders per assignment.
	OrdersPerBundleMean float64
	// UtilizationMean is the mean over couriers of (travel minutes of its
	// moves, each rounded up to a whole minute, + PickupService per bundle +
	// DropoffService per order) / duty minutes; 0 for an idle courier.
	UtilizationMean float64
}

// Evaluate computes the metrics of a solution. They are computed from the
// solution's claimed times (for a feasible solution these equal the
// recomputed ones) over the assignments Check could read: known ids and
// well-formed fields; an order held by several assignments counts once, at
// its first. Travel minutes for utilization come from the instance's travel
// rule along each route. Metrics.Feasible tells whether Check passed.
func Evaluate(in *Instance, s *Solution) Metrics {
	an := analyze(in, s)
	if s == nil {
		s = &Solution{}
	}
	m := Metrics{Instance: s.Instance, Algo: s.Algo, Feasible: an.report.Feasible}
	if in == nil {
		return m
	}
	if m.Instance == "" {
		m.Instance = in.Name
	}
	p := in.Params
	m.Orders = len(in.Orders)

	var ctd, r2p, r2d []float64
	perCourier := make([]int, len(in.Couriers))
	bundles := make([]int, len(in.Couriers))
	busy := make([]float64, len(in.Couriers))
	var nAssign, nBundled int
	for i, a := range s.Assignments {
		if !an.usable[i] {
			continue
		}
		ci := an.courier[i]
		nAssign++
		nBundled += len(a.Orders)
		bundles[ci]++
		busy[ci] += an.travel[i] + p.PickupService + p.DropoffService*float64(len(a.Orders))
		for k, oi := range an.orders[i] {
			if !an.counted[i][k] {
				continue
			}
			o := in.Orders[oi]
			perCourier[ci]++
			ctd = append(ctd, a.Dropoffs[k]-o.Placement)
			r2p = append(r2p, a.Pickup-o.Ready)
			r2d = append(r2d, a.Dropoffs[k]-o.Ready)
		}
	}
	m.Delivered = len(ctd)
	if m.Delivered > 0 {
		m.CTDMean = mean(ctd)
		m.CTDP50 = Percentile(ctd, 0.5)
		m.CTDP90 = Percentile(ctd, 0.9)
		m.CTDMax = slices.Max(ctd)
		m.PctCTDGt40 = pctOver(ctd, 40)
		m.PctCTDGt60 = pctOver(ctd, 60)
		m.PctCTDGt90 = pctOver(ctd, 90)
		var over float64
		for _, v := range ctd {
			over += math.Max(0, v-p.TargetCTD)
		}
		m.CTDOverageMean = over / float64(len(ctd))
		m.R2PMean = mean(r2p)
		m.R2PP90 = Percentile(r2p, 0.9)
		m.R2DMean = mean(r2d)
	}
	m.CourierHours = in.CourierHours()
	if m.CourierHours > 0 {
		m.OrdersPerCourierHour = float64(m.Delivered) / m.CourierHours
	}
	var guaranteed int
	var util float64
	for ci, c := range in.Couriers {
		duty := c.Off - c.On
		byOrder := p.PayPerOrder * float64(perCourier[ci])
		byHour := p.PayPerHour * duty / 60
		m.TotalPay += math.Max(byOrder, byHour)
		if byOrder < byHour {
			guaranteed++
		}
		if duty > 0 {
			util += busy[ci] / duty
		}
	}
	if n := len(in.Couriers); n > 0 {
		m.FracCouriersGuarantee = float64(guaranteed) / float64(n)
		m.UtilizationMean = util / float64(n)
	}
	if m.Delivered > 0 {
		m.CostPerOrder = m.TotalPay / float64(m.Delivered)
	}
	if nAssign > 0 {
		m.OrdersPerBundleMean = float64(nBundled) / float64(nAssign)
	}
	return m
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func pctOver(xs []float64, limit float64) float64 {
	n := 0
	for _, x := range xs {
		if x > limit {
			n++
		}
	}
	return 100 * float64(n) / float64(len(xs))
}

// Percentile returns the p-th quantile (0 <= p <= 1) of xs with linear
// interpolation between closest ranks, as NumPy's default; 0 for no values.
// xs is not modified.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	p = math.Min(1, math.Max(0, p))
	h := float64(len(s)-1) * p
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}

// Reference is one row of reference_dev.csv: the figures of a public
// algorithm on one instance. Field meanings are those of Metrics.
type Reference struct {
	Instance, Algo        string
	Feasible              bool
	Delivered, Orders     int
	TotalPay              float64
	FracCouriersGuarantee float64
	CTDMean, CTDP50       float64
	CTDP90, CTDMax        float64
	PctCTDGt40            float64
	PctCTDGt60            float64
	PctCTDGt90            float64
	CTDOverageMean        float64
	R2PMean, R2PP90       float64
	R2DMean               float64
	CourierHours          float64
	OrdersPerCourierHour  float64
	CostPerOrder          float64
	OrdersPerBundleMean   float64
	UtilizationMean       float64
}

// Metrics returns the row as Metrics, to compare it with Evaluate's output.
func (r Reference) Metrics() Metrics {
	return Metrics{
		Instance: r.Instance, Algo: r.Algo, Orders: r.Orders, Delivered: r.Delivered, Feasible: r.Feasible,
		CTDMean: r.CTDMean, CTDP50: r.CTDP50, CTDP90: r.CTDP90, CTDMax: r.CTDMax,
		PctCTDGt40: r.PctCTDGt40, PctCTDGt60: r.PctCTDGt60, PctCTDGt90: r.PctCTDGt90, CTDOverageMean: r.CTDOverageMean,
		R2PMean: r.R2PMean, R2PP90: r.R2PP90, R2DMean: r.R2DMean,
		CourierHours: r.CourierHours, OrdersPerCourierHour: r.OrdersPerCourierHour, TotalPay: r.TotalPay,
		CostPerOrder: r.CostPerOrder, FracCouriersGuarantee: r.FracCouriersGuarantee,
		OrdersPerBundleMean: r.OrdersPerBundleMean, UtilizationMean: r.UtilizationMean,
	}
}

// MetricsColumns are the columns of reference_dev.csv, in its order.
var MetricsColumns = []string{
	"instance", "algo", "feasible", "delivered", "orders", "total_payment", "frac_couriers_guarantee",
	"ctd_mean", "ctd_p50", "ctd_p90", "ctd_max", "pct_ctd_gt_40", "pct_ctd_gt_60", "pct_ctd_gt_90",
	"ctd_overage_mean", "r2p_mean", "r2p_p90", "r2d_mean", "courier_hours", "orders_per_courier_hour",
	"cost_per_order", "orders_per_bundle_mean", "utilization_mean",
}

// metricsFloats lists the float columns with a pointer into Metrics and the
// number of decimals reference_dev.csv rounds them to.
func metricsFloats(m *Metrics) []struct {
	col string
	v   *float64
	dec int
} {
	type f = struct {
		col string
		v   *float64
		dec int
	}
	return []f{
		{"total_payment", &m.TotalPay, 2}, {"frac_couriers_guarantee", &m.FracCouriersGuarantee, 2},
		{"ctd_mean", &m.CTDMean, 2}, {"ctd_p50", &m.CTDP50, 2}, {"ctd_p90", &m.CTDP90, 2}, {"ctd_max", &m.CTDMax, 2},
		{"pct_ctd_gt_40", &m.PctCTDGt40, 2}, {"pct_ctd_gt_60", &m.PctCTDGt60, 2}, {"pct_ctd_gt_90", &m.PctCTDGt90, 2},
		{"ctd_overage_mean", &m.CTDOverageMean, 2}, {"r2p_mean", &m.R2PMean, 2}, {"r2p_p90", &m.R2PP90, 2},
		{"r2d_mean", &m.R2DMean, 2}, {"courier_hours", &m.CourierHours, 2},
		{"orders_per_courier_hour", &m.OrdersPerCourierHour, 3}, {"cost_per_order", &m.CostPerOrder, 3},
		{"orders_per_bundle_mean", &m.OrdersPerBundleMean, 2}, {"utilization_mean", &m.UtilizationMean, 2},
	}
}

// Rounded returns the metrics rounded as reference_dev.csv rounds them: three
// decimals for orders per courier-hour and cost per order, two for the others.
func (m Metrics) Rounded() Metrics {
	for _, f := range metricsFloats(&m) {
		*f.v = roundTo(*f.v, f.dec)
	}
	return m
}

func roundTo(v float64, dec int) float64 {
	s := math.Pow(10, float64(dec))
	return math.Round(v*s) / s
}

// WriteMetricsCSV writes metrics as a CSV table with the columns and rounding
// of reference_dev.csv, so results can be set beside the reference rows.
func WriteMetricsCSV(w io.Writer, ms []Metrics) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(MetricsColumns); err != nil {
		return err
	}
	for _, m := range ms {
		m = m.Rounded()
		feas := "INFEASIBLE"
		if m.Feasible {
			feas = "FEASIBLE"
		}
		rec := map[string]string{
			"instance": m.Instance, "algo": m.Algo, "feasible": feas,
			"delivered": strconv.Itoa(m.Delivered), "orders": strconv.Itoa(m.Orders),
		}
		for _, f := range metricsFloats(&m) {
			rec[f.col] = pyFloat(*f.v)
		}
		row := make([]string, len(MetricsColumns))
		for i, c := range MetricsColumns {
			row[i] = rec[c]
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// LoadReference reads reference_dev.csv: a comma-separated table whose header
// names the columns of MetricsColumns (in any order).
func LoadReference(path string) ([]Reference, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadReference(f, filepath.Base(path))
}

// ReadReference reads a reference table from r; name is the file name used in
// error messages.
func ReadReference(r io.Reader, name string) ([]Reference, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &ParseError{File: name, Err: "empty file, no header line"}
	}
	if err != nil {
		return nil, &ParseError{File: name, Line: 1, Err: err.Error()}
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	perm, err := headerPerm(name, 1, header, MetricsColumns)
	if err != nil {
		return nil, err
	}
	var out []Reference
	seen := make(map[[2]string]int)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var ce *csv.ParseError
			if errors.As(err, &ce) {
				return nil, &ParseError{File: name, Line: ce.Line, Err: ce.Err.Error()}
			}
			return nil, &ParseError{File: name, Err: err.Error()}
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(MetricsColumns) {
			return nil, &ParseError{File: name, Line: line, Err: fmt.Sprintf("%d fields, the header has %d", len(rec), len(MetricsColumns))}
		}
		row := make(map[string]string, len(rec))
		for k, v := range rec {
			row[MetricsColumns[perm[k]]] = strings.TrimSpace(v)
		}
		m := Metrics{Instance: row["instance"], Algo: row["algo"]}
		if m.Instance == "" || m.Algo == "" {
			return nil, &ParseError{File: name, Line: line, Err: "missing instance or algo"}
		}
		key := [2]string{m.Instance, m.Algo}
		if first, dup := seen[key]; dup {
			return nil, &ParseError{File: name, Line: line, Err: fmt.Sprintf("duplicate row for %s %s (first on line %d)", m.Instance, m.Algo, first)}
		}
		seen[key] = line
		switch row["feasible"] {
		case "FEASIBLE":
			m.Feasible = true
		case "INFEASIBLE":
		default:
			return nil, &ParseError{File: name, Line: line, Column: "feasible", Err: fmt.Sprintf("%q is neither FEASIBLE nor INFEASIBLE", row["feasible"])}
		}
		for _, c := range []struct {
			col string
			v   *int
		}{{"delivered", &m.Delivered}, {"orders", &m.Orders}} {
			n, err := strconv.Atoi(row[c.col])
			if err != nil || n < 0 {
				return nil, &ParseError{File: name, Line: line, Column: c.col, Err: fmt.Sprintf("%q is not a count", row[c.col])}
			}
			*c.v = n
		}
		for _, f := range metricsFloats(&m) {
			v, msg := parseNumber(row[f.col])
			if msg != "" {
				return nil, &ParseError{File: name, Line: line, Column: f.col, Err: msg}
			}
			*f.v = v
		}
		out = append(out, referenceOf(m))
	}
	return out, nil
}

func referenceOf(m Metrics) Reference {
	return Reference{
		Instance: m.Instance, Algo: m.Algo, Feasible: m.Feasible, Delivered: m.Delivered, Orders: m.Orders,
		TotalPay: m.TotalPay, FracCouriersGuarantee: m.FracCouriersGuarantee,
		CTDMean: m.CTDMean, CTDP50: m.CTDP50, CTDP90: m.CTDP90, CTDMax: m.CTDMax,
		PctCTDGt40: m.PctCTDGt40, PctCTDGt60: m.PctCTDGt60, PctCTDGt90: m.PctCTDGt90, CTDOverageMean: m.CTDOverageMean,
		R2PMean: m.R2PMean, R2PP90: m.R2PP90, R2DMean: m.R2DMean,
		CourierHours: m.CourierHours, OrdersPerCourierHour: m.OrdersPerCourierHour, CostPerOrder: m.CostPerOrder,
		OrdersPerBundleMean: m.OrdersPerBundleMean, UtilizationMean: m.UtilizationMean,
	}
}

// FindReference returns the row of refs for the instance and algorithm.
func FindReference(refs []Reference, instance, algo string) (Reference, bool) {
	for _, r := range refs {
		if r.Instance == instance && r.Algo == algo {
			return r, true
		}
	}
	return Reference{}, false
}
