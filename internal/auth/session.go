package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CookieName is the session cookie's name, fixed by SPEC §4.
const CookieName = "login"

// SessionTTL is how long a session lasts without logging in again.
const SessionTTL = 30 * 24 * time.Hour

var b64url = base64.RawURLEncoding

// ErrBadSession is returned for a cookie that is malformed, forged or expired.
var ErrBadSession = errors.New("invalid or expired session")

// Sessions issues and checks signed session cookies. The cookie names a
// session recorded in the database (see Authenticator), so logging out,
// changing the password or deleting the account ends it on every app
// server; the signature (HMAC-SHA256 with the secret every instance
// shares) keeps clients from forging or guessing ids.
//
// A cookie value is dot-separated fields, the signature last:
//
//	base64url(username) . expiry (Unix seconds) . session id [. extra …] . signature
//
// Extra fields are for later needs (a replica's WAL position, say): Parse
// keeps them, in order, in Session.Extra, and an older insta485 that does
// not know them still accepts the cookie.
type Sessions struct {
	key []byte
	now func() time.Time
}

// NewSessions returns Sessions signing with secret, which every instance of
// one deployment must share.
func NewSessions(secret []byte) *Sessions {
	return &Sessions{key: secret, now: time.Now}
}

func (s *Sessions) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// Session is a checked cookie: whose, which session, until when.
type Session struct {
	Username string
	ID       string
	Expires  time.Time
	// Extra are the fields after the id, for extensions.
	Extra []string
}

// NewSessionID returns a fresh random session id.
func NewSessionID() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic("auth: no randomness: " + err.Error())
	}
	return b64url.EncodeToString(b)
}

// Expiry is when a session issued now ends.
func (s *Sessions) Expiry() time.Time { return s.now().Add(SessionTTL) }

// Issue returns the cookie value for sess. Its fields may not contain dots
// (ids from NewSessionID and base64url never do).
func (s *Sessions) Issue(sess Session) string {
	fields := append([]string{b64url.EncodeToString([]byte(sess.Username)),
		strconv.FormatInt(sess.Expires.Unix(), 10), sess.ID}, sess.Extra...)
	payload := strings.Join(fields, ".")
	return payload + "." + b64url.EncodeToString(s.mac("session", payload))
}

// Parse checks value's signature and expiry. Whether the session is still
// live is the database's to say.
func (s *Sessions) Parse(value string) (Session, error) {
	if len(value) > 4096 {
		return Session{}, ErrBadSession
	}
	parts := strings.Split(value, ".")
	if len(parts) < 4 {
		return Session{}, ErrBadSession
	}
	payload := strings.Join(parts[:len(parts)-1], ".")
	sig, err := b64url.DecodeString(parts[len(parts)-1])
	if err != nil || !hmac.Equal(sig, s.mac("session", payload)) {
		return Session{}, ErrBadSession
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || s.now().Unix() > exp {
		return Session{}, ErrBadSession
	}
	name, err := b64url.DecodeString(parts[0])
	if err != nil || len(name) == 0 || parts[2] == "" {
		return Session{}, ErrBadSession
	}
	return Session{Username: string(name), ID: parts[2], Expires: time.Unix(exp, 0),
		Extra: parts[3 : len(parts)-1]}, nil
}

// Cookie returns the session cookie to set; Secure when the request came
// over HTTPS (directly or through a proxy that says so).
func (s *Sessions) Cookie(r *http.Request, value string) *http.Cookie {
	return &http.Cookie{
		Name: CookieName, Value: value, Path: "/",
		MaxAge: int(SessionTTL.Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: IsHTTPS(r),
	}
}

// ClearCookie returns the cookie that ends a session in the browser.
func (s *Sessions) ClearCookie(r *http.Request) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: IsHTTPS(r)}
}

// IsHTTPS reports whether the client reached us over HTTPS.
func IsHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// CSRFToken returns the anti-forgery token for forms rendered to the holder
// of binding: the session cookie's value, or for a visitor who is not logged
// in the value of their anonymous CSRF cookie.
func (s *Sessions) CSRFToken(binding string) string {
	return b64url.EncodeToString(s.mac("csrf", binding)[:18])
}

// CheckCSRF reports whether token is the one CSRFToken gives for binding.
func (s *Sessions) CheckCSRF(binding, token string) bool {
	if binding == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(token), []byte(s.CSRFToken(binding)))
}
