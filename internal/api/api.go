// Package api owns the JSON REST API of SPEC §5 under /api/v1/.
package api

import (
	"log/slog"
	"net/http"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/storage"
)

// Handler serves the API.
type Handler struct {
	Store *storage.Store
	Auth  *auth.Authenticator
	Log   *slog.Logger
}

// Register adds the API's routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {}
