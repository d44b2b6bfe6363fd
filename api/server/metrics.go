package server

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/status"
)

// Metrics are the API's Prometheus metrics, all prefixed zx_.
type Metrics struct {
	requests *prometheus.HistogramVec
}

// NewMetrics registers the API's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zx_api_request_seconds",
			Help:    "Time to answer an API call, by method and gRPC code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method", "code"}),
	}
	reg.MustRegister(m.requests)
	return m
}

// observe records one call.
func (m *Metrics) observe(method string, err error, took time.Duration) {
	if m == nil {
		return
	}
	method = method[strings.LastIndexByte(method, '/')+1:]
	m.requests.WithLabelValues(method, status.Code(err).String()).Observe(took.Seconds())
}
