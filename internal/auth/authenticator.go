package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/insta485/insta485/internal/storage"
)

// ErrBadCredentials is returned for an unknown user or a wrong password;
// which of the two is never told.
var ErrBadCredentials = errors.New("wrong username or password")

// Authenticator finds the user behind a request: the session cookie for
// browsers, HTTP Basic for API clients.
type Authenticator struct {
	Sessions *Sessions
	Store    *storage.Store
}

// Login checks a username and password. A legacy or weak hash is replaced
// by a fresh argon2id one on success.
func (a *Authenticator) Login(ctx context.Context, username, password string) (storage.User, error) {
	var u storage.User
	err := storage.ErrNotFound
	// No user has a name that is not valid UTF-8 or holds NUL, and
	// PostgreSQL answers a lookup of one with an error, not with no rows.
	if utf8.ValidString(username) && !strings.ContainsRune(username, 0) {
		u, err = a.Store.User(ctx, username)
	}
	if errors.Is(err, storage.ErrNotFound) {
		// Spend the time a real check would, so timing does not tell which
		// usernames exist.
		CheckPassword(dummyHash, password)
		return storage.User{}, ErrBadCredentials
	}
	if err != nil {
		return storage.User{}, err
	}
	ok, rehash := CheckPassword(u.Password, password)
	if !ok {
		return storage.User{}, ErrBadCredentials
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

var dummyHash = HashPassword("insta485 timing equaliser")

// ErrNoSession is returned when a request carries no valid session: no
// cookie, or one that is forged, expired, or of a changed password or a
// deleted account.
var ErrNoSession = errors.New("not logged in")

// Session returns the user whose valid session cookie r carries, and the
// cookie's value (the binding for CSRF tokens). ErrNoSession when there is
// none; any other error means the database could not be asked, which is
// not the same as being logged out.
func (a *Authenticator) Session(r *http.Request) (storage.User, string, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return storage.User{}, "", ErrNoSession
	}
	sess, err := a.Sessions.Parse(c.Value)
	if err != nil {
		return storage.User{}, "", ErrNoSession
	}
	u, err := a.Store.User(r.Context(), sess.Username)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !a.Sessions.Valid(sess, u.Password)) {
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

// Basic returns the user whose HTTP Basic credentials r carries:
// ErrBadCredentials when there are none or they are wrong, any other error
// when the database could not be asked.
func (a *Authenticator) Basic(r *http.Request) (storage.User, error) {
	name, pw, ok := r.BasicAuth()
	if !ok {
		return storage.User{}, ErrBadCredentials
	}
	return a.Login(r.Context(), name, pw)
}
