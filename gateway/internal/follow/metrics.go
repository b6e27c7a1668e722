package follow

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the follower's Prometheus metrics. Labels hold event names
// and alert kinds from fixed sets only, never record or patient
// identifiers. A nil *Metrics records nothing.
type Metrics struct {
	events *prometheus.CounterVec
	skips  *prometheus.CounterVec
	alerts *prometheus.CounterVec
	block  prometheus.Gauge
}

// NewMetrics creates the metrics and registers them with reg:
// medprov_ledger_events_total{name}, medprov_ledger_events_skipped_total{name},
// medprov_ledger_alerts_total{kind} and medprov_ledger_event_checkpoint_block. It fails if reg already holds
// metrics with these names.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medprov_ledger_events_total",
			Help: "Chaincode events handled by the event follower, by event name (other for a name the gateway does not know). Events replayed after a restart are counted again.",
		}, []string{"name"}),
		skips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medprov_ledger_events_skipped_total",
			Help: "Chaincode events the event follower skipped because their action kept failing, by event name; an alert should watch it.",
		}, []string{"name"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medprov_ledger_alerts_total",
			Help: "Alerts on this organisation's records seen in access events, by kind (EMERGENCY_ACCESS, OUTSIDE_CARE_RELATIONSHIP, DENIAL_BURST, other).",
		}, []string{"kind"}),
		block: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "medprov_ledger_event_checkpoint_block",
			Help: "Block number of the event checkpoint last saved.",
		}),
	}
	for _, c := range []prometheus.Collector{m.events, m.skips, m.alerts, m.block} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) event(name string) {
	if m != nil {
		m.events.WithLabelValues(eventLabel(name)).Inc()
	}
}

func (m *Metrics) skipped(name string) {
	if m != nil {
		m.skips.WithLabelValues(eventLabel(name)).Inc()
	}
}

func (m *Metrics) alert(kind string) {
	if m != nil {
		m.alerts.WithLabelValues(kind).Inc()
	}
}

func (m *Metrics) checkpoint(block uint64) {
	if m != nil {
		m.block.Set(float64(block))
	}
}
