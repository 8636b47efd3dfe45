package server_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/server"
	"github.com/insta485/insta485/internal/testenv"
)

type panicking struct{}

func (panicking) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /boom/", func(http.ResponseWriter, *http.Request) { panic("secret internals") })
	mux.HandleFunc("GET /api/v1/boom/", func(http.ResponseWriter, *http.Request) { panic("secret internals") })
}

func TestServerShell(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		store := testenv.NewStore(t, backend)
		var logs strings.Builder
		srv := httptest.NewServer(server.New(store, slog.New(slog.NewTextHandler(&logs, nil)), nil, panicking{}))
		defer srv.Close()
		cases := []struct {
			path, wantType, wantBody string
			status                   int
		}{
			{"/healthz", "text/plain", "ok", 200},
			{"/readyz", "text/plain", "ready", 200},
			{"/boom/", "text/html", "Something went wrong", 500},
			{"/api/v1/boom/", "application/json", `"status_code": 500`, 500},
			{"/api//v1/posts/", "application/json", `"status_code": 404`, 404},
			{"/api/v1/posts/../likes/", "application/json", `"status_code": 404`, 404},
		}
		for _, c := range cases {
			req, _ := http.NewRequest("GET", srv.URL+c.path, nil)
			// Keep the path as written: the client would clean dot segments.
			req.URL.Opaque = c.path
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.wantType) || !strings.Contains(string(body), c.wantBody) {
				t.Errorf("GET %s = %d %s %q", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if strings.Contains(string(body), "secret internals") {
				t.Errorf("GET %s leaks the panic to the client", c.path)
			}
			if c.wantType == "application/json" && !json.Valid(body) {
				t.Errorf("GET %s: invalid JSON %q", c.path, body)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Errorf("GET %s has no request id", c.path)
			}
		}
		if !strings.Contains(logs.String(), "secret internals") || !strings.Contains(logs.String(), "panic serving request") {
			t.Errorf("the panic was not logged:\n%s", logs.String())
		}
	})
}

// TestRequestLog checks what an access log line carries, in JSON: the
// request id (one a proxy sent is kept), the route pattern, the status and
// a duration a person can read.
func TestRequestLog(t *testing.T) {
	store := testenv.NewStore(t, "sqlite")
	var logs strings.Builder
	srv := httptest.NewServer(server.New(store, slog.New(slog.NewJSONHandler(&logs, nil)), nil))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/healthz", nil)
	req.Header.Set("X-Request-Id", "0123456789abcdef0123456789abcdef")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("X-Request-Id"); got != "0123456789abcdef0123456789abcdef" {
		t.Errorf("X-Request-Id = %q, want the one the proxy sent", got)
	}
	req, _ = http.NewRequest("GET", srv.URL+"/healthz", nil)
	req.Header.Set("X-Request-Id", "forged id=\"x\"")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("X-Request-Id"); got == "" || strings.Contains(got, "forged") {
		t.Errorf("X-Request-Id = %q, want a fresh id instead of a malformed one", got)
	}
	var line struct {
		Msg, ID, Route, Duration string
		Status                   int
		DurationMS               *float64 `json:"duration_ms"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(logs.String(), "\n", 2)[0]), &line); err != nil {
		t.Fatalf("log is not JSON: %v\n%s", err, logs.String())
	}
	if line.Msg != "request" || line.ID != "0123456789abcdef0123456789abcdef" || line.Route != "GET /healthz" || line.Status != 200 {
		t.Errorf("log line %+v, want request, the proxy's id, route GET /healthz, status 200\n%s", line, logs.String())
	}
	if _, err := time.ParseDuration(line.Duration); err != nil || line.DurationMS == nil {
		t.Errorf("duration %q (%v) and duration_ms %v: want a readable duration and milliseconds", line.Duration, err, line.DurationMS)
	}
}
