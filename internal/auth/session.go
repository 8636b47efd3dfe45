package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/insta485/insta485/internal/storage"
)

// CookieName is the session cookie's name, fixed by SPEC §4.
const CookieName = "login"

// SessionTTL is how long a session lasts without logging in again.
const SessionTTL = 30 * 24 * time.Hour

var b64url = base64.RawURLEncoding

// ErrBadSession is returned for a cookie that is malformed, forged or expired.
var ErrBadSession = errors.New("invalid or expired session")

// Sessions issues and checks signed session cookies. A session carries no
// server-side state, so any app instance sharing the secret key accepts it.
// It is bound to the user's password hash: changing the password (or
// deleting the account) ends every session of that user.
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

// fingerprint identifies a password hash without revealing it.
func (s *Sessions) fingerprint(passwordHash string) string {
	return b64url.EncodeToString(s.mac("pw", passwordHash)[:9])
}

// Issue returns a cookie value for username, whose stored hash is passwordHash.
func (s *Sessions) Issue(username, passwordHash string) string {
	exp := strconv.FormatInt(s.now().Add(SessionTTL).Unix(), 10)
	payload := b64url.EncodeToString([]byte(username)) + "." + exp + "." + s.fingerprint(passwordHash)
	return payload + "." + b64url.EncodeToString(s.mac("session", payload))
}

// Session is a checked cookie. The caller confirms Fingerprint against the
// user's current hash with Valid.
type Session struct {
	Username    string
	fingerprint string
}

// Parse checks value's signature and expiry.
func (s *Sessions) Parse(value string) (Session, error) {
	parts := strings.Split(value, ".")
	if len(parts) != 4 {
		return Session{}, ErrBadSession
	}
	payload := parts[0] + "." + parts[1] + "." + parts[2]
	sig, err := b64url.DecodeString(parts[3])
	if err != nil || !hmac.Equal(sig, s.mac("session", payload)) {
		return Session{}, ErrBadSession
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || s.now().Unix() > exp {
		return Session{}, ErrBadSession
	}
	name, err := b64url.DecodeString(parts[0])
	if err != nil || len(name) == 0 {
		return Session{}, ErrBadSession
	}
	return Session{Username: string(name), fingerprint: parts[2]}, nil
}

// Valid reports whether sess was issued for the user's current password hash.
func (s *Sessions) Valid(sess Session, passwordHash string) bool {
	return hmac.Equal([]byte(sess.fingerprint), []byte(s.fingerprint(passwordHash)))
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

// WrittenCookieName is the cookie carrying the primary's WAL position
// after the holder's last write, for read-your-writes with read replicas
// (see ReadYourWrites). It is separate from the session cookie because that
// one's value binds the CSRF tokens of pages already open, which a change
// after every write would break.
const WrittenCookieName = "insta485_written"

// WrittenTTL is how long a written mark is honoured. It must exceed the
// replica lag bound (config caps --database-replica-max-lag well below
// it): past the bound, every replica still serving has replayed the write.
const WrittenTTL = 15 * time.Minute

// IssueWritten returns a signed, expiring cookie value for WAL position lsn.
func (s *Sessions) IssueWritten(lsn storage.LSN) string {
	payload := strconv.FormatUint(uint64(lsn), 16) + "." + strconv.FormatInt(s.now().Add(WrittenTTL).Unix(), 10)
	return payload + "." + b64url.EncodeToString(s.mac("written", payload)[:18])
}

// ParseWritten checks a written mark's signature and expiry.
func (s *Sessions) ParseWritten(value string) (storage.LSN, error) {
	parts := strings.Split(value, ".")
	if len(parts) != 3 {
		return 0, ErrBadSession
	}
	payload := parts[0] + "." + parts[1]
	sig, err := b64url.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, s.mac("written", payload)[:18]) {
		return 0, ErrBadSession
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || s.now().Unix() > exp {
		return 0, ErrBadSession
	}
	lsn, err := strconv.ParseUint(parts[0], 16, 64)
	if err != nil {
		return 0, ErrBadSession
	}
	return storage.LSN(lsn), nil
}

// WrittenCookie returns the written mark cookie to set.
func (s *Sessions) WrittenCookie(r *http.Request, value string) *http.Cookie {
	return &http.Cookie{
		Name: WrittenCookieName, Value: value, Path: "/",
		MaxAge: int(WrittenTTL.Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: IsHTTPS(r),
	}
}
