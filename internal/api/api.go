// Package api owns the JSON REST API of SPEC §5 under /api/v1/.
//
// Every answer is JSON, errors included: {"message": "<reason phrase>",
// "status_code": N}. Callers authenticate with HTTP Basic or the site's
// session cookie; cookie-authenticated calls that change something must come
// from the site's own origin (SPEC §4, CSRF).
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/server"
	"github.com/insta485/insta485/internal/storage"
)

// Handler serves the API.
type Handler struct {
	Store *storage.Store
	Auth  *auth.Authenticator
	Log   *slog.Logger
}

// Register adds the API's routes to mux.
//
// Each known path also gets a method-less pattern answering 405, and
// /api/v1/ itself catches everything else with a JSON 404, so no request
// under /api/v1/ falls through to the site's HTML pages or to the mux's own
// plain-text and HTML answers.
func (h *Handler) Register(mux *http.ServeMux) {
	routes := []struct {
		method, path string
		handler      http.Handler
	}{
		{http.MethodGet, "/api/v1/{$}", http.HandlerFunc(h.index)},
		{http.MethodGet, "/api/v1/posts/{$}", h.authedLoad(h.listPosts)},
		{http.MethodGet, "/api/v1/posts/{postid}/{$}", h.authedLoad(h.getPost)},
		{http.MethodPost, "/api/v1/likes/{$}", h.authed(h.createLike)},
		{http.MethodDelete, "/api/v1/likes/{likeid}/{$}", h.authed(h.deleteLike)},
		{http.MethodPost, "/api/v1/comments/{$}", h.authed(h.createComment)},
		{http.MethodDelete, "/api/v1/comments/{commentid}/{$}", h.authed(h.deleteComment)},
	}
	notFound := func(w http.ResponseWriter, r *http.Request) { writeError(w, http.StatusNotFound) }
	for _, rt := range routes {
		mux.Handle(rt.method+" "+rt.path, rt.handler)
		allow := rt.method
		if rt.method == http.MethodGet {
			allow = "GET, HEAD" // the mux serves HEAD with the GET handler
		}
		mux.HandleFunc(rt.path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed)
		})
		// Without this the mux would answer the path without its trailing
		// slash with an HTML redirect.
		mux.HandleFunc(strings.TrimSuffix(rt.path, "/{$}"), notFound)
	}
	mux.HandleFunc("/api/v1/", notFound)
}

// index lists the API's resources; it is the one call that needs no login.
func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Comments string `json:"comments"`
		Likes    string `json:"likes"`
		Posts    string `json:"posts"`
		URL      string `json:"url"`
	}{"/api/v1/comments/", "/api/v1/likes/", "/api/v1/posts/", "/api/v1/"})
}

// apiFunc handles one authenticated call for logname. What it returns is
// answered by fail.
type apiFunc func(w http.ResponseWriter, r *http.Request, logname string) error

// loadFunc prepares a read-only call: the reads it needs, which run in the
// statement that checks the caller (one round trip to the database), and
// what answers once they have run. It reads nothing itself.
type loadFunc func(r *http.Request) ([]storage.Load, apiFunc)

// authed runs fn for the user the request authenticates as, or answers 403.
func (h *Handler) authed(fn apiFunc) http.Handler {
	return h.authedLoad(func(*http.Request) ([]storage.Load, apiFunc) { return nil, fn })
}

// authedLoad is authed for a call whose reads run with the check.
func (h *Handler) authedLoad(prepare loadFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		loads, fn := prepare(r)
		logname, err := h.logname(r, loads...)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if err := fn(w, r, logname); err != nil {
			h.fail(w, r, err)
		}
	})
}

// logname returns the user r authenticates as. HTTP Basic credentials, when
// sent, decide alone: wrong ones are refused even if a session cookie came
// too. A session cookie is ambient (the browser attaches it to requests any
// site makes), so an unsafe call it authenticates must be same-origin;
// Basic needs no such check (SPEC §4).
func (h *Handler) logname(r *http.Request, loads ...storage.Load) (string, error) {
	if _, _, basic := r.BasicAuth(); basic {
		u, err := h.Auth.Basic(r, loads...)
		if errors.Is(err, auth.ErrBadCredentials) {
			return "", errForbidden
		}
		return u.Username, err // a *auth.ThrottledError is answered 429 by fail
	}
	u, _, err := h.Auth.Session(r, loads...)
	if errors.Is(err, auth.ErrNoSession) || (err == nil && !safeMethod(r.Method) && !sameOriginWrite(r)) {
		return "", errForbidden
	}
	return u.Username, err
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOriginWrite reports whether an unsafe call its session cookie
// authenticates surely comes from the site's own pages: not cross-origin,
// and showing it, with its Origin (which browsers send on every POST and
// DELETE), Sec-Fetch-Site: same-origin, or a JSON body, which no other
// site can send without a CORS preflight this API never grants. A call
// with none of these (a text/plain or form POST from a browser too old to
// say where it comes from) is refused rather than trusted.
func sameOriginWrite(r *http.Request) bool {
	if crossOrigin(r) {
		return false
	}
	if r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		return true
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/json"
}

// crossOrigin reports whether a browser sent r on behalf of another site.
// It is stricter than http.CrossOriginProtection: a mismatched Origin is
// refused even when Sec-Fetch-Site claims same-origin. A request with
// neither header is not cross-origin by this test; sameOriginWrite still
// wants it to show where it comes from.
func crossOrigin(r *http.Request) bool {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none": // "none": the user typed the URL
	default: // "cross-site", "same-site", or anything newer we do not know
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host)
}

// httpError is a failure the client caused, answered with its status code.
type httpError int

func (e httpError) Error() string { return http.StatusText(int(e)) }

const (
	errBadRequest httpError = http.StatusBadRequest
	errForbidden  httpError = http.StatusForbidden
	errNotFound   httpError = http.StatusNotFound
	errTooLarge   httpError = http.StatusRequestEntityTooLarge
)

// fail answers err: the client's own mistakes (httpError), throttling,
// then server.Classify, the mapping the pages share. Anything unexpected is
// logged with the request id and becomes a 500 that tells nothing more.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he httpError
	var throttled *auth.ThrottledError
	switch {
	case errors.As(err, &he):
		writeError(w, int(he))
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", strconv.Itoa(int(throttled.RetryAfter/time.Second)))
		writeError(w, http.StatusTooManyRequests)
	default:
		a, known := server.Classify(err)
		switch {
		case known && a.Outage != "":
			h.Log.Warn(a.Outage, "id", server.RequestID(r.Context()),
				"method", r.Method, "path", r.URL.Path, "err", err)
			server.Unavailable(w, r)
		case known:
			writeError(w, a.Status)
		case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
			// The client went away; there is no one to answer.
		default:
			h.Log.Error("api call failed", "id", server.RequestID(r.Context()),
				"method", r.Method, "path", r.URL.Path, "err", err)
			server.InternalError(w, r)
		}
	}
}

// writeJSON answers with v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only the types of this package are encoded here; they always marshal.
		panic("api: encode response: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// writeNoContent answers 204. The content type is set all the same: every
// answer of the API says it is JSON.
func writeNoContent(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNoContent)
}

type errorBody struct {
	Message    string `json:"message"`
	StatusCode int    `json:"status_code"`
}

// writeError answers with the error body of SPEC §5.
func writeError(w http.ResponseWriter, status int) {
	writeJSON(w, status, errorBody{http.StatusText(status), status})
}

// pathID reads the id in the path segment named key; an id that is not a
// positive integer names no resource.
func pathID(r *http.Request, key string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(key), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

// queryInt reads the integer query parameter key; present says whether it
// was sent. A parameter sent empty or not an integer is a bad request.
func queryInt(q url.Values, key string) (n int64, present bool, err error) {
	vs, ok := q[key]
	if !ok {
		return 0, false, nil
	}
	n, err = strconv.ParseInt(vs[0], 10, 64)
	if err != nil {
		return 0, true, errBadRequest
	}
	return n, true, nil
}

// requiredPostID reads ?postid=N, which the calls that create likes and
// comments need.
func requiredPostID(r *http.Request) (int64, error) {
	id, present, err := queryInt(r.URL.Query(), "postid")
	if err != nil || !present {
		return 0, errBadRequest
	}
	return id, nil
}

// Links to the resources, in one place so every answer spells them alike.

func postURL(id int64) string    { return "/api/v1/posts/" + strconv.FormatInt(id, 10) + "/" }
func likeURL(id int64) string    { return "/api/v1/likes/" + strconv.FormatInt(id, 10) + "/" }
func commentURL(id int64) string { return "/api/v1/comments/" + strconv.FormatInt(id, 10) + "/" }
func userShowURL(u string) string {
	return "/users/" + url.PathEscape(u) + "/"
}
func uploadURL(filename string) string { return "/uploads/" + url.PathEscape(filename) }
