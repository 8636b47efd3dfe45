// Package metrics exposes insta485's Prometheus metrics: HTTP requests by
// route pattern, method and status class, requests in flight, the database
// connection pools, upload store operations, and the Go runtime and
// process. Each Metrics has a registry of its own (never the global one),
// so several apps can run in one process, as tests do.
//
// Nothing here queries the database: a scrape reads counters kept in
// memory and the pools' own statistics.
package metrics

import (
	"database/sql"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// latencyBuckets run from 1 ms (a cached API read) to 10 s (a large
// upload on a slow link), in seconds.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics holds one app's collectors and the registry they are in.
type Metrics struct {
	reg *prometheus.Registry

	inFlight prometheus.Gauge
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	uploadOps     *prometheus.CounterVec
	uploadErrors  *prometheus.CounterVec
	uploadLatency *prometheus.HistogramVec
	uploadBytes   prometheus.Counter
}

// New returns metrics for one app, with the Go runtime and process
// collectors already registered.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "insta485_http_requests_in_flight",
			Help: "HTTP requests being served right now.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "insta485_http_requests_total",
			Help: "HTTP requests served, by method, route pattern and status class (2xx, 4xx, ...).",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "insta485_http_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its response, by method, route pattern and status class.",
			Buckets: latencyBuckets,
		}, []string{"method", "route", "status"}),
		uploadOps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "insta485_upload_store_operations_total",
			Help: "Upload store operations (put, open, delete, list, clear), failed or not.",
		}, []string{"operation"}),
		uploadErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "insta485_upload_store_errors_total",
			Help: "Upload store operations that failed (a missing file on open is not a failure).",
		}, []string{"operation"}),
		uploadLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "insta485_upload_store_operation_duration_seconds",
			Help:    "Time an upload store operation took (for open, until the file was ready to read).",
			Buckets: latencyBuckets,
		}, []string{"operation"}),
		uploadBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "insta485_upload_store_written_bytes_total",
			Help: "Bytes written to the upload store by successful puts.",
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.inFlight, m.requests, m.latency,
		m.uploadOps, m.uploadErrors, m.uploadLatency, m.uploadBytes,
	)
	// Every operation shows from the start, at zero, so that rates and
	// error ratios are defined before the first failure.
	for _, op := range []string{opPut, opOpen, opDelete, opList, opClear} {
		m.uploadOps.WithLabelValues(op)
		m.uploadErrors.WithLabelValues(op)
	}
	return m
}

// Registry returns the registry holding every collector of m.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format (or OpenMetrics,
// when the scraper asks for it).
func (m *Metrics) Handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          m.reg,
		EnableOpenMetrics: true,
	})
}

// WatchDB adds the statistics of each connection pool (open, in use and
// idle connections, waits for a connection and the time spent waiting) as
// the standard go_sql_* metrics, labelled db_name="insta485_<role>".
func (m *Metrics) WatchDB(pools map[string]*sql.DB) {
	for role, db := range pools {
		m.reg.MustRegister(collectors.NewDBStatsCollector(db, "insta485_"+role))
	}
}

// RequestStarted counts a request in flight.
func (m *Metrics) RequestStarted() { m.inFlight.Inc() }

// RequestDone records a finished request. pattern is the ServeMux pattern
// that served it, never the raw path, so the number of series stays
// bounded whatever clients ask for.
func (m *Metrics) RequestDone(method, pattern string, status int, elapsed time.Duration) {
	m.inFlight.Dec()
	labels := []string{methodLabel(method), routeLabel(pattern), statusClass(status)}
	m.requests.WithLabelValues(labels...).Inc()
	m.latency.WithLabelValues(labels...).Observe(elapsed.Seconds())
}

// methodLabel keeps the method label to the methods HTTP defines.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// routeLabel is the pattern without its method ("GET /p/{postid}/" is
// route "/p/{postid}/", the method is a label of its own); "unmatched" for
// requests no route took (404s and 405s of the mux).
func routeLabel(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		return strings.TrimLeft(pattern[i+1:], " \t")
	}
	return pattern
}

// statusClass is "2xx" for 200–299 and so on.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return string(rune('0'+status/100)) + "xx"
}
