package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"zhengxiang/api"
	pb "zhengxiang/api/gen/zhengxiang/v1"
)

// Gateway returns the REST API: grpc-gateway's translation of every call to
// the gRPC server at grpcAddr, which it dials, so that REST calls pass the
// same access check. JSON field names are the protos' own (snake_case), as
// in the OpenAPI document; the Idempotency-Key header reaches CreateOrder
// and a rate-limited call answers 429 with Retry-After.
func Gateway(ctx context.Context, grpcAddr string) (http.Handler, error) {
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
		runtime.WithIncomingHeaderMatcher(func(key string) (string, bool) {
			if strings.EqualFold(key, "Idempotency-Key") {
				return "idempotency-key", true
			}
			return runtime.DefaultHeaderMatcher(key)
		}),
		runtime.WithRoutingErrorHandler(routingError),
		runtime.WithOutgoingHeaderMatcher(func(key string) (string, bool) {
			if key == "retry-after" {
				return "Retry-After", true
			}
			return "", false
		}),
	)
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	conn, err := grpc.NewClient(grpcAddr, opts...)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	context.AfterFunc(ctx, func() { conn.Close() })
	for _, register := range []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		pb.RegisterPlatformServiceHandler,
		pb.RegisterStoreServiceHandler,
		pb.RegisterRiderServiceHandler,
		pb.RegisterConsumerServiceHandler,
		pb.RegisterOperatorServiceHandler,
		pb.RegisterBureauServiceHandler,
		pb.RegisterDropSiteServiceHandler,
		pb.RegisterCampaignServiceHandler,
	} {
		if err := register(ctx, mux, conn); err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
	}
	h := http.NewServeMux()
	h.Handle("GET /v1/figures.csv", newFiguresCSV(conn))
	h.Handle("/", mux)
	return h, nil
}

// routingError answers a request no route takes. A path the API has, asked
// with a method it does not serve, is 405 with the allowed methods, not the
// gateway's default 501 (a server error for what is the client's mistake).
func routingError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	if httpStatus != http.StatusMethodNotAllowed {
		runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
		return
	}
	body, err := m.Marshal(status.New(codes.Unimplemented, r.Method+" is not a method of "+r.URL.Path).Proto())
	if err != nil {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", m.ContentType(nil))
	w.WriteHeader(http.StatusMethodNotAllowed)
	_, _ = w.Write(body)
}

// Mount puts the REST API and its documents on mux: /v1/ (the gateway),
// /openapi.json and /docs (the same document for people).
func Mount(mux *http.ServeMux, gateway http.Handler) {
	mux.Handle("/v1/", gateway)
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(api.OpenAPI)
	})
	mux.HandleFunc("GET /docs", serveDocs)
}
