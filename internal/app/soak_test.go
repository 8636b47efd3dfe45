package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/testenv"
)

// soakDuration is how long each backend is soaked; both together stay
// under a minute.
const soakDuration = 20 * time.Second

// TestSoak runs mixed traffic (feed pages, API reads, likes, comments,
// logins right and wrong, logouts) against the app for soakDuration per
// backend, then checks that nothing accumulated: goroutines, open files
// and the live heap end within a fixed bound of where they were after a
// warm-up, and no request got a 5xx. It is skipped with -short.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test: skipped with -short")
	}
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		a := testenv.NewApp(t, backend)
		transport := &http.Transport{MaxIdleConnsPerHost: 16}
		defer transport.CloseIdleConnections()
		hc := &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		cookie := a.SessionCookie(t, "awdeorio")

		var requests, serverErrors atomic.Int64
		do := func(method, path, body string, setup func(*http.Request)) (int, []byte) {
			req, _ := http.NewRequest(method, a.URL+path, bytes.NewBufferString(body))
			if setup != nil {
				setup(req)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Errorf("%s %s: %v", method, path, err)
				return 0, nil
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			requests.Add(1)
			if resp.StatusCode >= 500 {
				serverErrors.Add(1)
				t.Errorf("%s %s = %d", method, path, resp.StatusCode)
			}
			return resp.StatusCode, b
		}
		withCookie := func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: "login", Value: cookie})
			r.Header.Set("Origin", a.URL) // as a browser does: cookie writes must be same-origin
		}
		worker := func(w int, until time.Time) {
			for i := 0; time.Now().Before(until); i++ {
				switch (w + i) % 8 {
				case 0:
					do("GET", "/", "", withCookie)
				case 1:
					do("GET", "/api/v1/posts/?size=5", "", withCookie)
				case 2:
					do("GET", fmt.Sprintf("/api/v1/posts/%d/", 1+i%4), "", withCookie)
				case 3:
					if code, b := do("POST", "/api/v1/likes/?postid=2", "", withCookie); code == http.StatusCreated {
						var like struct{ URL string }
						if json.Unmarshal(b, &like) == nil && like.URL != "" {
							do("DELETE", like.URL, "", withCookie)
						}
					}
				case 4:
					code, b := do("POST", "/api/v1/comments/?postid=3", `{"text": "soak"}`, func(r *http.Request) {
						withCookie(r)
						r.Header.Set("Content-Type", "application/json")
					})
					var c struct{ URL string }
					if code == http.StatusCreated && json.Unmarshal(b, &c) == nil {
						do("DELETE", c.URL, "", withCookie)
					}
				case 5:
					do("GET", "/api/v1/posts/", "", func(r *http.Request) { r.SetBasicAuth("jflinn", "wrong") })
				case 6:
					do("GET", "/uploads/122a7d27ca1d7420a1072f695d9290fad4501a41.jpg", "", withCookie)
				case 7:
					// A session started and ended, as a login and logout do.
					v := a.SessionCookie(t, "michjc")
					do("GET", "/accounts/auth/", "", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "login", Value: v}) })
				}
			}
		}
		run := func(d time.Duration) {
			until := time.Now().Add(d)
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Add(1)
				go func() { defer wg.Done(); worker(w, until) }()
			}
			wg.Wait()
		}
		measure := func() (goroutines, files int, heap uint64) {
			transport.CloseIdleConnections()
			a.CloseClientConnections()
			time.Sleep(200 * time.Millisecond) // let closed connections' goroutines exit
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			fds, _ := os.ReadDir("/proc/self/fd")
			return runtime.NumGoroutine(), len(fds), m.HeapInuse
		}

		run(3 * time.Second) // warm-up: pools and caches fill
		g0, f0, h0 := measure()
		run(soakDuration)
		g1, f1, h1 := measure()
		t.Logf("%d requests; goroutines %d → %d, open files %d → %d, heap in use %d → %d MiB",
			requests.Load(), g0, g1, f0, f1, h0>>20, h1>>20)
		if serverErrors.Load() > 0 {
			t.Errorf("%d requests got a 5xx", serverErrors.Load())
		}
		if g1 > g0+10 {
			t.Errorf("goroutines grew from %d to %d", g0, g1)
		}
		if f1 > f0+10 {
			t.Errorf("open files grew from %d to %d", f0, f1)
		}
		if h1 > h0+32<<20 {
			t.Errorf("the live heap grew from %d to %d MiB", h0>>20, h1>>20)
		}
	})
}
