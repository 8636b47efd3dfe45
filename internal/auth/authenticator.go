package auth

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/insta485/insta485/internal/storage"
)

// ErrBadCredentials is returned for an unknown user or a wrong password;
// which of the two is never told.
var ErrBadCredentials = errors.New("wrong username or password")

// ErrBusy is returned when every argon2id slot stayed taken for longer than
// a login waits: the server is saturated with password checks, and the
// client should try again in a moment (503 with Retry-After).
var ErrBusy = errors.New("too many password checks at once")

// MaxPasswordBytes bounds the passwords Login checks: no one types more,
// and hashing a 10 MB one takes a core for a fifth of a second.
const MaxPasswordBytes = 1024

// ErrPasswordTooLong is returned by Login for a password over
// MaxPasswordBytes, before any work on it (400).
var ErrPasswordTooLong = errors.New("the password is too long: at most 1024 bytes")

// DefaultArgonWait is how long a login waits for an argon2id slot.
const DefaultArgonWait = 3 * time.Second

// Authenticator finds the user behind a request: the session cookie for
// browsers, HTTP Basic for API clients. It throttles password guessing
// (see Throttle).
type Authenticator struct {
	Sessions *Sessions
	Store    *storage.Store
	// Throttle limits wrong passwords; nil uses NewThrottle's limits.
	Throttle *Throttle
	// ArgonWait is how long a login waits for an argon2id slot before
	// giving up with ErrBusy; 0 means DefaultArgonWait.
	ArgonWait time.Duration

	defaultThrottle sync.Once

	basic basicCache
}

func (a *Authenticator) throttle() *Throttle {
	a.defaultThrottle.Do(func() {
		if a.Throttle == nil {
			a.Throttle = NewThrottle()
		}
	})
	return a.Throttle
}

// Login checks a username and password sent by the client at address
// client (an IP address; "" when unknown). A legacy or weak hash is
// replaced by a fresh argon2id one on success. Besides ErrBadCredentials
// it returns a *ThrottledError when the account or the address has had too
// many wrong passwords lately (the password is then not even checked),
// ErrBusy when no argon2id slot came free in time, and any other error when
// the database could not be asked.
func (a *Authenticator) Login(ctx context.Context, client, username, password string) (storage.User, error) {
	if len(password) > MaxPasswordBytes {
		return storage.User{}, ErrPasswordTooLong
	}
	th := a.throttle()
	// No user has a name that is not valid UTF-8 or holds NUL, and
	// PostgreSQL answers a lookup of one with an error, not with no rows.
	possible := utf8.ValidString(username) && !strings.ContainsRune(username, 0) && len(username) <= 64
	account := ""
	if possible {
		account = strings.ToLower(username)
	}
	// The attempt is counted against the address and the account before
	// the password is checked, and given back when it was right or not
	// checked at all: attempts that arrive together cannot all pass.
	if err := th.reserveAddress(client); err != nil {
		return storage.User{}, err
	}
	if err := th.reserveAccount(ctx, a.Store, account); err != nil {
		th.refundAddress(client)
		return storage.User{}, err
	}
	refund := func(err error) (storage.User, error) {
		th.refundAddress(client)
		if rerr := th.refundAccount(ctx, a.Store, account); rerr != nil {
			return storage.User{}, errors.Join(err, rerr)
		}
		return storage.User{}, err
	}
	wait := a.ArgonWait
	if wait <= 0 {
		wait = DefaultArgonWait
	}
	if !acquireArgon(ctx, wait) {
		return refund(ErrBusy)
	}
	u, ok, rehash, err := a.verify(ctx, possible, username, password)
	releaseArgon()
	if err != nil {
		return refund(err)
	}
	if !ok {
		if err := th.failedAccount(ctx, a.Store, account); err != nil {
			return storage.User{}, err
		}
		return storage.User{}, ErrBadCredentials
	}
	th.refundAddress(client)
	if err := a.clearFailures(ctx, account, true); err != nil {
		return storage.User{}, err
	}
	if rehash {
		h := HashPassword(password)
		err := a.Store.ReplacePassword(ctx, u.Username, u.Password, h)
		if errors.Is(err, storage.ErrConflict) {
			// A concurrent login upgraded it first: use theirs, so both
			// sessions are bound to the hash that is stored, read from
			// the primary: a replica may not have replayed theirs yet.
			return a.Store.User(storage.FromPrimary(ctx), u.Username)
		}
		if err != nil {
			return storage.User{}, err
		}
		u.Password = h
	}
	return u, nil
}

// clearFailures forgets account's wrong passwords after a right one; known
// says the caller knows there is a count to clear, otherwise it is read
// first, so that a password check answered from the cache costs no write.
func (a *Authenticator) clearFailures(ctx context.Context, account string, known bool) error {
	if account == "" {
		return nil
	}
	if !known {
		f, err := a.Store.LoginFailures(ctx, account)
		if err != nil || f.Count == 0 {
			return err
		}
	}
	return a.Store.ClearLoginFailures(context.WithoutCancel(ctx), account)
}

// verify looks username up and checks password against it, spending the
// same time whether the user exists or not. The caller holds an argon2id
// slot.
func (a *Authenticator) verify(ctx context.Context, possible bool, username, password string) (u storage.User, ok, rehash bool, err error) {
	err = storage.ErrNotFound
	if possible {
		// From the primary: the password a replica holds may already
		// have been changed.
		u, err = a.Store.User(storage.FromPrimary(ctx), username)
	}
	if errors.Is(err, storage.ErrNotFound) {
		checkPassword("", password) // the time of a real check
		return storage.User{}, false, false, nil
	}
	if err != nil {
		return storage.User{}, false, false, err
	}
	ok, rehash = checkPassword(u.Password, password)
	return u, ok, rehash, nil
}

// StartSession records a new session for u and returns its cookie value.
func (a *Authenticator) StartSession(ctx context.Context, u storage.User) (string, error) {
	sess := Session{Username: u.Username, ID: NewSessionID(), Expires: a.Sessions.Expiry()}
	if err := a.Store.CreateSession(ctx, sess.ID, sess.Username, sess.Expires); err != nil {
		return "", err
	}
	return a.Sessions.Issue(sess), nil
}

// EndSession ends the session whose cookie value is value, on every app
// server. A value that is not a valid cookie ends nothing.
func (a *Authenticator) EndSession(ctx context.Context, value string) error {
	sess, err := a.Sessions.Parse(value)
	if err != nil {
		return nil
	}
	return a.Store.EndSession(ctx, sess.ID)
}

// ErrNoSession is returned when a request carries no valid session: no
// cookie, or one that is forged or expired, or whose session was ended
// (logout, password change, account deleted).
var ErrNoSession = errors.New("not logged in")

// Session returns the user whose live session cookie r carries, and the
// cookie's value (the binding for CSRF tokens), reading the session and
// the user in one query, with loads run in that same statement (see
// storage.ReadAs). ErrNoSession when there is none; any other error means
// the database could not be asked, which is not the same as being logged
// out.
func (a *Authenticator) Session(r *http.Request, loads ...storage.Load) (storage.User, string, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return storage.User{}, "", ErrNoSession
	}
	sess, err := a.Sessions.Parse(c.Value)
	if err != nil {
		return storage.User{}, "", ErrNoSession
	}
	u, err := a.Store.ReadAs(r.Context(), storage.Viewer{Username: sess.Username, SessionID: sess.ID}, loads...)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, "", ErrNoSession
	}
	if err != nil {
		return storage.User{}, "", err
	}
	return u, c.Value, nil
}

// FromCookie is Session for callers to whom any failure means a visitor.
func (a *Authenticator) FromCookie(r *http.Request) (storage.User, string, bool) {
	u, v, err := a.Session(r)
	return u, v, err == nil
}

// Basic returns the user whose HTTP Basic credentials r carries, with
// loads run in the statement that reads the user (see storage.ReadAs):
// ErrBadCredentials when there are none or they are wrong, and Login's
// other errors.
func (a *Authenticator) Basic(r *http.Request, loads ...storage.Load) (storage.User, error) {
	name, pw, ok := r.BasicAuth()
	if !ok {
		return storage.User{}, ErrBadCredentials
	}
	// The row is read on every request, from the primary (a replica may
	// not have replayed a password change yet): the cache only stands for
	// the password check against the hash stored right now (basiccache.go).
	if utf8.ValidString(name) && !strings.ContainsRune(name, 0) {
		// The failure count comes in the same statement; with replicas it
		// may be a replica's, so it is read again from the primary.
		failures := &storage.FailuresLoad{Name: strings.ToLower(name)}
		u, err := a.Store.ReadAs(r.Context(), storage.Viewer{Username: name}, append(loads, failures)...)
		if err == nil && a.basic.ok(name, pw, u.Password) {
			// The right password clears the failure count here too.
			if failures.Count > 0 || a.Store.HasReplicas() {
				if err := a.clearFailures(r.Context(), strings.ToLower(name), !a.Store.HasReplicas()); err != nil {
					return storage.User{}, err
				}
			}
			return u, nil
		}
	}
	a.basic.misses.Add(1)
	u, err := a.Login(r.Context(), ClientAddress(r), name, pw)
	if err != nil {
		return u, err
	}
	a.basic.put(u.Username, pw, u.Password)
	if len(loads) > 0 {
		// The password is right: read what the loads want for the user
		// Login found.
		if _, err := a.Store.ReadAs(r.Context(), storage.Viewer{Username: u.Username}, loads...); err != nil {
			return storage.User{}, err
		}
	}
	return u, nil
}

// ClientAddress is the IP address r came from. Behind a trusted proxy the
// server has already put the client's address in RemoteAddr (see
// server.TrustProxies).
func ClientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
