package api

import "net/http"

type likeJSON struct {
	LikeID int64  `json:"likeid"`
	URL    string `json:"url"`
}

// createLike makes logname like ?postid=N: 201 with the new like, or 200
// with the like logname already had.
func (h *Handler) createLike(w http.ResponseWriter, r *http.Request, logname string) error {
	postid, err := requiredPostID(r)
	if err != nil {
		return err
	}
	like, created, err := h.Store.Like(r.Context(), logname, postid)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, likeJSON{like.LikeID, likeURL(like.LikeID)})
	return nil
}

// deleteLike removes one of logname's likes.
func (h *Handler) deleteLike(w http.ResponseWriter, r *http.Request, logname string) error {
	id, err := pathID(r, "likeid")
	if err != nil {
		return err
	}
	if err := h.Store.DeleteLike(r.Context(), id, logname); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}
