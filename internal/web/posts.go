package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/insta485/insta485/internal/storage"
)

// postView is one post as the feed and the post page show it.
type postView struct {
	storage.Post
	Logname string
	CSRF    string
	// Target is the page the post is shown on: its forms come back there.
	Target string
	// Detail is set on the post's own page, which adds delete buttons for
	// the logname's comments and post.
	Detail bool
}

// DeleteTarget is where deleting the post leads: the logname's page.
func (p postView) DeleteTarget() string { return userPath(p.Logname) }

type postPage struct {
	base
	Post postView
}

// postPage shows one post with its delete buttons.
func (h *Handler) postPage(r *http.Request) ([]storage.Load, showFunc) {
	id, err := strconv.ParseInt(r.PathValue("postid"), 10, 64)
	if err != nil || id <= 0 {
		return nil, func(w http.ResponseWriter, r *http.Request, v viewer) {
			h.fail(w, r, v, http.StatusNotFound, "There is no such post: a post's address ends in its number, like /posts/1/.")
		}
	}
	l := &storage.PostLoad{PostID: id}
	return []storage.Load{l}, func(w http.ResponseWriter, r *http.Request, v viewer) {
		if !l.Found {
			h.fail(w, r, v, http.StatusNotFound, "There is no such post. It may have been deleted.")
			return
		}
		p := l.Post
		h.render(w, r, http.StatusOK, "post.html", postPage{
			base: base{Title: "Post", Logname: v.Logname()},
			Post: postView{Post: p, Logname: v.Logname(), CSRF: h.csrfToken(v),
				Target: fmt.Sprintf("/posts/%d/", p.PostID), Detail: true},
		})
	}
}

// posts handles the upload and delete-post forms.
func (h *Handler) posts(w http.ResponseWriter, r *http.Request, v viewer) {
	var err error
	switch r.PostFormValue("operation") {
	case "create":
		err = h.createPost(r, v)
	case "delete":
		err = h.deletePost(r, v)
	default:
		err = unknownOperation(r)
	}
	if err != nil {
		h.failWith(w, r, v, err)
		return
	}
	redirectTarget(w, r, userPath(v.Logname()))
}

func (h *Handler) createPost(r *http.Request, v viewer) error {
	return h.savePicture(r, true, func(name string) ([]string, error) {
		_, err := h.Store.CreatePost(r.Context(), v.Logname(), name)
		return nil, err
	})
}

func (h *Handler) deletePost(r *http.Request, v viewer) error {
	id, err := idField(r, "postid")
	if err != nil {
		return err
	}
	err = h.pictures(r).Delete(r.Context(), func() ([]string, error) {
		return h.Store.DeletePost(r.Context(), id, v.Logname())
	})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return &formError{http.StatusNotFound, "There is no such post. It may have been deleted already."}
	case errors.Is(err, storage.ErrForbidden):
		return &formError{http.StatusForbidden, "You can only delete your own posts."}
	case err != nil:
		return err
	}
	return nil
}
