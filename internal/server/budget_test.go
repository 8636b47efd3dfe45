package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/server"
)

// TestWaitBudget: a request's context ends with DeadlineExceeded once the
// budget is spent, but the time its client takes to send the body does not
// count (a slow upload must not find its budget gone), and Unbounded gives
// a context that outlives the budget, for streaming the answer.
func TestWaitBudget(t *testing.T) {
	const budget = 200 * time.Millisecond
	type result struct {
		errAfterBody, errAtEnd, unboundedErr error
		body                                 string
	}
	results := make(chan result, 1)
	h := server.WithWaitBudget(budget, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var res result
		b, _ := io.ReadAll(r.Body)
		res.body = string(b)
		res.errAfterBody = r.Context().Err()
		<-r.Context().Done()
		res.errAtEnd = r.Context().Err()
		res.unboundedErr = server.Unbounded(r.Context()).Err()
		results <- res
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	// The body comes in three parts, each after more than the whole budget.
	pr, pw := io.Pipe()
	go func() {
		for _, part := range []string{"one ", "two ", "three"} {
			time.Sleep(2 * budget)
			_, _ = pw.Write([]byte(part))
		}
		pw.Close()
	}()
	res, err := http.Post(srv.URL, "text/plain", pr)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	got := <-results
	if got.body != "one two three" {
		t.Errorf("body = %q", got.body)
	}
	if got.errAfterBody != nil {
		t.Errorf("after a body slower than the budget, the context is already %v: reading the body must not count", got.errAfterBody)
	}
	if !errors.Is(got.errAtEnd, context.DeadlineExceeded) {
		t.Errorf("the spent budget ends the context with %v, want context.DeadlineExceeded", got.errAtEnd)
	}
	if got.unboundedErr != nil {
		t.Errorf("Unbounded(ctx) = %v once the budget is spent, want a live context", got.unboundedErr)
	}
}

// TestWaitBudgetEndsWithTheClient: a client that goes away cancels the
// request's context as before.
func TestWaitBudgetEndsWithTheClient(t *testing.T) {
	ended := make(chan error, 1)
	h := server.WithWaitBudget(time.Hour, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		ended <- r.Context().Err()
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	res.Body.Close()
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Errorf("a client gone ends the context with %v, want context.Canceled", err)
	}
}
