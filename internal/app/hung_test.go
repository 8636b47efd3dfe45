package app_test

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/app"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// TestFrozenDatabaseIsA503: every process of a throw-away PostgreSQL is
// stopped (SIGSTOP) under a running app, whose connections then lead
// nowhere: no error, no answer. Ten times more requests than the pool has
// connections, of every kind, all answer 503 with Retry-After; none hangs
// (the client's timeout, far past the wait budget, only detects a hang).
// When the server goes on (SIGCONT), the same session works again without
// anyone doing anything.
func TestFrozenDatabaseIsA503(t *testing.T) {
	cluster := testenv.NewCluster(t, testenv.ClusterOptions{})
	cluster.Exec(t, "postgres", "CREATE DATABASE insta485 OWNER "+cluster.AppRole)
	const budget = 2 * time.Second
	const pool = 4
	a := testenv.NewAppOn(t, storage.Options{DSN: cluster.AppURL("insta485"), MaxConns: pool},
		testenv.WithDeps(func(d *app.Deps) { d.WaitBudget = budget }))
	c := newClient(t)
	if code := c.formLogin(a.URL, "awdeorio", "chickens").StatusCode; code != http.StatusFound {
		t.Fatalf("login = %d", code)
	}
	// Connections in the pool, idle, to the server about to freeze.
	for range pool {
		if code, _ := c.get(a.URL, "/"); code != http.StatusOK {
			t.Fatalf("feed before the freeze = %d", code)
		}
	}

	thaw := cluster.Freeze(t)
	requests := []struct{ method, path, body string }{
		{"GET", "/", ""},
		{"GET", "/api/v1/posts/", ""},
		{"GET", "/accounts/auth/", ""},
		{"GET", "/users/jflinn/", ""},
		{"POST", "/api/v1/likes/?postid=1", ""},
		{"POST", "/api/v1/comments/?postid=1", `{"text": "while frozen"}`},
	}
	hangLimit := budget + 20*time.Second
	client := &http.Client{Jar: c.http.Jar, Timeout: hangLimit, CheckRedirect: c.http.CheckRedirect}
	var mu sync.Mutex
	var slowest time.Duration
	var wg sync.WaitGroup
	for i := range 10 * pool {
		r := requests[i%len(requests)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(r.method, a.URL+r.path, strings.NewReader(r.body))
			if r.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			start := time.Now()
			res, err := client.Do(req)
			if err != nil {
				t.Errorf("%s %s with the database frozen: %v (a hang: no answer within %s)", r.method, r.path, err, hangLimit)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			took := time.Since(start)
			mu.Lock()
			slowest = max(slowest, took)
			mu.Unlock()
			if n, _ := strconv.Atoi(res.Header.Get("Retry-After")); res.StatusCode != http.StatusServiceUnavailable || n < 1 {
				t.Errorf("%s %s with the database frozen = %d (Retry-After %q), want 503 with Retry-After",
					r.method, r.path, res.StatusCode, res.Header.Get("Retry-After"))
			}
		}()
	}
	wg.Wait()
	fmt.Printf("frozen PostgreSQL: %d concurrent requests on a pool of %d, wait budget %s: all answered, the slowest in %s\n",
		10*pool, pool, budget, slowest.Round(10*time.Millisecond))

	thaw()
	waitUntil(t, "the same session to work again after the database thawed", func() bool {
		code, _ := c.get(a.URL, "/accounts/auth/")
		return code == http.StatusOK
	})
	if code, _ := c.get(a.URL, "/"); code != http.StatusOK {
		t.Errorf("feed after the thaw = %d, want 200", code)
	}
}
