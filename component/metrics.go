package component

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus series the component layer exports. A nil
// *Metrics is valid and records nothing, which keeps unit tests simple.
type Metrics struct {
	in, out, errors *prometheus.CounterVec
	reconnects      *prometheus.CounterVec
	panics          prometheus.Counter
	queue           *prometheus.GaugeVec
	sessions        *prometheus.GaugeVec
	linkUp          *prometheus.GaugeVec
}

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
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_panics_total", Help: "Panics recovered in goroutine roots.",
		}),
		queue:    gauge("ferry_queue_depth", "Stanzas waiting in memory for the XMPP server."),
		sessions: gauge("ferry_sessions", "Open legacy sessions."),
		linkUp:   gauge("ferry_link_up", "1 while the component stream is authenticated."),
	}
	reg.MustRegister(m.panics)
	return m
}

// Panicked counts one recovered panic (the supervisor's hook).
func (m *Metrics) Panicked() {
	if m != nil {
		m.panics.Inc()
	}
}

func (m *Metrics) stanzaIn(t, kind string) {
	if m != nil {
		m.in.WithLabelValues(t, kind).Inc()
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

// outCounters are a writer's counters of written stanzas, looked up once
// per kind instead of once per stanza.
type outCounters struct {
	vec     *prometheus.CounterVec
	domain  string
	byKind  map[string]prometheus.Counter
	durable prometheus.Counter
	depth   prometheus.Gauge
}

func (m *Metrics) outCounters(domain string) *outCounters {
	if m == nil {
		return nil
	}
	return &outCounters{vec: m.out, domain: domain, byKind: map[string]prometheus.Counter{},
		durable: m.out.WithLabelValues(domain, "stored"), depth: m.queue.WithLabelValues(domain)}
}

func (c *outCounters) stanza(kind string) {
	if c == nil {
		return
	}
	ctr := c.byKind[kind]
	if ctr == nil {
		ctr = c.vec.WithLabelValues(c.domain, kind)
		c.byKind[kind] = ctr
	}
	ctr.Inc()
}

// queued records the stanzas still waiting after a write.
func (c *outCounters) queued(n int) {
	if c != nil {
		c.depth.Set(float64(n))
	}
}

func (c *outCounters) stored(n int) {
	if c != nil && n > 0 {
		c.durable.Add(float64(n))
	}
}
