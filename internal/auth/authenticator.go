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
			// sessions are bound to the hash that is stored.
			return a.Store.User(ctx, u.Username)
		}
		if err != nil {
			return storage.User{}, err
		}
		u.Password = h
	}
	return u, nil
}

var dummyHash = HashPassword("insta485 timing equaliser")

// FromCookie returns the user whose valid session cookie r carries, and the
// cookie's value (the binding for CSRF tokens).
func (a *Authenticator) FromCookie(r *http.Request) (storage.User, string, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return storage.User{}, "", false
	}
	sess, err := a.Sessions.Parse(c.Value)
	if err != nil {
		return storage.User{}, "", false
	}
	u, err := a.Store.User(r.Context(), sess.Username)
	if err != nil || !a.Sessions.Valid(sess, u.Password) {
		return storage.User{}, "", false
	}
	return u, c.Value, true
}

// FromBasic returns the user whose HTTP Basic credentials r carries.
func (a *Authenticator) FromBasic(r *http.Request) (storage.User, bool) {
	name, pw, ok := r.BasicAuth()
	if !ok {
		return storage.User{}, false
	}
	u, err := a.Login(r.Context(), name, pw)
	return u, err == nil
}
