package auth

import (
	"crypto/hmac"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/insta485/insta485/internal/storage"
)

// ReadYourWrites is the one middleware of the read-your-writes contract
// (the contract: storage/readyourwrites.go). It wraps the application so
// that, with read replicas, no client ever reads a state older than its
// own last write, on whichever app instance its requests land:
//
//   - A request's reads must see the WAL position in its signed written
//     cookie, which any response after a write sets to the primary's
//     position after that write's commit (storage records it as the write
//     commits; within the request, later reads see it at once).
//   - An HTTP Basic request without that cookie (an API client that keeps
//     no cookies) cannot say what it wrote, so its reads must see the
//     primary's position as of the request's start: one cheap statement on
//     the primary (no table read), and its reads go to a replica only when
//     one has caught up with that. The response sets the cookie anyway, so
//     a client that keeps it needs no such statement next time.
//
// Without replicas it does nothing.
func (a *Authenticator) ReadYourWrites(log *slog.Logger, next http.Handler) http.Handler {
	if !a.Store.HasReplicas() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var min storage.LSN
		var issue bool // set the cookie even without a write
		if c, err := r.Cookie(WrittenCookieName); err == nil {
			if lsn, err := a.Sessions.ParseWritten(c.Value); err == nil {
				min = lsn
			}
		}
		if min == 0 && strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "basic ") {
			lsn, err := a.Store.PrimaryLSN(r.Context())
			if err != nil {
				log.Warn("could not read the primary's WAL position: this request reads from the primary", "err", err)
				lsn = storage.MaxLSN
			} else {
				issue = true
			}
			min = lsn
		}
		ctx := storage.WithMinLSN(r.Context(), min)
		r = r.WithContext(ctx)
		ww := &writtenWriter{ResponseWriter: w, r: r, sessions: a.Sessions, issue: issue, min: min}
		next.ServeHTTP(ww, r)
		if !ww.done {
			// A handler that wrote nothing gets the 200 net/http would
			// send, with the cookie.
			ww.WriteHeader(http.StatusOK)
		}
	})
}

// writtenWriter sets the written cookie just before the response's header
// goes out: by then the handler's writes have committed.
type writtenWriter struct {
	http.ResponseWriter
	r        *http.Request
	sessions *Sessions
	issue    bool
	min      storage.LSN
	done     bool
}

func (w *writtenWriter) WriteHeader(code int) {
	if !w.done {
		w.done = true
		lsn, wrote := storage.WrittenLSN(w.r.Context())
		if !wrote && w.issue {
			lsn, wrote = w.min, true
		}
		// A position that could not be read after a write is MaxLSN: the
		// client then reads from the primary until the cookie expires,
		// which is rare and costs load, never correctness.
		if wrote {
			http.SetCookie(w.ResponseWriter, w.sessions.WrittenCookie(w.r, w.sessions.IssueWritten(lsn)))
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writtenWriter) Write(b []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *writtenWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

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
