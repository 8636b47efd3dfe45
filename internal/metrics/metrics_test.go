package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/metrics"
	"github.com/insta485/insta485/internal/testenv"
)

// TestRequestsAndPools makes requests to a whole app and reads them back
// from its metrics: by route pattern (never the raw path), method and
// status class, with the pools and the upload store beside them.
func TestRequestsAndPools(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		m := metrics.New()
		app := testenv.NewApp(t, backend, testenv.WithMetrics(m))
		scrapeSrv := httptest.NewServer(m.Handler(slogDiscard()))
		defer scrapeSrv.Close()
		scrape := func() testenv.Scrape { return testenv.ScrapeMetrics(t, scrapeSrv.URL) }

		before := scrape()
		c := newClient(t)
		for range 3 {
			c.get(app.URL+"/healthz", http.StatusOK)
		}
		c.get(app.URL+"/no/such/page-4711", http.StatusNotFound)
		c.get(app.URL+"/api/v1/posts/", http.StatusForbidden)
		c.login(app.URL, "awdeorio", "chickens")
		_, posts := dbadmin.SampleImages()
		c.get(app.URL+"/uploads/"+posts[0], http.StatusOK)
		c.get(app.URL+"/uploads/"+strings.Repeat("0", 32)+".jpg", http.StatusNotFound)
		after := scrape()

		delta := func(labels map[string]string) float64 {
			a, _ := after.Value("insta485_http_requests_total", labels)
			b, _ := before.Value("insta485_http_requests_total", labels)
			return a - b
		}
		for _, c := range []struct {
			labels map[string]string
			want   float64
		}{
			{map[string]string{"method": "GET", "route": "/healthz", "status": "2xx"}, 3},
			{map[string]string{"method": "GET", "route": "/api/v1/posts/{$}", "status": "4xx"}, 1},
			{map[string]string{"method": "GET", "route": "/accounts/login/{$}", "status": "2xx"}, 1},
			{map[string]string{"method": "POST", "route": "/accounts/{$}", "status": "3xx"}, 1},
			{map[string]string{"method": "GET", "route": "/uploads/{filename}", "status": "2xx"}, 1},
			{map[string]string{"method": "GET", "route": "/uploads/{filename}", "status": "4xx"}, 1},
		} {
			if got := delta(c.labels); got != c.want {
				t.Errorf("insta485_http_requests_total%v went up by %v, want %v", c.labels, got, c.want)
			}
		}
		if n, _ := after.Value("insta485_http_request_duration_seconds", map[string]string{"route": "/healthz"}); n < 3 {
			t.Errorf("latency histogram of /healthz counts %v requests, want at least 3", n)
		}
		if bytes.Contains(after.Text, []byte("page-4711")) {
			t.Errorf("a raw path made it into a label:\n%s", after.Text)
		}
		if v, ok := after.Value("insta485_http_requests_in_flight", nil); !ok || v != 0 {
			t.Errorf("requests in flight after every response = %v (present %v), want 0", v, ok)
		}
		// Two opens (one found, one missing), neither a store error.
		if v, _ := after.Value("insta485_upload_store_operations_total", map[string]string{"operation": "open"}); v != 2 {
			t.Errorf("upload store opens = %v, want 2", v)
		}
		if v, ok := after.Value("insta485_upload_store_errors_total", map[string]string{"operation": "open"}); !ok || v != 0 {
			t.Errorf("upload store open errors = %v (present %v), want 0", v, ok)
		}
		var pools []string
		for name := range app.Store.Pools() {
			pools = append(pools, "insta485_"+name)
		}
		for _, p := range pools {
			if _, ok := after.Value("go_sql_max_open_connections", map[string]string{"db_name": p}); !ok {
				t.Errorf("no pool statistics for %s; have db_name %v", p, after.LabelValues("go_sql_max_open_connections", "db_name"))
			}
		}
		if got := len(after.LabelValues("go_sql_max_open_connections", "db_name")); got != len(pools) {
			t.Errorf("%d pools reported, want %d (%v)", got, len(pools), pools)
		}
		for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
			if _, ok := after.Families[name]; !ok {
				t.Errorf("no %s: the Go and process collectors are missing", name)
			}
		}
	})
}

// TestMediaDecorator counts operations and failures of whatever store it
// wraps, and passes everything through unchanged.
func TestMediaDecorator(t *testing.T) {
	m := metrics.New()
	local, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	store := m.Media(local)
	ctx := context.Background()
	name := strings.Repeat("a", 32) + ".png"
	if err := store.Put(ctx, name, strings.NewReader("12345")); err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, "../escape.png", strings.NewReader("x")); err == nil {
		t.Fatal("Put with a path for a name succeeded")
	}
	f, err := store.Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "12345" {
		t.Errorf("read back %q through the decorator", b)
	}
	if _, err := store.Open(ctx, strings.Repeat("b", 32)+".png"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open of a missing file = %v, want ErrNotFound", err)
	}
	if err := store.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(slogDiscard()))
	defer srv.Close()
	s := testenv.ScrapeMetrics(t, srv.URL)
	for _, c := range []struct {
		name, op string
		want     float64
	}{
		{"insta485_upload_store_operations_total", "put", 2},
		{"insta485_upload_store_errors_total", "put", 1},
		{"insta485_upload_store_operations_total", "open", 2},
		{"insta485_upload_store_errors_total", "open", 0},
		{"insta485_upload_store_operations_total", "delete", 1},
		{"insta485_upload_store_operations_total", "list", 0},
	} {
		if got, _ := s.Value(c.name, map[string]string{"operation": c.op}); got != c.want {
			t.Errorf("%s{operation=%q} = %v, want %v", c.name, c.op, got, c.want)
		}
	}
	if got, _ := s.Value("insta485_upload_store_written_bytes_total", nil); got != 5 {
		t.Errorf("bytes written = %v, want 5", got)
	}
}

// client keeps cookies and does not follow redirects.
type client struct {
	t    *testing.T
	http *http.Client
}

func newClient(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) get(u string, want int) string {
	c.t.Helper()
	res, err := c.http.Get(u)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		c.t.Fatalf("GET %s = %d, want %d", u, res.StatusCode, want)
	}
	return string(b)
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (c *client) login(base, user, password string) {
	c.t.Helper()
	page := c.get(base+"/accounts/login/", http.StatusOK)
	tok := csrfInput.FindStringSubmatch(page)
	if tok == nil {
		c.t.Fatal("login page has no CSRF token")
	}
	res, err := c.http.PostForm(base+"/accounts/?target=/", url.Values{
		"operation": {"login"}, "username": {user}, "password": {password}, "csrf_token": {tok[1]}})
	if err != nil {
		c.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		c.t.Fatalf("login: status %d, want 302", res.StatusCode)
	}
}

func slogDiscard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
