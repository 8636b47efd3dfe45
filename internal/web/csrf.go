package web

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"

	"github.com/insta485/insta485/internal/auth"
)

// csrfField is the hidden form field carrying the anti-forgery token.
const csrfField = "csrf_token"

// anonCookie holds a random value that binds the CSRF tokens of the forms a
// visitor sees before logging in (login and sign-up). Only this site can
// read it (HttpOnly) and other sites' forms do not send it (SameSite=Lax),
// so a forged login or sign-up has no token that matches it.
const anonCookie = "csrf"

var anonValue = regexp.MustCompile(`^[0-9a-f]{64}$`)

// anonBinding returns the visitor's anonymous CSRF binding, setting the
// cookie when the browser has none yet.
func (h *Handler) anonBinding(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(anonCookie); err == nil && anonValue.MatchString(c.Value) {
		return c.Value
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("web: no randomness: " + err.Error())
	}
	v := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{
		Name: anonCookie, Value: v, Path: "/accounts/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: auth.IsHTTPS(r),
	})
	return v
}

// checkAnonCSRF reports whether r carries a token bound to the visitor's
// anonymous cookie, or to their session when they are logged in (a login
// form left open in a tab from before).
func (h *Handler) checkAnonCSRF(r *http.Request, v viewer) bool {
	token := r.PostFormValue(csrfField)
	if c, err := r.Cookie(anonCookie); err == nil && h.Auth.Sessions.CheckCSRF(c.Value, token) {
		return true
	}
	return v.Session != "" && h.Auth.Sessions.CheckCSRF(v.Session, token)
}

// csrfToken is the token the logged-in viewer's forms carry.
func (h *Handler) csrfToken(v viewer) string { return h.Auth.Sessions.CSRFToken(v.Session) }

func (h *Handler) failCSRF(w http.ResponseWriter, r *http.Request, v viewer) {
	h.fail(w, r, v, http.StatusBadRequest,
		"This form has expired or did not come from this site, so nothing was changed. Please reload the page and try again.")
}
