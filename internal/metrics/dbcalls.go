package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/insta485/insta485/internal/storage/postgres"
)

// WatchCalls adds the statements sent to PostgreSQL and the round trips
// they took, read from the store's counters at scrape time. Divided by
// insta485_http_requests_total they say how many round trips a request
// costs (insta485-bench prints it per scenario).
func (m *Metrics) WatchCalls(calls *postgres.Calls) {
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "insta485_db_statements_total",
			Help: "SQL statements sent to PostgreSQL (BEGIN and COMMIT included), replicas included.",
		}, func() float64 { return float64(calls.Statements()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "insta485_db_round_trips_total",
			Help: "Network round trips to PostgreSQL: one per statement, plus one per statement prepared on a connection.",
		}, func() float64 { return float64(calls.RoundTrips()) }),
	)
}
