package web

import (
	"errors"
	"net/http"

	"github.com/insta485/insta485/internal/storage"
)

// following handles the follow and unfollow forms.
func (h *Handler) following(w http.ResponseWriter, r *http.Request, v viewer) {
	if err := h.follow(r, v); err != nil {
		h.failWith(w, r, v, err)
		return
	}
	redirectTarget(w, r, "/")
}

func (h *Handler) follow(r *http.Request, v viewer) error {
	op := r.PostFormValue("operation")
	if op != "follow" && op != "unfollow" {
		return unknownOperation(r)
	}
	name := field(r, "username")
	if name == "" {
		return badRequest("The form is missing the username to " + op + ".")
	}
	if !possibleUsername(name) {
		return errNoUser
	}
	ctx := r.Context()
	if op == "follow" {
		err := h.Store.Follow(ctx, v.Logname(), name)
		switch {
		case errors.Is(err, storage.ErrConflict):
			return &formError{http.StatusConflict, "You already follow " + name + "."}
		case errors.Is(err, storage.ErrNotFound):
			return errNoUser
		case errors.Is(err, storage.ErrInvalid):
			return badRequest("You cannot follow yourself.")
		}
		return err
	}
	err := h.Store.Unfollow(ctx, v.Logname(), name)
	if !errors.Is(err, storage.ErrConflict) {
		return err
	}
	// Nothing to undo: say whether the user is missing or just not followed.
	if _, err := h.Store.User(ctx, name); errors.Is(err, storage.ErrNotFound) {
		return errNoUser
	} else if err != nil {
		return err
	}
	return &formError{http.StatusConflict, "You do not follow " + name + ", so there is nothing to unfollow."}
}
