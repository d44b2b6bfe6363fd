package server

import (
	"encoding/csv"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/orders"
)

// figuresCSV serves GET /v1/figures.csv: the festival's figures as a CSV
// file, for the bureau's spreadsheets. It takes the query of GET /v1/figures
// (group_by, then_by repeated, from, to, campaign) and calls BureauService through
// gRPC with the caller's key, so the same access check applies.
type figuresCSV struct {
	bureau pb.BureauServiceClient
}

func newFiguresCSV(conn *grpc.ClientConn) http.Handler {
	return &figuresCSV{bureau: pb.NewBureauServiceClient(conn)}
}

// csvColumns are the file's columns.
var csvColumns = []string{"group", "district", "section", "platform", "day", "orders", "delivered",
	"within_60_min_share", "click_to_door_p50_min", "click_to_door_p90_min", "gmv_cents", "cancelled",
	"cancelled_by_reason", "free_deliveries", "campaign", "campaign_name"}

func (h *figuresCSV) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := figuresQuery(r)
	if err != nil {
		writeStatus(w, statusOf(r.Context(), slog.New(slog.DiscardHandler), "figures.csv", err))
		return
	}
	ctx := r.Context()
	if a := r.Header.Get("Authorization"); a != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", a)
	}
	var header metadata.MD
	resp, err := h.bureau.GetFestivalFigures(ctx, req, grpc.Header(&header))
	if err != nil {
		if ra := header.Get("retry-after"); len(ra) > 0 {
			w.Header().Set("Retry-After", ra[0])
		}
		writeStatus(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="zhengxiang-figures.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(csvColumns)
	for _, row := range append(resp.GetRows(), resp.GetTotal()) {
		_ = cw.Write(csvRow(row))
	}
	cw.Flush()
}

func csvRow(r *pb.FigureRow) []string {
	var section string
	if r.GetSection() != pb.Section_SECTION_UNSPECIFIED {
		section = strings.ToLower(strings.TrimPrefix(r.GetSection().String(), "SECTION_"))
	}
	reasons := make([]string, 0, len(r.GetCancelledByReason()))
	for _, k := range slices.Sorted(maps.Keys(r.GetCancelledByReason())) {
		reasons = append(reasons, k+"="+strconv.FormatInt(r.GetCancelledByReason()[k], 10))
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	return []string{r.GetGroup(), r.GetDistrict(), section, r.GetPlatform(), r.GetDay(), i(r.GetOrders()),
		i(r.GetDelivered()), f(r.GetWithin_60MinShare()), f(r.GetClickToDoorP50Min()), f(r.GetClickToDoorP90Min()),
		i(r.GetGmvCents()), i(r.GetCancelled()), strings.Join(reasons, "; "), i(r.GetFreeDeliveries()),
		r.GetCampaign(), r.GetCampaignName()}
}

// figuresQuery reads the query of GET /v1/figures.csv.
func figuresQuery(r *http.Request) (*pb.GetFestivalFiguresRequest, error) {
	q := r.URL.Query()
	req := &pb.GetFestivalFiguresRequest{}
	grouping := func(field, v string) (pb.Grouping, error) {
		name := strings.ToUpper(v)
		if !strings.HasPrefix(name, "GROUPING_") {
			name = "GROUPING_" + name
		}
		g, ok := pb.Grouping_value[name]
		if !ok {
			return 0, orders.Invalid(field, "%q is not a grouping (district, section, platform, day, campaign)", v)
		}
		return pb.Grouping(g), nil
	}
	if v := q.Get("group_by"); v != "" {
		g, err := grouping("group_by", v)
		if err != nil {
			return nil, err
		}
		req.GroupBy = g
	}
	for _, v := range q["then_by"] {
		g, err := grouping("then_by", v)
		if err != nil {
			return nil, err
		}
		req.ThenBy = append(req.ThenBy, g)
	}
	req.Campaign = q.Get("campaign")
	for _, t := range []struct {
		field string
		dst   **timestamppb.Timestamp
	}{{"from", &req.From}, {"to", &req.To}} {
		if v := q.Get(t.field); v != "" {
			at, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, orders.Invalid(t.field, "%q is not an RFC 3339 time", v)
			}
			*t.dst = timestamppb.New(at)
		}
	}
	return req, nil
}

// writeStatus writes a gRPC status as the gateway does: its HTTP status and
// the google.rpc.Status as JSON.
func writeStatus(w http.ResponseWriter, err error) {
	st := status.Convert(err)
	body, merr := protojson.MarshalOptions{UseProtoNames: true}.Marshal(st.Proto())
	if merr != nil {
		http.Error(w, st.Message(), runtime.HTTPStatusFromCode(st.Code()))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(runtime.HTTPStatusFromCode(st.Code()))
	_, _ = w.Write(body)
}
