package server

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

// DefaultWaitBudget is how long a request may wait for the database and
// the upload store when the settings do not say.
const DefaultWaitBudget = 5 * time.Second

// WithWaitBudget bounds how long each request may wait for what it depends
// on: its context's deadline is d after it arrives, not counting the time
// the client takes to send its body (a slow upload is the read timeout's
// business). Past it every wait ends: for a pool connection, for
// connecting, for a statement, for the upload store; the handler gets
// context.DeadlineExceeded, which it answers with 503 and Retry-After. So
// a database that hangs (frozen, or cut off without a word) costs each
// request at most d, and requests do not queue behind it without limit.
// d <= 0 turns the bound off.
func WithWaitBudget(d time.Duration, next http.Handler) http.Handler {
	if d <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := newBudget(r.Context(), d)
		defer ctx.end(context.Canceled)
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &budgetBody{ReadCloser: r.Body, b: ctx}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Unbounded returns ctx without the wait budget but still cancelled when
// the client goes away: for streaming a response, which may rightly take
// longer than any wait.
func Unbounded(ctx context.Context) context.Context {
	if b, ok := ctx.Value(budgetKey{}).(*budget); ok {
		return b.Context
	}
	return ctx
}

type budgetKey struct{}

// budget is a context whose deadline moves later by the time spent
// reading the request body. The standard library's deadlines cannot be
// paused; this one is a timer that is.
type budget struct {
	context.Context // the request's own, for values and cancellation

	mu       sync.Mutex
	deadline time.Time
	timer    *time.Timer
	paused   time.Time // when the current pause began; zero when running
	done     chan struct{}
	err      error
	stop     func() bool // stops following the parent
}

func newBudget(parent context.Context, d time.Duration) *budget {
	b := &budget{Context: parent, deadline: time.Now().Add(d), done: make(chan struct{})}
	b.timer = time.AfterFunc(d, func() { b.expire() })
	b.stop = context.AfterFunc(parent, func() { b.end(parent.Err()) })
	return b
}

func (b *budget) Deadline() (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.deadline, true
}

func (b *budget) Done() <-chan struct{} { return b.done }

func (b *budget) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *budget) Value(key any) any {
	if key == (budgetKey{}) {
		return b
	}
	return b.Context.Value(key)
}

// expire ends the budget unless a pause moved the deadline meanwhile.
func (b *budget) expire() {
	b.mu.Lock()
	if !b.paused.IsZero() || time.Now().Before(b.deadline) {
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	b.end(context.DeadlineExceeded)
}

func (b *budget) end(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return
	}
	b.err = err
	close(b.done)
	b.timer.Stop()
	b.stop()
}

func (b *budget) pause() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil && b.paused.IsZero() {
		b.paused = time.Now()
		b.timer.Stop()
	}
}

func (b *budget) resume() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil || b.paused.IsZero() {
		return
	}
	b.deadline = b.deadline.Add(time.Since(b.paused))
	b.paused = time.Time{}
	b.timer.Reset(time.Until(b.deadline))
}

// budgetBody stops the budget's clock while the handler waits for the
// client's body.
type budgetBody struct {
	io.ReadCloser
	b *budget
}

func (r *budgetBody) Read(p []byte) (int, error) {
	r.b.pause()
	defer r.b.resume()
	return r.ReadCloser.Read(p)
}
