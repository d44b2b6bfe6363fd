// Package server implements Zhengxiang's public API: the gRPC services of
// api/proto over the dispatch engine and the order record, the access
// check of every call, and the REST gateway in front of them.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync"

	"google.golang.org/grpc"

	"zhengxiang/api/auth"
	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// Config is what the API serves from.
type Config struct {
	Engine *dispatch.Engine
	Repo   orders.Repository
	// Hub must be the publisher the record publishes through, so that
	// watchers see every change (see NewHub).
	Hub     *Hub
	Keys    *auth.Keys
	Limiter *auth.Limiter
	Travel  geo.Travel
	Area    *geo.Area
	Clock   dispatch.Clock
	// Quota keeps the platforms' daily free deliveries of 郑享百味 (nil:
	// there are none).
	Quota orders.QuotaStore
	// Campaigns are the festival's campaigns, which orders join as they
	// are placed (nil: there are none, and none can be created).
	Campaigns *orders.Campaigns
	// PublicURL is where consumers reach the web console, such as
	// "https://zx.example.cn"; tracking links are PublicURL/track/TOKEN.
	PublicURL string
	Logger    *slog.Logger
	// Metrics receives the API's metrics (nil: none are kept).
	Metrics *Metrics
}

// Server implements the services of zhengxiang.v1.
type Server struct {
	pb.UnimplementedPlatformServiceServer
	pb.UnimplementedStoreServiceServer
	pb.UnimplementedRiderServiceServer
	pb.UnimplementedConsumerServiceServer
	pb.UnimplementedOperatorServiceServer
	pb.UnimplementedBureauServiceServer
	pb.UnimplementedDropSiteServiceServer
	pb.UnimplementedCampaignServiceServer

	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	public  string

	reachMu    sync.Mutex
	storeReach *dispatch.Reach
}

// New checks cfg and returns the server.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Engine == nil || cfg.Repo == nil || cfg.Hub == nil:
		return nil, fmt.Errorf("api server: engine, record and hub are required")
	case cfg.Keys == nil || cfg.Limiter == nil:
		return nil, fmt.Errorf("api server: keys and limiter are required")
	case cfg.Travel == nil || cfg.Area == nil || cfg.Clock == nil:
		return nil, fmt.Errorf("api server: travel model, area and clock are required")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("api server: public url %q is not an http(s) address", cfg.PublicURL)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, log: log, metrics: cfg.Metrics, public: u.String()}, nil
}

// GRPC returns a gRPC server with every service registered behind the
// access check.
func (s *Server) GRPC(opts ...grpc.ServerOption) *grpc.Server {
	opts = append(opts, grpc.ChainUnaryInterceptor(s.unary), grpc.ChainStreamInterceptor(s.stream))
	g := grpc.NewServer(opts...)
	pb.RegisterPlatformServiceServer(g, s)
	pb.RegisterStoreServiceServer(g, s)
	pb.RegisterRiderServiceServer(g, s)
	pb.RegisterConsumerServiceServer(g, s)
	pb.RegisterOperatorServiceServer(g, s)
	pb.RegisterBureauServiceServer(g, s)
	pb.RegisterDropSiteServiceServer(g, s)
	pb.RegisterCampaignServiceServer(g, s)
	return g
}

func (s *Server) trackingURL(token string) string { return s.public + "/track/" + token }

// reach returns where the stores deliver (dispatch.Reach), made from the
// stores on first use (and again after a failure).
func (s *Server) reach(ctx context.Context) (*dispatch.Reach, error) {
	s.reachMu.Lock()
	defer s.reachMu.Unlock()
	if s.storeReach != nil {
		return s.storeReach, nil
	}
	list, err := s.cfg.Repo.ListStores(ctx)
	if err != nil {
		return nil, err
	}
	s.storeReach = dispatch.NewReach(s.cfg.Area, s.cfg.Travel, list)
	return s.storeReach, nil
}
