package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
)

// Metrics are the gateway's Prometheus metrics. Labels hold method names,
// status codes, results and organisation IDs only: never record, patient or
// consent identifiers, so no label can single out a person.
type Metrics struct {
	rpcs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	anchors  *prometheus.CounterVec
	bytes    *prometheus.CounterVec
	tickets  *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg. It fails if
// reg already holds metrics with the same names.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		rpcs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medprov_gateway_rpcs_total",
			Help: "RPCs handled, by full method name and gRPC status code.",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "medprov_gateway_rpc_duration_seconds",
			Help:    "Time to handle an RPC, by full method name.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "medprov_gateway_rpcs_in_flight",
			Help: "RPCs being handled now.",
		}),
		anchors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medprov_gateway_record_versions_total",
			Help: "Record versions stored and anchored (operation add, amend or copy), or failed.",
		}, []string{"operation", "result"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medprov_gateway_record_bytes_total",
			Help: "Record content bytes moved, by direction (in: uploaded or fetched copies; out: downloads and copies served).",
		}, []string{"direction"}),
		tickets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medprov_gateway_access_tickets_total",
			Help: "Access tickets presented by other gateways, by result (served or the gRPC code of the refusal).",
		}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{m.rpcs, m.duration, m.inFlight, m.anchors, m.bytes, m.tickets} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) observeRPC(method string, code codes.Code, d time.Duration) {
	m.rpcs.WithLabelValues(method, code.String()).Inc()
	m.duration.WithLabelValues(method).Observe(d.Seconds())
}

func (m *Metrics) anchored(operation string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.anchors.WithLabelValues(operation, result).Inc()
}
