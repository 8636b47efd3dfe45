package web

import (
	"errors"
	"net/http"

	"github.com/insta485/insta485/internal/storage"
)

// comments handles the comment and delete-comment forms.
func (h *Handler) comments(w http.ResponseWriter, r *http.Request, v viewer) {
	var err error
	switch r.PostFormValue("operation") {
	case "create":
		err = h.createComment(r, v)
	case "delete":
		err = h.deleteComment(r, v)
	default:
		err = unknownOperation(r)
	}
	if err != nil {
		h.failWith(w, r, v, err)
		return
	}
	redirectTarget(w, r, "/")
}

func (h *Handler) createComment(r *http.Request, v viewer) error {
	id, err := idField(r, "postid")
	if err != nil {
		return err
	}
	text := field(r, "text")
	if err := checkText("comment", text, maxComment); err != nil {
		return err
	}
	_, err = h.Store.CreateComment(r.Context(), v.Logname(), id, text)
	if errors.Is(err, storage.ErrNotFound) {
		return errNoPost
	}
	return err
}

func (h *Handler) deleteComment(r *http.Request, v viewer) error {
	id, err := idField(r, "commentid")
	if err != nil {
		return err
	}
	err = h.Store.DeleteComment(r.Context(), id, v.Logname())
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return &formError{http.StatusNotFound, "There is no such comment. It may have been deleted already."}
	case errors.Is(err, storage.ErrForbidden):
		return &formError{http.StatusForbidden, "You can only delete your own comments."}
	}
	return err
}
