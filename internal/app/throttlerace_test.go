package app_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/app"
	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/testenv"
)

// stoppedClock is a clock that moves only when the test says.
type stoppedClock struct{ at atomic.Int64 }

func newStoppedClock() *stoppedClock {
	c := &stoppedClock{}
	c.at.Store(time.Now().UnixNano())
	return c
}

func (c *stoppedClock) now() time.Time          { return time.Unix(0, c.at.Load()) }
func (c *stoppedClock) advance(d time.Duration) { c.at.Add(int64(d)) }

// throttleWith gives an app a throttle on c, adjusted by fn.
func (c *stoppedClock) throttleWith(fn func(*auth.Throttle)) func(*app.Deps) {
	return func(d *app.Deps) {
		th := auth.NewThrottle()
		th.Clock = c.now
		fn(th)
		d.Throttle = th
	}
}

// burst sends n Basic requests at once, spread over bases, with the
// username and password guess(i) gives, and counts the answers.
func burst(t *testing.T, bases []string, n int, guess func(i int) (string, string)) map[int]int {
	t.Helper()
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name, pw := guess(i)
			<-start
			code := basicGet(t, bases[i%len(bases)], name, pw, "").StatusCode
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return codes
}

// TestLoginThrottleCannotBeRaced sends bursts of simultaneous wrong
// passwords for one account to two app servers on one database, with the
// throttles' clock stopped: however many arrive together, each throttle
// slot lets exactly one password be checked (403), and the others get 429
// unchecked. A right password in a burst gets in only through a slot.
func TestLoginThrottleCannotBeRaced(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		clock := newStoppedClock()
		// The address limit is the other test's.
		roomy := clock.throttleWith(func(th *auth.Throttle) { th.AddressBurst = 1000 })
		first := testenv.NewApp(t, backend, testenv.WithDeps(roomy))
		second := sameSite(t, first, roomy)
		bases := []string{first.URL, second.URL}
		free := auth.NewThrottle().AccountFree
		wrong := func(i int) (string, string) { return "awdeorio", fmt.Sprint("wrong", i) }

		codes := burst(t, bases, 4*free, wrong)
		if codes[http.StatusForbidden] != free || codes[http.StatusTooManyRequests] != 3*free {
			t.Fatalf("%d simultaneous wrong passwords: %v, want %d × 403 (the free tries) and the rest 429",
				4*free, codes, free)
		}
		for _, wait := range []time.Duration{time.Second, 2 * time.Second, time.Minute} {
			clock.advance(wait)
			codes := burst(t, bases, 40, wrong)
			if codes[http.StatusForbidden] != 1 || codes[http.StatusTooManyRequests] != 39 {
				t.Fatalf("40 simultaneous wrong passwords %s later: %v, want one 403 and 39 × 429", wait, codes)
			}
		}
		// A burst holding the right password among wrong ones, with no
		// slot open: nothing is checked, the right one neither.
		clock.advance(time.Second)
		right := func(i int) (string, string) {
			if i == 7 {
				return "awdeorio", "chickens"
			}
			return wrong(i)
		}
		if codes := burst(t, bases, 20, right); codes[http.StatusTooManyRequests] != 20 {
			t.Fatalf("a burst with the right password inside, no slot open: %v, want 20 × 429", codes)
		}
	})
}

// TestAddressCapCannotBeRaced: a burst of wrong passwords for many names
// from one address is checked only up to the address's budget.
func TestAddressCapCannotBeRaced(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		clock := newStoppedClock()
		const budget = 5
		a := testenv.NewApp(t, backend, testenv.WithDeps(clock.throttleWith(func(th *auth.Throttle) {
			th.AddressBurst = budget
		})))
		codes := burst(t, []string{a.URL}, 30, func(i int) (string, string) { return fmt.Sprint("nobody", i), "pw" })
		if codes[http.StatusForbidden] != budget || codes[http.StatusTooManyRequests] != 30-budget {
			t.Fatalf("30 simultaneous wrong passwords from one address: %v, want %d × 403 and the rest 429", codes, budget)
		}
		// A right password gives its reservation back.
		clock.advance(2 * time.Second) // one wrong password refilled
		if code := basicGet(t, a.URL, "jflinn", "password", "").StatusCode; code != http.StatusOK {
			t.Fatalf("right password = %d, want 200", code)
		}
		if code := basicGet(t, a.URL, "nobody", "pw", "").StatusCode; code != http.StatusForbidden {
			t.Errorf("the refilled wrong password after a right one = %d, want 403", code)
		}
	})
}

// TestCachedBasicPasswordClearsFailures: a right Basic password answered
// from the cache clears the failure count like any right password.
func TestCachedBasicPasswordClearsFailures(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		a := testenv.NewApp(t, backend)
		if code := basicGet(t, a.URL, "awdeorio", "chickens", "").StatusCode; code != http.StatusOK {
			t.Fatalf("right password = %d, want 200", code)
		}
		free := auth.NewThrottle().AccountFree
		wrongs := func() {
			for i := range free - 1 {
				if code := basicGet(t, a.URL, "awdeorio", fmt.Sprint("wrong", i), "").StatusCode; code != http.StatusForbidden {
					t.Fatalf("wrong password %d = %d, want 403", i+1, code)
				}
			}
		}
		wrongs()
		if code := basicGet(t, a.URL, "awdeorio", "chickens", "").StatusCode; code != http.StatusOK {
			t.Fatalf("right password from the cache = %d, want 200", code)
		}
		wrongs()
		if resp := newClient(t).formLogin(a.URL, "awdeorio", "chickens"); resp.StatusCode != http.StatusFound {
			t.Errorf("right password on the login form after %d wrong, a right cached one and %d wrong = %d, want 302",
				free-1, free-1, resp.StatusCode)
		}
	})
}
