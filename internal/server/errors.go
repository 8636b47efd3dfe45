package server

import (
	"errors"
	"net/http"
	"time"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/blob"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/storage"
)

// RetryAfter is the one wait every 503 asks clients for, whatever is
// down: the database, the upload store, or the password checks (all busy).
const RetryAfter = 5 * time.Second

// Answer is how pages and the API both answer an error of the layers below.
type Answer struct {
	Status int
	// Message says what happened and what to do, for people (pages); the
	// API sends its status text instead.
	Message string
	// Outage, when set, names what is down, for the log: the answer is 503
	// with RetryAfter and never a logout.
	Outage string
}

// errPictureStoreMessage is the answer when the upload store cannot be
// reached: nothing was stored and nothing changed, so trying again is safe.
const errPictureStoreMessage = "Pictures cannot be stored or shown right now: the picture store is not reachable. Nothing was changed. Please try again in a minute."

// Classify is the one mapping from storage, upload-store and password-check
// errors to an HTTP answer; ok is false for an error it does not know,
// which callers log and answer 500.
func Classify(err error) (a Answer, ok bool) {
	switch {
	case errors.Is(err, auth.ErrPasswordTooLong):
		return Answer{Status: http.StatusBadRequest, Message: "The password is too long: use at most 1,024 bytes."}, true
	case errors.Is(err, media.ErrBusy):
		return Answer{http.StatusServiceUnavailable, "Too many large pictures are being processed right now, so nothing was changed. Please try again in a moment.", "picture decode budget full"}, true
	case errors.Is(err, auth.ErrBusy):
		return Answer{http.StatusServiceUnavailable, "Too many logins are being checked right now. Please try again in a moment.", "too many password checks at once"}, true
	case storage.Unavailable(err):
		return Answer{http.StatusServiceUnavailable, "insta485 cannot reach its database right now. Please try again in a few seconds.", "database unavailable"}, true
	case errors.Is(err, blob.ErrUnavailable):
		return Answer{http.StatusServiceUnavailable, errPictureStoreMessage, "upload store unavailable"}, true
	case errors.Is(err, storage.ErrNotFound):
		return Answer{Status: http.StatusNotFound, Message: "There is no such page or item. It may have been deleted."}, true
	case errors.Is(err, storage.ErrForbidden):
		return Answer{Status: http.StatusForbidden, Message: "You may not change what another user made."}, true
	case errors.Is(err, storage.ErrConflict):
		return Answer{Status: http.StatusConflict, Message: "That conflicts with what is there already."}, true
	case errors.Is(err, storage.ErrInvalid):
		return Answer{Status: http.StatusBadRequest, Message: "The request is not valid."}, true
	}
	return Answer{}, false
}
