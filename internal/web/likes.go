package web

import (
	"errors"
	"net/http"

	"github.com/insta485/insta485/internal/storage"
)

// likes handles the like and unlike forms.
func (h *Handler) likes(w http.ResponseWriter, r *http.Request, v viewer) {
	if err := h.like(r, v); err != nil {
		h.failWith(w, r, v, err)
		return
	}
	redirectTarget(w, r, "/")
}

var errNoPost = &formError{http.StatusNotFound, "There is no such post. It may have been deleted."}

func (h *Handler) like(r *http.Request, v viewer) error {
	op := r.PostFormValue("operation")
	if op != "like" && op != "unlike" {
		return unknownOperation(r)
	}
	id, err := idField(r, "postid")
	if err != nil {
		return err
	}
	ctx := r.Context()
	if op == "like" {
		_, created, err := h.Store.Like(ctx, v.Logname(), id)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return errNoPost
		case err != nil:
			return err
		case !created:
			return &formError{http.StatusConflict, "You already like this post."}
		}
		return nil
	}
	err = h.Store.Unlike(ctx, v.Logname(), id)
	if !errors.Is(err, storage.ErrConflict) {
		return err
	}
	// Nothing to unlike: say whether the post is gone or just not liked.
	exists, err := h.Store.PostExists(ctx, id)
	switch {
	case err != nil:
		return err
	case !exists:
		return errNoPost
	}
	return &formError{http.StatusConflict, "You do not like this post, so there is nothing to unlike."}
}
