// Package web owns the server-rendered site of SPEC §3–4: pages, form
// actions, templates and static assets, and serving uploads.
//
// Pages answer GET and need a logged-in user (except the login and sign-up
// pages): visitors are redirected to /accounts/login/. Form actions answer
// POST, need a logged-in user (403 otherwise, except login and sign-up), a
// CSRF token bound to the session (400 otherwise), and redirect to the
// form's `target` when they succeed.
package web

import (
	"log/slog"
	"net/http"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/storage"
)

// defaultMaxUpload is the upload limit when none is configured (SPEC §4).
const defaultMaxUpload = 16 << 20

// Handler serves the site.
type Handler struct {
	Store     *storage.Store
	Media     blob.Store
	Auth      *auth.Authenticator
	MaxUpload int64
	Log       *slog.Logger
	// Delivery says how /uploads/ hands over pictures; nil: the app
	// sends them (proxy).
	Delivery *media.Delivery
}

// Register adds the site's routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	// Pages.
	mux.Handle("GET /{$}", h.loadPage(h.feed))
	mux.Handle("GET /explore/{$}", h.loadPage(h.explore))
	mux.Handle("GET /users/{username}/{$}", h.loadPage(h.userPage))
	mux.Handle("GET /users/{username}/followers/{$}", h.loadPage(h.followersPage))
	mux.Handle("GET /users/{username}/following/{$}", h.loadPage(h.followingPage))
	mux.Handle("GET /posts/{postid}/{$}", h.loadPage(h.postPage))
	mux.HandleFunc("GET /accounts/login/{$}", h.loginPage)
	mux.HandleFunc("GET /accounts/create/{$}", h.createPage)
	mux.Handle("GET /accounts/edit/{$}", h.page(h.editPage))
	mux.Handle("GET /accounts/password/{$}", h.page(h.passwordPage))
	mux.Handle("GET /accounts/delete/{$}", h.page(h.deletePage))
	mux.HandleFunc("GET /accounts/auth/{$}", h.authCheck)
	mux.HandleFunc("GET /uploads/{filename}", h.upload)
	mux.Handle("GET /static/", h.staticFiles())

	// Form actions. Login and sign-up go through /accounts/ without a
	// session, so that route checks for one itself.
	mux.HandleFunc("POST /accounts/{$}", h.accounts)
	mux.Handle("POST /accounts/logout/{$}", h.action(h.logout))
	mux.Handle("POST /likes/{$}", h.action(h.likes))
	mux.Handle("POST /comments/{$}", h.action(h.comments))
	mux.Handle("POST /posts/{$}", h.action(h.posts))
	mux.Handle("POST /following/{$}", h.action(h.following))

	// Everything else gets a friendly 404 page instead of the mux's plain
	// text. More specific patterns (the API's /api/v1/ among them) win.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		v, _ := h.viewer(r)
		h.fail(w, r, v, http.StatusNotFound, "There is no page at this address.")
	})
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}

func (h *Handler) maxUpload() int64 {
	if h.MaxUpload <= 0 {
		return defaultMaxUpload
	}
	return h.MaxUpload
}
