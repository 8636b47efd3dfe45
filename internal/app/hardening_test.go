package app_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/app"
	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/server"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// sameSite starts another instance of first's site: the same database,
// uploads and secret key, as a second app server behind a load balancer.
func sameSite(t *testing.T, first *testenv.App, adjust ...func(*app.Deps)) *httptest.Server {
	t.Helper()
	d := app.Deps{Store: first.Store, Media: first.Media, Secret: first.Secret,
		MaxUpload: 16 << 20, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), ArgonWait: testenv.TestArgonWait}
	for _, fn := range adjust {
		fn(&d)
	}
	srv := httptest.NewServer(app.New(d))
	t.Cleanup(srv.Close)
	return srv
}

// formLogin logs in through base's login form.
func (c *client) formLogin(base, username, password string) *http.Response {
	c.t.Helper()
	_, page := c.get(base, "/accounts/login/")
	return c.postResp(base, "/accounts/?target=/", page,
		map[string]string{"operation": "login", "username": username, "password": password})
}

// basicGet calls the API with HTTP Basic credentials, from the address
// forwardedFor when not empty (as a proxy would say).
func basicGet(t *testing.T, base, username, password, forwardedFor string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/posts/", nil)
	req.SetBasicAuth(username, password)
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func retryAfter(t *testing.T, resp *http.Response) time.Duration {
	t.Helper()
	n, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("Retry-After = %q, want a whole number of seconds", resp.Header.Get("Retry-After"))
	}
	return time.Duration(n) * time.Second
}

// TestLoginThrottlingAcrossInstances: wrong passwords for one account are
// counted in the database, so two app servers enforce one limit. The
// first few get the classic 403; then forms and Basic alike get 429 with
// Retry-After (the account name in any case), even with the right
// password; after waiting, the right password works and clears the count.
func TestLoginThrottlingAcrossInstances(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		// The throttles' clock moves only when the test says: a slow
		// machine must not open a throttle slot between two tries.
		clock := newStoppedClock()
		throttle := clock.throttleWith(func(*auth.Throttle) {})
		first := testenv.NewApp(t, backend, testenv.WithDeps(throttle))
		second := sameSite(t, first, throttle)
		c := newClient(t)
		free := auth.NewThrottle().AccountFree
		for i := range free {
			base := first.URL
			if i%2 == 1 {
				base = second.URL
			}
			if code := c.formLogin(base, "awdeorio", fmt.Sprint("wrong", i)).StatusCode; code != http.StatusForbidden {
				t.Fatalf("wrong password %d = %d, want the classic 403", i+1, code)
			}
		}
		resp := c.formLogin(second.URL, "awdeorio", "wrong again")
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("wrong password %d (other instance) = %d, want 429", free+1, resp.StatusCode)
		}
		retryAfter(t, resp)
		if resp := basicGet(t, first.URL, "AWDEORIO", "chickens", ""); resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("Basic for the same account in capitals = %d, want 429", resp.StatusCode)
		}
		resp = c.formLogin(first.URL, "awdeorio", "chickens")
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("right password while throttled = %d, want 429 (the password is not even checked)", resp.StatusCode)
		}
		// Another account is not affected.
		if resp := basicGet(t, second.URL, "jflinn", "password", ""); resp.StatusCode != http.StatusOK {
			t.Errorf("another account = %d, want 200", resp.StatusCode)
		}
		clock.advance(retryAfter(t, resp))
		if resp := c.formLogin(second.URL, "awdeorio", "chickens"); resp.StatusCode != http.StatusFound {
			t.Fatalf("right password after Retry-After = %d, want 302", resp.StatusCode)
		}
		if resp := basicGet(t, first.URL, "awdeorio", "wrong", ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a wrong password after a successful login = %d, want 403 (the count starts over)", resp.StatusCode)
		}
	})
}

// TestLoginThrottlingPerAddress: one address gets a bounded number of
// wrong passwords whatever names it tries. Behind a trusted proxy the
// address is the client's (X-Forwarded-For); from anyone else that header
// is ignored, so a client cannot dodge the limit by claiming addresses.
func TestLoginThrottlingPerAddress(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		throttle := func(proxies ...netip.Prefix) func(*app.Deps) {
			return func(d *app.Deps) {
				th := auth.NewThrottle()
				th.AddressBurst = 5
				th.AddressRefill = time.Hour
				d.Throttle = th
				d.TrustedProxies = proxies
			}
		}
		first := testenv.NewApp(t, backend)
		behindProxy := sameSite(t, first, throttle(netip.MustParsePrefix("127.0.0.0/8")))
		direct := sameSite(t, first, throttle())
		for _, srv := range []*httptest.Server{behindProxy, direct} {
			for i := range 5 {
				if code := basicGet(t, srv.URL, fmt.Sprint("nobody", i), "pw", "198.51.100.7").StatusCode; code != http.StatusForbidden {
					t.Fatalf("wrong password %d = %d, want 403", i+1, code)
				}
			}
			resp := basicGet(t, srv.URL, "somebody-else", "pw", "198.51.100.7")
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("wrong password 6 from one address = %d, want 429", resp.StatusCode)
			}
			retryAfter(t, resp)
		}
		// Through the trusted proxy another client has its own budget...
		if code := basicGet(t, behindProxy.URL, "nobody", "pw", "198.51.100.8").StatusCode; code != http.StatusForbidden {
			t.Errorf("another client behind the proxy = %d, want 403", code)
		}
		// ...but a direct client claiming another address is still itself.
		if code := basicGet(t, direct.URL, "nobody", "pw", "198.51.100.8").StatusCode; code != http.StatusTooManyRequests {
			t.Errorf("a direct client forging X-Forwarded-For = %d, want 429", code)
		}
	})
}

// TestRevocationAcrossInstances: logging out on one app server ends the
// session on the others, even for a copy of the cookie; a password change
// ends every other session of the user; deleting the account ends them
// all.
func TestRevocationAcrossInstances(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		first := testenv.NewApp(t, backend)
		second := sameSite(t, first)
		authCheck := func(c *client, base string) int {
			code, _ := c.get(base, "/accounts/auth/")
			return code
		}
		login := func(user, pw string) *client {
			c := newClient(t)
			if code := c.formLogin(first.URL, user, pw).StatusCode; code != http.StatusFound {
				t.Fatalf("login %s = %d", user, code)
			}
			return c
		}
		// A stolen copy of the cookie: a second jar with the same cookies.
		copyOf := func(c *client) *client {
			cp := newClient(t)
			for _, base := range []string{first.URL, second.URL} {
				u, _ := http.NewRequest("GET", base, nil)
				cp.http.Jar.SetCookies(u.URL, c.http.Jar.Cookies(u.URL))
			}
			return cp
		}

		c := login("awdeorio", "chickens")
		stolen := copyOf(c)
		_, feed := c.get(second.URL, "/users/awdeorio/")
		if code := c.post(second.URL, "/accounts/logout/", feed, nil); code != http.StatusFound {
			t.Fatalf("logout on the second instance = %d", code)
		}
		if code := authCheck(stolen, first.URL); code != http.StatusForbidden {
			t.Errorf("the cookie after logout, on the first instance = %d, want 403", code)
		}
		if code, _ := stolen.get(first.URL, "/"); code != http.StatusFound {
			t.Errorf("GET / with the cookie after logout = %d, want a redirect to login", code)
		}

		// Password change: the changing browser stays in, the other is out.
		laptop, phone := login("jflinn", "password"), login("jflinn", "password")
		_, page := laptop.get(second.URL, "/accounts/password/")
		if code := laptop.post(second.URL, "/accounts/?target=/", page, map[string]string{"operation": "update_password",
			"password": "password", "new_password1": "n3w", "new_password2": "n3w"}); code != http.StatusFound {
			t.Fatalf("password change = %d", code)
		}
		if code := authCheck(phone, first.URL); code != http.StatusForbidden {
			t.Errorf("another browser after a password change = %d, want 403", code)
		}
		if code := authCheck(laptop, first.URL); code != http.StatusOK {
			t.Errorf("the browser that changed the password = %d, want 200", code)
		}

		// Account deletion ends every session.
		one, two := login("michjc", "password"), login("michjc", "password")
		_, page = one.get(second.URL, "/accounts/delete/")
		if code := one.post(second.URL, "/accounts/?target=/", page, map[string]string{"operation": "delete"}); code != http.StatusFound {
			t.Fatalf("delete = %d", code)
		}
		if code := authCheck(two, first.URL); code != http.StatusForbidden {
			t.Errorf("a session of a deleted account = %d, want 403", code)
		}
	})
}

// TestOutageIs503 stops a throw-away PostgreSQL under a running app: pages,
// forms, the API (JSON, cookie or Basic), /accounts/auth/ and uploads all
// answer 503 with Retry-After, the session cookie is kept, and when the
// server is back the same session works. (SQLite is a file inside the
// process: it has no server to lose; TestDatabaseOutageIsNotALogout covers
// a broken database on both engines.)
func TestOutageIs503(t *testing.T) {
	cluster := testenv.NewCluster(t, testenv.ClusterOptions{})
	cluster.Exec(t, "postgres", "CREATE DATABASE insta485 OWNER "+cluster.AppRole)
	a := testenv.NewAppOn(t, storage.Options{DSN: cluster.AppURL("insta485")})
	c := newClient(t)
	if code := c.formLogin(a.URL, "awdeorio", "chickens").StatusCode; code != http.StatusFound {
		t.Fatalf("login = %d", code)
	}
	_, feed := c.get(a.URL, "/")
	anon := newClient(t)
	_, login := anon.get(a.URL, "/accounts/login/")
	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}

	check := func(what string, resp *http.Response, wantJSON bool) {
		t.Helper()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s during an outage = %d, want 503", what, resp.StatusCode)
			return
		}
		retryAfter(t, resp)
		if got := strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"); got != wantJSON {
			t.Errorf("%s: Content-Type %q", what, resp.Header.Get("Content-Type"))
		}
		for _, ck := range resp.Cookies() {
			if ck.Name == auth.CookieName {
				t.Errorf("%s touched the session cookie during an outage", what)
			}
		}
	}
	get := func(path string) *http.Response {
		resp, err := c.http.Get(a.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	check("GET /", get("/"), false)
	check("GET /accounts/auth/", get("/accounts/auth/"), false)
	check("GET /uploads/…", get("/uploads/122a7d27ca1d7420a1072f695d9290fad4501a41.jpg"), false)
	check("GET /api/v1/posts/ with a cookie", get("/api/v1/posts/"), true)
	check("a form action", c.postResp(a.URL, "/likes/?target=/", feed, map[string]string{"operation": "like", "postid": "4"}), false)
	check("a login", anon.postResp(a.URL, "/accounts/?target=/", login,
		map[string]string{"operation": "login", "username": "awdeorio", "password": "chickens"}), false)
	check("Basic auth", basicGet(t, a.URL, "awdeorio", "chickens", ""), true)

	if err := cluster.Start(); err != nil {
		t.Fatal(err)
	}
	// The pool reconnects on the next query; a few tries at most.
	var code int
	for range 20 {
		if code, _ = c.get(a.URL, "/accounts/auth/"); code == http.StatusOK {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if code != http.StatusOK {
		t.Fatalf("after the outage /accounts/auth/ = %d, want 200 (the same session)", code)
	}
	if code, _ := c.get(a.URL, "/"); code != http.StatusOK {
		t.Errorf("after the outage GET / = %d", code)
	}
}

// TestSlowBodyIsCutOff: a client that sends its headers and then trickles
// the body is cut off when the read timeout passes, instead of holding a
// connection (and a handler) for as long as it likes.
func TestSlowBodyIsCutOff(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		a := testenv.NewApp(t, backend)
		srv := server.NewHTTPServer(a.Config.Handler, slog.New(slog.NewTextHandler(io.Discard, nil)),
			server.Limits{ReadTimeout: time.Second, IdleTimeout: time.Second})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { srv.Close() })

		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		const bodyLen = 200
		fmt.Fprintf(conn, "POST /accounts/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", bodyLen)
		// One byte every 100 ms would take 20 s; the server must end it
		// long before the body is complete.
		closed := false
		for i := range bodyLen {
			if _, err := conn.Write([]byte{'a'}); err != nil {
				closed = true
				break
			}
			_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			buf := make([]byte, 512)
			if n, err := conn.Read(buf); n > 0 || (err != nil && !isTimeout(err)) {
				closed = true // an answer (the form could not be read) or EOF
				break
			}
			if i == bodyLen-1 {
				t.Fatal("the server read the whole trickled body: no read timeout")
			}
		}
		if !closed {
			t.Fatal("the connection stayed open")
		}
	})
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestConcurrentPasswordChecksAreBounded: 64 wrong Basic logins at once
// are answered 403 (or 503 with Retry-After when the wait for a password
// check is too long), never 500, and the heap grows by less than 80 MiB,
// where 64 argon2id computations at once would take 64 × 19 MiB = 1.2 GiB.
func TestConcurrentPasswordChecksAreBounded(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		// An address budget large enough that every login reaches its
		// password check.
		a := testenv.NewApp(t, backend, testenv.WithDeps(func(d *app.Deps) {
			d.Throttle = auth.NewThrottle()
			d.Throttle.AddressBurst = 1000
		}))
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		var peak uint64
		stop := make(chan struct{})
		var sampler sync.WaitGroup
		sampler.Add(1)
		go func() {
			defer sampler.Done()
			var m runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}()
		var wg sync.WaitGroup
		codes := make(chan int, 64)
		for i := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes <- basicGet(t, a.URL, fmt.Sprint("user", i), "wrong", "").StatusCode
			}()
		}
		wg.Wait()
		close(stop)
		sampler.Wait()
		close(codes)
		for code := range codes {
			if code != http.StatusForbidden && code != http.StatusServiceUnavailable && code != http.StatusTooManyRequests {
				t.Errorf("a concurrent wrong login = %d, want 403, 429 or 503", code)
			}
		}
		grew := int64(peak) - int64(before.HeapInuse)
		t.Logf("heap in use grew by %d MiB at most during 64 concurrent logins", grew>>20)
		if grew > 80<<20 {
			t.Errorf("heap grew by %d MiB during 64 concurrent password checks: not bounded", grew>>20)
		}
	})
}

// TestPasswordChangeIsThrottled: the current password on the password form
// is checked like a login, so a session holder cannot guess it at leisure.
func TestPasswordChangeIsThrottled(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		clock := newStoppedClock()
		a := testenv.NewApp(t, backend, testenv.WithDeps(clock.throttleWith(func(*auth.Throttle) {})))
		c := newClient(t)
		if code := c.formLogin(a.URL, "jag", "password").StatusCode; code != http.StatusFound {
			t.Fatalf("login = %d", code)
		}
		_, page := c.get(a.URL, "/accounts/password/")
		change := func(current string) *http.Response {
			return c.postResp(a.URL, "/accounts/?target=/", page, map[string]string{"operation": "update_password",
				"password": current, "new_password1": "n3w", "new_password2": "n3w"})
		}
		for i := range auth.NewThrottle().AccountFree {
			if code := change(fmt.Sprint("guess", i)).StatusCode; code != http.StatusForbidden {
				t.Fatalf("wrong current password %d = %d, want 403", i+1, code)
			}
		}
		resp := change("password")
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("after %d wrong current passwords = %d, want 429", auth.NewThrottle().AccountFree, resp.StatusCode)
		}
		retryAfter(t, resp)
		if code, _ := c.get(a.URL, "/accounts/auth/"); code != http.StatusOK {
			t.Errorf("the session after throttled password changes = %d, want 200 (still logged in)", code)
		}
	})
}
