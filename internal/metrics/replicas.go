package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/insta485/insta485/internal/storage"
)

// replicaCollector turns the store's read routing counters into metrics at
// scrape time: the store keeps them as atomics, so a scrape costs no query.
type replicaCollector struct {
	stats func() storage.ReadStats

	reads, healthy, lag, failures *prometheus.Desc
}

// WatchReplicas adds where reads went (replica, primary for read-your-writes,
// fallback when no replica could serve) and each replica's health, lag and
// failed reads. stats is called on every scrape.
func (m *Metrics) WatchReplicas(stats func() storage.ReadStats) {
	m.reg.MustRegister(&replicaCollector{
		stats: stats,
		reads: prometheus.NewDesc("insta485_db_reads_total",
			"Database reads by where they were served: replica, primary (the replicas had not replayed the reader's own write yet) or fallback (no replica could serve, or a read failed on one).",
			[]string{"target"}, nil),
		healthy: prometheus.NewDesc("insta485_db_replica_healthy",
			"1 when the replica answers, is in recovery and is within the lag bound; 0 when its reads go to the primary.",
			[]string{"replica"}, nil),
		lag: prometheus.NewDesc("insta485_db_replica_lag_seconds",
			"How long ago the primary first reached a WAL position the replica has not replayed yet (0 when caught up).",
			[]string{"replica"}, nil),
		failures: prometheus.NewDesc("insta485_db_replica_failed_reads_total",
			"Reads that failed on the replica and were served by the primary instead.",
			[]string{"replica"}, nil),
	})
}

func (c *replicaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.reads
	ch <- c.healthy
	ch <- c.lag
	ch <- c.failures
}

func (c *replicaCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	var replicaReads int64
	for _, r := range st.Replicas {
		replicaReads += r.Reads
		healthy := 0.0
		if r.Healthy {
			healthy = 1
		}
		ch <- prometheus.MustNewConstMetric(c.healthy, prometheus.GaugeValue, healthy, r.Name)
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, r.Lag.Seconds(), r.Name)
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(r.Failures), r.Name)
	}
	ch <- prometheus.MustNewConstMetric(c.reads, prometheus.CounterValue, float64(replicaReads), "replica")
	ch <- prometheus.MustNewConstMetric(c.reads, prometheus.CounterValue, float64(st.Primary), "primary")
	ch <- prometheus.MustNewConstMetric(c.reads, prometheus.CounterValue, float64(st.Fallback), "fallback")
}
