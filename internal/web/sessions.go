package web

import (
	"errors"
	"mime"
	"net/http"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/storage"
)

// viewer is who is looking at a page or sending a form.
type viewer struct {
	User storage.User
	// Session is the session cookie's value, the binding of the viewer's
	// CSRF tokens.
	Session string
}

// Logname is the logged-in user's name, empty for a visitor.
func (v viewer) Logname() string { return v.User.Username }

// viewer returns the logged-in user behind r, if any, for pages a visitor
// may see too: there, a database that cannot be asked makes a visitor.
func (h *Handler) viewer(r *http.Request) (viewer, bool) {
	v, err := h.session(r)
	return v, err == nil
}

// session returns the logged-in user behind r, running loads in the
// statement that checks the session: auth.ErrNoSession for a visitor,
// another error when the database could not be asked.
func (h *Handler) session(r *http.Request, loads ...storage.Load) (viewer, error) {
	u, session, err := h.Auth.Session(r, loads...)
	if err != nil {
		return viewer{}, err
	}
	return viewer{User: u, Session: session}, nil
}

// showFunc renders a page for a logged-in viewer.
type showFunc func(http.ResponseWriter, *http.Request, viewer)

// loadFunc prepares a page: the reads it needs, which run in the statement
// that checks the session (one round trip to the database), and what shows
// the page once they have run. It reads nothing itself.
type loadFunc func(r *http.Request) ([]storage.Load, showFunc)

// page wraps a page that needs a logged-in user and reads nothing more.
func (h *Handler) page(fn showFunc) http.Handler {
	return h.loadPage(func(*http.Request) ([]storage.Load, showFunc) { return nil, fn })
}

// loadPage wraps a page that needs a logged-in user: visitors are sent to
// the login page, and a session cookie that no longer works (expired,
// password changed, account deleted) is dropped on the way. The page is
// shown only once the session is checked.
func (h *Handler) loadPage(fn loadFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		loads, show := fn(r)
		v, err := h.session(r, loads...)
		if err != nil && !errors.Is(err, auth.ErrNoSession) {
			h.serverError(w, r, err) // not a logout: keep the cookie
			return
		}
		if err != nil {
			if _, err := r.Cookie(auth.CookieName); err == nil {
				http.SetCookie(w, h.Auth.Sessions.ClearCookie(r))
			}
			http.Redirect(w, r, "/accounts/login/", http.StatusFound)
			return
		}
		show(w, r, v)
	})
}

// action wraps a form action that needs a logged-in user: 403 without one,
// 413 or 400 when the form cannot be read, 400 without the session's CSRF
// token. fn runs only when all of that passed.
func (h *Handler) action(fn func(http.ResponseWriter, *http.Request, viewer)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := h.session(r)
		if err != nil && !errors.Is(err, auth.ErrNoSession) {
			h.serverError(w, r, err)
			return
		}
		if err != nil {
			h.fail(w, r, v, http.StatusForbidden, "You need to log in first.")
			return
		}
		h.withForm(w, r, v, func() {
			if !h.Auth.Sessions.CheckCSRF(v.Session, r.PostFormValue(csrfField)) {
				h.failCSRF(w, r, v)
				return
			}
			fn(w, r, v)
		})
	})
}

// formOverhead is what a form may carry besides its one file: the other
// fields (a comment is at most 1024 characters) and the multipart framing.
const formOverhead = 64 << 10

// multipartMemory is how much of a multipart form is kept in memory; the
// rest of a large upload is spooled to a temporary file that withForm
// removes when the request ends.
const multipartMemory = 4 << 20

// withForm reads r's form (see readForm) and, when it could be read, runs
// fn. It is the only way a handler reads a form: files the form was
// spooled to are removed when fn returns, whatever it answered, and when
// it panics. net/http cannot do it: it removes only the form of the
// request it passed to the handler, and the one parsed here is a copy
// (middleware adds context with r.WithContext).
func (h *Handler) withForm(w http.ResponseWriter, r *http.Request, v viewer, fn func()) {
	defer removeFormFiles(r)
	if h.readForm(w, r, v) {
		fn()
	}
}

// removeFormFiles removes the temporary files of r's multipart form, if it
// has one. A form that failed to parse has none: the multipart reader
// removes what it wrote before returning its error.
func removeFormFiles(r *http.Request) {
	if r.MultipartForm != nil {
		_ = r.MultipartForm.RemoveAll()
	}
}

// readForm parses r's body for withForm, bounded by the upload limit. It answers 413 for
// a body over the limit and 400 for one that cannot be parsed, and reports
// whether the handler may go on.
func (h *Handler) readForm(w http.ResponseWriter, r *http.Request, v viewer) bool {
	r.Body = http.MaxBytesReader(w, r.Body, h.maxUpload()+formOverhead)
	var err error
	// ParseMultipartForm parses url-encoded bodies too but then hides their
	// errors behind ErrNotMultipart, so each kind is parsed on its own.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		err = r.ParseMultipartForm(multipartMemory)
	} else {
		err = r.ParseForm()
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		h.failTooLarge(w, r, v)
		return false
	case err != nil:
		h.log().Info("unreadable form", "id", requestID(r), "err", err)
		h.fail(w, r, v, http.StatusBadRequest, "The form could not be read. Please reload the page and try again.")
		return false
	}
	return true
}

func (h *Handler) failTooLarge(w http.ResponseWriter, r *http.Request, v viewer) {
	h.fail(w, r, v, http.StatusRequestEntityTooLarge,
		"The upload is larger than the limit of "+byteSize(h.maxUpload())+". Please choose a smaller picture.")
}

// startSession logs u in on this browser.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, u storage.User) error {
	value, err := h.Auth.StartSession(r.Context(), u)
	if err != nil {
		return err
	}
	http.SetCookie(w, h.Auth.Sessions.Cookie(r, value))
	return nil
}
