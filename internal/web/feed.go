package web

import (
	"fmt"
	"net/http"

	"github.com/insta485/insta485/internal/storage"
)

// feedPageSize is how many posts the feed page renders, the same as the
// API's default page so the live feed goes on where the server stopped.
const feedPageSize = 10

type feedPage struct {
	base
	Posts []postView
	// Next is the API URL of the feed's next page, empty when this page
	// holds the whole feed. The live feed script follows it.
	Next string
}

// feed shows the newest posts of the logname and everyone they follow.
func (h *Handler) feed(w http.ResponseWriter, r *http.Request, v viewer) {
	ctx := r.Context()
	ids, err := h.Store.Feed(ctx, v.Logname(), storage.FeedPage{Size: feedPageSize})
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	posts, err := h.Store.Posts(ctx, ids, v.Logname())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	names := make([]string, len(posts))
	for i, p := range posts {
		names[i] = p.Filename
	}
	pics, err := h.pictureRows(ctx, names...)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	page := feedPage{
		base: base{Title: "Feed", Logname: v.Logname(), LiveFeed: true},
		// The first post fills a phone's first screen; the rest wait
		// until the reader scrolls near them.
		Posts: postViews(posts, pics, 1, v.Logname(), h.csrfToken(v), "/", false),
	}
	if len(ids) == feedPageSize {
		// Pin the next pages to the posts that existed when this one was
		// rendered, as the API's own next link does.
		page.Next = fmt.Sprintf("/api/v1/posts/?size=%d&page=1&postid_lte=%d", feedPageSize, ids[0])
	}
	h.render(w, r, http.StatusOK, "feed.html", page)
}
