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
	"sync"
	"time"

	"github.com/insta485/insta485/internal/storage"
)

// Registrar adds its routes to a mux: the site and the API each are one.
type Registrar interface {
	Register(mux *http.ServeMux)
}

// Observer watches every request, for metrics. RequestStarted is called
// when a request arrives and RequestDone when its response is written, with
// the route pattern that served it ("GET /api/v1/posts/{postid}/"; empty
// when no route matched), the status and how long it took.
type Observer interface {
	RequestStarted()
	RequestDone(method, pattern string, status int, elapsed time.Duration)
}

// New returns the whole application as one handler; obs, when not nil, is
// told about every request.
func New(store *storage.Store, log *slog.Logger, obs Observer, parts ...Registrar) http.Handler {
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
	return withRequestLog(log, obs, recoverPanics(log, apiPathsStayJSON(mux)))
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

// withRequestLog gives every request an id (X-Request-Id, echoed back; a
// well-formed one set by the load balancer is kept, so its logs and ours
// name a request alike) and logs it when it is done, with the route
// pattern that served it. obs, when not nil, sees the same.
func withRequestLog(log *slog.Logger, obs Observer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if obs != nil {
			obs.RequestStarted()
		}
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w}
		// The mux sets Pattern on the request it routes: this one, since
		// the handlers in between pass it on as it is.
		inner := r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
		defer func() {
			// Also when a handler aborts with http.ErrAbortHandler: the
			// request is then logged before the panic goes on.
			status := rec.status
			if status == 0 {
				status = http.StatusOK // a handler that wrote nothing
			}
			elapsed := time.Since(start)
			if obs != nil {
				obs.RequestDone(r.Method, inner.Pattern, status, elapsed)
			}
			log.Info("request", "id", id, "method", r.Method, "path", r.URL.Path, "route", inner.Pattern,
				"status", status, "bytes", rec.bytes,
				"duration", elapsed.Round(time.Microsecond).String(),
				"duration_ms", float64(elapsed.Microseconds())/1000)
		}()
		next.ServeHTTP(rec, inner)
	})
}

// validRequestID accepts the ids proxies generate (nginx's $request_id is
// 32 hex digits; others use UUIDs): short, and nothing a log line could
// be forged with.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
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
// connections (serving those the kernel already took, see closeDrained)
// and lets in-flight requests finish (up to 20 seconds).
func Run(ctx context.Context, addr string, h http.Handler, log *slog.Logger, limits Limits) error {
	return run(ctx, "insta485", addr, NewHTTPServer(h, log, limits), log)
}

// RunMetrics serves the metrics handler h on its own listener at addr, so
// that it can be kept off the public network, until ctx is cancelled.
func RunMetrics(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	return run(ctx, "metrics", addr, NewHTTPServer(h, log, DefaultLimits), log)
}

func run(ctx context.Context, name, addr string, srv *http.Server, log *slog.Logger) error {
	srv.Addr = addr
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w", name, addr, err)
	}
	return serve(ctx, name, srv, ln, log)
}

// serve runs srv on ln until ctx is cancelled, then stops gracefully:
// it stops taking connections, serves every request already sent to it,
// and returns when all are answered (or after 20 seconds).
//
// It does not use http.Server.Shutdown, which drops a connection whose
// request had not been read when shutdown began (net/http closes it
// unanswered); behind a load balancer that connection carries a request
// the balancer may not retry, such as a POST.
func serve(ctx context.Context, name string, srv *http.Server, ln net.Listener, log *slog.Logger) error {
	conns := &connTracker{states: map[net.Conn]http.ConnState{}}
	srv.ConnState = conns.track
	// closeDrained closes the listener itself; Serve's own close must then
	// not fail.
	once := &onceCloseListener{Listener: ln}
	log.Info(name+" listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(once) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info(name + " shutting down: finishing in-flight requests")
	// Every response from now on closes its connection.
	srv.SetKeepAlivesEnabled(false)
	closeDrained(ln, once.Close, 2*time.Second)
	if err := <-errc; err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	deadline := time.Now().Add(20 * time.Second)
	for !conns.quiet() {
		if time.Now().After(deadline) {
			log.Warn(name + " stopping with requests still in flight after 20 s")
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := srv.Close(); err != nil {
		return err
	}
	log.Info(name + " stopped")
	return nil
}

// connTracker knows the state of every open connection of a server.
type connTracker struct {
	mu     sync.Mutex
	states map[net.Conn]http.ConnState
}

func (t *connTracker) track(c net.Conn, st http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch st {
	case http.StateClosed, http.StateHijacked:
		delete(t.states, c)
	default:
		t.states[c] = st
	}
}

// quiet closes idle keep-alive connections (they carry no request) and
// reports whether no connection is left: none reading or serving a request.
func (t *connTracker) quiet() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c, st := range t.states {
		if st == http.StateIdle {
			c.Close()
			delete(t.states, c)
		}
	}
	return len(t.states) == 0
}

// onceCloseListener closes its listener once; later calls succeed.
type onceCloseListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *onceCloseListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}
