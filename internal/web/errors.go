package web

import (
	"errors"
	"net/http"

	"github.com/insta485/insta485/internal/blob"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/server"
)

// This file maps the site's errors to answers: mistakes in what the user
// sent (formError, with the status and message to show) and a store that
// is down (503), anything else being an internal error.

// formError is answered with status and msg, which says what to do: a
// mistake in what the user sent, or a store that is down.
type formError struct {
	status int
	msg    string
}

func (e *formError) Error() string { return e.msg }

func badRequest(msg string) error { return &formError{http.StatusBadRequest, msg} }

// failWith answers err: a formError with its status and message, anything
// else as an internal error.
func (h *Handler) failWith(w http.ResponseWriter, r *http.Request, v viewer, err error) {
	var fe *formError
	if errors.As(err, &fe) {
		h.fail(w, r, v, fe.status, fe.msg)
		return
	}
	h.serverError(w, r, err)
}

// storeError turns an upload store that is down into a formError with
// server.Classify's status and message, logged for the operator with the
// request id; other errors stay as they are.
func (h *Handler) storeError(r *http.Request, err error) error {
	if !errors.Is(err, blob.ErrUnavailable) && !errors.Is(err, media.ErrBusy) {
		return err
	}
	a, _ := server.Classify(err)
	h.log().Warn(a.Outage, "id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
	return &formError{a.Status, a.Message}
}

// setRetryAfter tells clients of a 503 when to try again.
func setRetryAfter(w http.ResponseWriter, status int) {
	if status == http.StatusServiceUnavailable {
		server.SetRetryAfter(w)
	}
}
