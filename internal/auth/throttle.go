package auth

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/insta485/insta485/internal/storage"
)

// ThrottledError is returned by Login when the account or the client's
// address has had too many wrong passwords lately. It is answered with 429
// and Retry-After.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many wrong passwords: try again in %s", e.RetryAfter)
}

// Throttle limits password guessing two ways.
//
// Per account (the name typed, lower-cased, whether it exists or not): the
// first AccountFree wrong passwords in a row get the classic 403. After
// that each further try must wait a delay that doubles from one second up
// to AccountMaxDelay, and one sent sooner gets 429 without its password
// being checked. A right password clears the count; so does AccountForget
// without a failure. The counts live in the database (login_failures), so
// every app server of a site enforces the same limit: spreading guesses
// over instances gains nothing. A user who mistypes a few times never
// meets it; an attacker gets about one guess per AccountMaxDelay per
// account, and the real user is kept out for at most that long after the
// attacker's last try.
//
// Per client address: at most AddressBurst wrong passwords, refilled at one
// per AddressRefill, whatever the names tried (so spraying one password
// over many accounts is bounded too). This state is kept in each process:
// it is a brake on one client's rate, an instance only needs to protect
// its own CPU, and keeping it in memory costs no database write per try
// from a flooding client; with N instances behind a balancer a client gets
// at most N times the rate, still far below what guessing needs. IPv6
// addresses count per /64, the block one client usually has.
type Throttle struct {
	AccountFree     int
	AccountMaxDelay time.Duration
	AccountForget   time.Duration
	AddressBurst    float64
	AddressRefill   time.Duration
	// Clock tells the time; nil is time.Now. Tests stop it to see exactly
	// which attempts one throttle slot admits.
	Clock func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxTrackedAddresses bounds the per-address map; full buckets (clients
// that have not failed for a while) are dropped when it is reached.
const maxTrackedAddresses = 100_000

// NewThrottle returns a Throttle with insta485's limits.
func NewThrottle() *Throttle {
	return &Throttle{
		AccountFree:     10,
		AccountMaxDelay: time.Minute,
		AccountForget:   15 * time.Minute,
		AddressBurst:    30,
		AddressRefill:   2 * time.Second,
		buckets:         map[string]*bucket{},
	}
}

func (t *Throttle) now() time.Time {
	if t.Clock == nil {
		return time.Now()
	}
	return t.Clock()
}

// accountDelay is how long after the last failure the account takes the
// next try, with failures wrong passwords counted.
func (t *Throttle) accountDelay(failures int) time.Duration {
	if failures < t.AccountFree {
		return 0
	}
	n := failures - t.AccountFree
	if n > 16 {
		return t.AccountMaxDelay
	}
	return min(time.Second<<n, t.AccountMaxDelay)
}

// maxReserveTries bounds how often reserveAccount reads again after
// losing a race for the same record; each loss means another attempt was
// counted, so a client that keeps losing meets the delay soon anyway.
const maxReserveTries = 50

// reserveAccount counts one attempt against account before its password is
// checked, or returns a *ThrottledError while the account must wait. The
// count is a compare-and-swap on the database row, so attempts that arrive
// together, on one app server or several, cannot all pass the same check:
// each throttle slot admits exactly one. An empty account (a name no one
// can have) is not counted.
func (t *Throttle) reserveAccount(ctx context.Context, store *storage.Store, account string) error {
	if account == "" {
		return nil
	}
	for range maxReserveTries {
		f, err := store.LoginFailures(ctx, account)
		if err != nil {
			return err
		}
		now := t.now()
		next := storage.LoginFailures{Count: f.Count + 1, Last: now}
		if f.Count == 0 || now.Sub(f.Last) > t.AccountForget {
			next.Count = 1
		} else if wait := f.Last.Add(t.accountDelay(f.Count)).Sub(now); wait > 0 {
			return &ThrottledError{RetryAfter: roundUp(wait)}
		}
		ok, err := store.SwapLoginFailures(ctx, account, f, next)
		if err != nil {
			return err
		}
		if ok {
			if now.UnixNano()%64 == 0 {
				return store.ForgetLoginFailures(ctx, now.Add(-t.AccountForget))
			}
			return nil
		}
	}
	return &ThrottledError{RetryAfter: time.Second}
}

// failedAccount records that the attempt reserved for account had a wrong
// password: the delay before the next one runs from now.
func (t *Throttle) failedAccount(ctx context.Context, store *storage.Store, account string) error {
	if account == "" {
		return nil
	}
	return store.TouchLoginFailure(context.WithoutCancel(ctx), account, t.now())
}

// refundAccount takes back an attempt reserveAccount counted whose password
// was never checked.
func (t *Throttle) refundAccount(ctx context.Context, store *storage.Store, account string) error {
	if account == "" {
		return nil
	}
	return store.RefundLoginFailure(context.WithoutCancel(ctx), account)
}

// addressKey is the key of an address's bucket: an IPv6 address's /64.
func addressKey(addr string) string {
	ip := net.ParseIP(addr)
	if ip == nil || ip.To4() != nil {
		return addr
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// refill brings b up to now; the caller holds t.mu.
func (t *Throttle) refill(b *bucket, now time.Time) {
	b.tokens = min(t.AddressBurst, b.tokens+float64(now.Sub(b.at))/float64(t.AddressRefill))
	b.at = now
}

// reserveAddress spends one of addr's wrong passwords before the password
// is checked, or returns a *ThrottledError when it has none left, so that
// a burst of attempts cannot all pass the check. refundAddress gives it
// back when the password was right or never checked.
func (t *Throttle) reserveAddress(addr string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	key := addressKey(addr)
	b, ok := t.buckets[key]
	if !ok {
		if len(t.buckets) >= maxTrackedAddresses {
			t.forgetFull(now)
		}
		b = &bucket{tokens: t.AddressBurst, at: now}
		t.buckets[key] = b
	}
	t.refill(b, now)
	if b.tokens < 1 {
		return &ThrottledError{RetryAfter: roundUp(time.Duration((1 - b.tokens) * float64(t.AddressRefill)))}
	}
	b.tokens--
	return nil
}

// refundAddress gives back a wrong password reserveAddress spent.
func (t *Throttle) refundAddress(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if b, ok := t.buckets[addressKey(addr)]; ok {
		b.tokens = min(t.AddressBurst, b.tokens+1)
	}
}

// forgetFull drops the buckets that have refilled completely: they hold
// nothing a fresh bucket would not. The caller holds t.mu.
func (t *Throttle) forgetFull(now time.Time) {
	for k, b := range t.buckets {
		t.refill(b, now)
		if b.tokens >= t.AddressBurst {
			delete(t.buckets, k)
		}
	}
}

// roundUp rounds d up to whole seconds, at least one: Retry-After counts
// seconds, and a client retrying early would only be refused again.
func roundUp(d time.Duration) time.Duration {
	return max(time.Second, (d+time.Second-1)/time.Second*time.Second)
}
