// Package server owns the HTTP server around insta485's handlers: routing
// of the site and the API onto one mux, request ids, access logs, panic
// recovery, health probes, and graceful shutdown.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/insta485/insta485/internal/storage"
)

// Registrar adds its routes to a mux: the site and the API each are one.
type Registrar interface {
	Register(mux *http.ServeMux)
}

// New returns the whole application as one handler.
func New(store *storage.Store, log *slog.Logger, parts ...Registrar) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := store.Ping(ctx); err != nil {
			log.Warn("readiness check failed", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "database unreachable")
			return
		}
		fmt.Fprintln(w, "ready")
	})
	for _, p := range parts {
		p.Register(mux)
	}
	return withRequestLog(log, recoverPanics(log, apiPathsStayJSON(mux)))
}

// apiPathsStayJSON answers an API path that is not in clean form (a double
// slash, a dot segment) with a JSON 404: ServeMux would otherwise redirect
// it with an HTML body, and API clients are promised JSON only.
func apiPathsStayJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(p, "/api/") && (strings.Contains(p, "//") || strings.Contains(p, "/./") || strings.Contains(p, "/../") ||
			strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..")) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message": "Not Found", "status_code": 404}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type ctxKey int

const requestIDKey ctxKey = 0

// RequestID returns the id of the request ctx belongs to.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// withRequestLog gives every request an id (X-Request-Id, echoed back) and
// logs it when it is done.
func withRequestLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
		log.Info("request", "id", id, "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "bytes", rec.bytes, "duration", time.Since(start).Round(time.Microsecond))
	})
}

// recoverPanics turns a panic into a logged error with the request id and a
// plain page for the user; the stack goes to the log only.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil || v == http.ErrAbortHandler {
				if v != nil {
					panic(v)
				}
				return
			}
			id := RequestID(r.Context())
			log.Error("panic serving request", "id", id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			InternalError(w, r)
		}()
		next.ServeHTTP(w, r)
	})
}

// InternalError answers an unexpected failure with a friendly page (or JSON
// for the API) naming the request id, never the error itself.
func InternalError(w http.ResponseWriter, r *http.Request) {
	id := RequestID(r.Context())
	if len(r.URL.Path) >= 8 && r.URL.Path[:8] == "/api/v1/" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"message": "Internal Server Error", "status_code": 500}`)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", plainPageCSP)
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Something went wrong · insta485</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">
<h1>Something went wrong</h1>
<p>We could not complete your request. Please try again in a moment.</p>
<p>If it keeps happening, tell the site's operator this reference: <code>%s</code></p>
<p><a href="/">Back to insta485</a></p></body></html>
`, id)
}

// Limits are the HTTP server's timeouts.
type Limits struct {
	// ReadTimeout bounds reading a whole request, body included: a client
	// trickling a body is cut off when it passes. Uploads must arrive
	// within it.
	ReadTimeout time.Duration
	// IdleTimeout bounds how long a kept-alive connection waits for its
	// next request.
	IdleTimeout time.Duration
}

// DefaultLimits are the timeouts when none are configured.
var DefaultLimits = Limits{ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}

// NewHTTPServer returns the http.Server that Run serves h with.
func NewHTTPServer(h http.Handler, log *slog.Logger, limits Limits) *http.Server {
	if limits.ReadTimeout <= 0 {
		limits.ReadTimeout = DefaultLimits.ReadTimeout
	}
	if limits.IdleTimeout <= 0 {
		limits.IdleTimeout = DefaultLimits.IdleTimeout
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(10*time.Second, limits.ReadTimeout),
		ReadTimeout:       limits.ReadTimeout,
		IdleTimeout:       limits.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Run serves h on addr until ctx is cancelled, then stops taking new
// connections and lets in-flight requests finish (up to 20 seconds).
func Run(ctx context.Context, addr string, h http.Handler, log *slog.Logger, limits Limits) error {
	srv := NewHTTPServer(h, log, limits)
	srv.Addr = addr
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	log.Info("insta485 listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
