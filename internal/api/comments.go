package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/insta485/insta485/internal/storage"
)

const (
	// maxCommentRunes is the length of comments.text (SPEC §1).
	maxCommentRunes = 1024
	// maxCommentBody bounds the request body: room for the longest comment
	// with every character escaped as a UTF-16 surrogate pair.
	maxCommentBody = 64 << 10
)

type commentJSON struct {
	CommentID       int64  `json:"commentid"`
	LognameOwnsThis bool   `json:"lognameOwnsThis"`
	Owner           string `json:"owner"`
	OwnerShowURL    string `json:"ownerShowUrl"`
	Text            string `json:"text"`
	URL             string `json:"url"`
}

func newCommentJSON(c storage.Comment, logname string) commentJSON {
	return commentJSON{
		CommentID:       c.CommentID,
		LognameOwnsThis: c.Owner == logname,
		Owner:           c.Owner,
		OwnerShowURL:    userShowURL(c.Owner),
		Text:            c.Text,
		URL:             commentURL(c.CommentID),
	}
}

// createComment adds logname's comment {"text": "..."} to ?postid=N.
func (h *Handler) createComment(w http.ResponseWriter, r *http.Request, logname string) error {
	postid, err := requiredPostID(r)
	if err != nil {
		return err
	}
	text, err := readCommentText(w, r)
	if err != nil {
		return err
	}
	c, err := h.Store.CreateComment(r.Context(), logname, postid, text)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, newCommentJSON(c, logname))
	return nil
}

// readCommentText reads and checks the body of a new comment. Text that
// the database would refuse (too long, or holding NUL, which PostgreSQL
// cannot store) is a bad request here rather than a failure there.
func readCommentText(w http.ResponseWriter, r *http.Request) (string, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCommentBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return "", errTooLarge
	}
	if err != nil {
		return "", errBadRequest
	}
	var in struct {
		Text *string `json:"text"`
	}
	// Unmarshal, unlike a Decoder, also refuses anything after the object.
	// It turns invalid UTF-8 into U+FFFD, so the text is always valid UTF-8.
	if err := json.Unmarshal(body, &in); err != nil || in.Text == nil {
		return "", errBadRequest
	}
	text := *in.Text
	if strings.TrimSpace(text) == "" || utf8.RuneCountInString(text) > maxCommentRunes || strings.ContainsRune(text, 0) {
		return "", errBadRequest
	}
	return text, nil
}

// deleteComment removes one of logname's comments.
func (h *Handler) deleteComment(w http.ResponseWriter, r *http.Request, logname string) error {
	id, err := pathID(r, "commentid")
	if err != nil {
		return err
	}
	if err := h.Store.DeleteComment(r.Context(), id, logname); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}
