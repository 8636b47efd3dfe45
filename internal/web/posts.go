package web

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/insta485/insta485/internal/storage"
)

// postView is one post as the feed and the post page show it, with every
// text, address and attribute worked out before rendering: the template
// only places and escapes strings. Template function calls and fields
// reached through embedded structs go through reflection on every use,
// and a feed page holds hundreds of them.
type postView struct {
	ID            string
	Owner         string
	OwnerFilename string
	OwnerSrcset   string
	Filename      string
	Srcset        string
	Created       string // RFC 3339, for the time element
	Ago           string // "3 hours ago"
	Liked         bool   // the logname likes it: an unlike form, else a like form
	Likes         string // "2 likes"
	Comments      []commentView
	// The forms' actions come back to the page the post is shown on.
	LikeAction, CommentAction string
	// DeleteAction is the delete-post form's action, set on the post's own
	// page when the logname owns the post.
	DeleteAction string
	CSRF         string
	// Width and Height are the picture's size ("" when unknown),
	// Placeholder the classes that paint its colour until it loads; Lazy
	// defers its loading (and the avatar's) below the first screen.
	Width, Height, Placeholder string
	Lazy                       bool
}

// commentView is one comment under a post.
type commentView struct {
	ID, Owner, Text string
	// Deletable is set on the post's own page for the logname's comments.
	Deletable bool
}

// postViews turns posts into what the page shows them as, for logname
// on page (the path the forms come back to). detail is set on the post's
// own page, which adds delete buttons for the logname's comments and post.
// pics holds the pictures' sizes and colours; the first eager posts load
// their pictures at once, the rest lazily.
func postViews(posts []storage.Post, pics map[string]storage.Picture, eager int, logname, csrf, page string, detail bool) []postView {
	now := time.Now()
	likeAction, commentAction := withTarget("/likes/", page), withTarget("/comments/", page)
	// One slice holds every comment of the page: one allocation, not one
	// per post.
	n := 0
	for _, p := range posts {
		n += len(p.Comments)
	}
	comments := make([]commentView, 0, n)
	out := make([]postView, len(posts))
	for i, p := range posts {
		start := len(comments)
		for _, c := range p.Comments {
			comments = append(comments, commentView{ID: strconv.FormatInt(c.CommentID, 10), Owner: c.Owner,
				Text: c.Text, Deletable: detail && c.Owner == logname})
		}
		v := &out[i]
		*v = postView{
			ID: strconv.FormatInt(p.PostID, 10), Owner: p.Owner,
			OwnerFilename: p.OwnerFilename, OwnerSrcset: cachedSrcset(p.OwnerFilename),
			Filename: p.Filename, Srcset: cachedSrcset(p.Filename),
			Created: p.Created.UTC().Format(time.RFC3339), Ago: timeAgo(p.Created, now),
			Liked: p.LognameLikeID != 0, Likes: count(p.Likes, "like", "likes"),
			Comments:   comments[start:len(comments):len(comments)],
			LikeAction: likeAction, CommentAction: commentAction, CSRF: csrf,
		}
		if pic, ok := pics[p.Filename]; ok && pic.Width > 0 {
			v.Width, v.Height = strconv.Itoa(pic.Width), strconv.Itoa(pic.Height)
			v.Placeholder = placeholderClasses(pic)
		}
		v.Lazy = i >= eager
		if detail && p.Owner == logname {
			v.DeleteAction = withTarget("/posts/", userPath(logname))
		}
	}
	return out
}

type postPage struct {
	base
	Post template.HTML // postsMarkup
}

// postPage shows one post with its delete buttons.
func (h *Handler) postPage(r *http.Request) ([]storage.Load, showFunc) {
	id, err := strconv.ParseInt(r.PathValue("postid"), 10, 64)
	if err != nil || id <= 0 {
		return nil, func(w http.ResponseWriter, r *http.Request, v viewer) {
			h.fail(w, r, v, http.StatusNotFound, "There is no such post: a post's address ends in its number, like /posts/1/.")
		}
	}
	l := &storage.PostLoad{PostID: id, WithPictures: true}
	return []storage.Load{l}, func(w http.ResponseWriter, r *http.Request, v viewer) {
		if !l.Found {
			h.fail(w, r, v, http.StatusNotFound, "There is no such post. It may have been deleted.")
			return
		}
		p := l.Post
		h.render(w, r, http.StatusOK, "post.html", postPage{
			base: base{Title: "Post", Logname: v.Logname()},
			Post: postsMarkup(postViews([]storage.Post{p}, l.Pictures, 1, v.Logname(), h.csrfToken(v), "/posts/"+strconv.FormatInt(p.PostID, 10)+"/", true))[0],
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
