package testenv

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Scrape is one reading of a Prometheus endpoint: the raw text and its
// parsed metric families.
type Scrape struct {
	Text     []byte
	Families map[string]*dto.MetricFamily
}

// ScrapeMetrics fetches url (a /metrics endpoint) in the Prometheus text
// format and parses it, failing t if either goes wrong.
func ScrapeMetrics(t testing.TB, url string) Scrape {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: status %d, %v\n%s", url, res.StatusCode, err, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("scrape %s: not the Prometheus text format: %v", url, err)
	}
	return Scrape{Text: body, Families: fams}
}

// Value returns the value of the counter, gauge or untyped sample of
// family name whose labels include every pair of labels (for a histogram,
// its sample count), summed over the samples that match; and whether any
// did.
func (s Scrape) Value(name string, labels map[string]string) (float64, bool) {
	fam, ok := s.Families[name]
	if !ok {
		return 0, false
	}
	var sum float64
	found := false
next:
	for _, m := range fam.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, found
}

// LabelValues returns every value label takes in family name.
func (s Scrape) LabelValues(name, label string) []string {
	var vals []string
	for _, m := range s.Families[name].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label {
				vals = append(vals, lp.GetValue())
			}
		}
	}
	return vals
}
