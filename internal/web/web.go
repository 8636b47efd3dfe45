// Package web owns the server-rendered site of SPEC §3–4: pages, form
// actions, templates and static assets, and serving uploads.
package web

import (
	"log/slog"
	"net/http"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/storage"
)

// Handler serves the site.
type Handler struct {
	Store     *storage.Store
	Media     media.Store
	Auth      *auth.Authenticator
	MaxUpload int64
	Log       *slog.Logger
}

// Register adds the site's routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>insta485</title></head><body><h1>insta485</h1></body></html>\n"))
	})
}
