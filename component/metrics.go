package component

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the Prometheus series the component layer exports. A nil
// *Metrics is valid and records nothing, which keeps unit tests simple.
type Metrics struct {
	in, out, errors *prometheus.CounterVec
	reconnects      *prometheus.CounterVec
	drops           *prometheus.CounterVec
	queue, sessions *prometheus.GaugeVec
	linkUp          *prometheus.GaugeVec
}

// panics is process-wide: every goroutine root recovers into it.
var panics = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "ferry_panics_total", Help: "Panics recovered in goroutine roots.",
})

// NewMetrics registers the component series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	vec := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		reg.MustRegister(c)
		return c
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{"transport"})
		reg.MustRegister(g)
		return g
	}
	m := &Metrics{
		in:         vec("ferry_stanzas_in_total", "Stanzas received from the XMPP server.", "transport", "kind"),
		out:        vec("ferry_stanzas_out_total", "Stanzas written to the XMPP server.", "transport", "kind"),
		errors:     vec("ferry_stanza_errors_total", "Error replies sent, by condition.", "transport", "condition"),
		reconnects: vec("ferry_reconnects_total", "Component link reconnect attempts.", "transport"),
		drops:      vec("ferry_queue_full_total", "Stanzas refused because the outbound queue was full.", "transport"),
		queue:      gauge("ferry_queue_depth", "Stanzas waiting in the in-memory outbound queue."),
		sessions:   gauge("ferry_sessions", "Open legacy sessions."),
		linkUp:     gauge("ferry_link_up", "1 while the component stream is authenticated."),
	}
	reg.MustRegister(panics)
	return m
}

func (m *Metrics) stanzaIn(t, kind string) {
	if m != nil {
		m.in.WithLabelValues(t, kind).Inc()
	}
}

func (m *Metrics) stanzaOut(t, kind string) {
	if m != nil {
		m.out.WithLabelValues(t, kind).Inc()
	}
}

func (m *Metrics) stanzaError(t, cond string) {
	if m != nil {
		m.errors.WithLabelValues(t, cond).Inc()
	}
}

func (m *Metrics) reconnect(t string) {
	if m != nil {
		m.reconnects.WithLabelValues(t).Inc()
	}
}

func (m *Metrics) dropped(t string) {
	if m != nil {
		m.drops.WithLabelValues(t).Inc()
	}
}

func (m *Metrics) queueDepth(t string, n int) {
	if m != nil {
		m.queue.WithLabelValues(t).Set(float64(n))
	}
}

func (m *Metrics) sessionDelta(t string, d int) {
	if m != nil {
		m.sessions.WithLabelValues(t).Add(float64(d))
	}
}

func (m *Metrics) setLinkUp(t string, up bool) {
	if m != nil {
		v := 0.0
		if up {
			v = 1
		}
		m.linkUp.WithLabelValues(t).Set(v)
	}
}
