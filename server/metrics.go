package server

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus metrics, on a registry of its own.
type metrics struct {
	s   *Server
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpSeconds  *prometheus.HistogramVec

	requests     prometheus.Counter // requests sent to the Hub
	throttled    prometheus.Counter // of those, answered 429
	retries      prometheus.Counter // attempts that repeated a failed one
	quotaLeft    prometheus.Gauge
	crawlSeconds prometheus.Histogram
	lastSuccess  prometheus.Gauge
	models       prometheus.Gauge
	edges        prometheus.Gauge
	familySize   *prometheus.GaugeVec

	mu      sync.Mutex
	tracked []string // seeds whose family size is exported
}

func newMetrics(s *Server) *metrics {
	m := &metrics{s: s, reg: prometheus.NewRegistry()}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hflineage_http_requests_total", Help: "API requests answered, by route and status code.",
	}, []string{"route", "code"})
	m.httpSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "hflineage_http_request_seconds", Help: "Time to answer API requests, by route.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 5},
	}, []string{"route"})
	m.requests = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hflineage_hub_requests_total", Help: "Requests sent to the Hub by crawls (every attempt, retries included).",
	})
	m.throttled = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hflineage_hub_throttled_total", Help: "Hub answers that were 429 (over quota); each is retried.",
	})
	m.retries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hflineage_hub_retries_total", Help: "Hub requests that repeated a failed attempt (429, 5xx, network errors, stalls).",
	})
	m.quotaLeft = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hflineage_hub_quota_remaining", Help: "Requests left in the Hub's rate-limit window as last announced (-1: unknown).",
	})
	m.quotaLeft.Set(-1)
	m.crawlSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "hflineage_crawl_duration_seconds", Help: "Duration of crawls.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 8),
	})
	m.lastSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hflineage_last_success_timestamp_seconds", Help: "When the last crawl that completed finished (Unix time).",
	})
	m.models = prometheus.NewGauge(prometheus.GaugeOpts{Name: "hflineage_models", Help: "Models in the database (parents known only by name, stubs, excluded: the models stats counts)."})
	m.edges = prometheus.NewGauge(prometheus.GaugeOpts{Name: "hflineage_edges", Help: "Lineage edges in the database."})
	m.familySize = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "hflineage_family_descendants", Help: "Descendants of each scheduled seed, after the last crawl.",
	}, []string{"model"})
	m.reg.MustRegister(m.httpRequests, m.httpSeconds, m.requests, m.throttled, m.retries, m.quotaLeft, m.crawlSeconds,
		m.lastSuccess, m.models, m.edges, m.familySize)
	return m
}

// Track exports the family size of each seed (the scheduled ones).
func (s *Server) Track(seeds []string) {
	s.metrics.mu.Lock()
	s.metrics.tracked = append([]string(nil), seeds...)
	s.metrics.mu.Unlock()
	s.metrics.refresh(s.ctx)
}

// start sets what the metrics say before any crawl: the database's size
// and when its last complete crawl finished.
func (m *metrics) start(ctx context.Context) {
	if testHookStart != nil {
		testHookStart(ctx)
	}
	if runs, err := m.s.q.Runs(ctx); err == nil {
		for _, r := range runs { // newest first
			if r.Complete && !r.Finished.IsZero() {
				m.lastSuccess.Set(float64(r.Finished.Unix()))
				break
			}
		}
	}
	m.refresh(ctx)
}

// testHookStart, set by tests, runs when the metrics' start-up work starts.
var testHookStart func(ctx context.Context)

// refresh reads the database's size and the tracked families' sizes; it
// stops when ctx ends.
func (m *metrics) refresh(ctx context.Context) {
	if n, ok := m.s.q.Sizes(); ok {
		m.models.Set(float64(n.Models))
		m.edges.Set(float64(n.Edges))
	}
	m.mu.Lock()
	seeds := m.tracked
	m.mu.Unlock()
	for _, s := range seeds {
		if ctx.Err() != nil {
			return
		}
		if c, err := m.s.q.Count(ctx, s); err == nil {
			m.familySize.WithLabelValues(string(c.Model)).Set(float64(c.Descendants.Total))
		}
	}
}

// instrument counts and times every request by its route pattern.
func (m *metrics) instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "other"
		}
		m.httpRequests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
		m.httpSeconds.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (an export's
// write deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
