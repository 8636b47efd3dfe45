package web

import (
	"fmt"
	"html/template"
	"net/http"

	"github.com/insta485/insta485/internal/storage"
)

// feedPageSize is how many posts the feed page renders, the same as the
// API's default page so the live feed goes on where the server stopped.
const feedPageSize = 10

type feedPage struct {
	base
	// Posts are the posts' markup (postsMarkup).
	Posts []template.HTML
	// Next is the API URL of the feed's next page, empty when this page
	// holds the whole feed. The live feed script follows it.
	Next string
}

// feed shows the newest posts of the logname and everyone they follow.
func (h *Handler) feed(*http.Request) ([]storage.Load, showFunc) {
	l := &storage.FeedLoad{Page: storage.FeedPage{Size: feedPageSize}, WithPosts: true, WithPictures: true}
	return []storage.Load{l}, func(w http.ResponseWriter, r *http.Request, v viewer) {
		page := feedPage{
			base: base{Title: "Feed", Logname: v.Logname(), LiveFeed: true},
			// The first post fills a phone's first screen; the rest wait
			// until the reader scrolls near them.
			Posts: postsMarkup(postViews(l.Posts, l.Pictures, 1, v.Logname(), h.csrfToken(v), "/", false)),
		}
		if len(l.IDs) == feedPageSize {
			// Pin the next pages to the posts that existed when this one
			// was rendered, as the API's own next link does.
			page.Next = fmt.Sprintf("/api/v1/posts/?size=%d&page=1&postid_lte=%d", feedPageSize, l.IDs[0])
		}
		h.render(w, r, http.StatusOK, "feed.html", page)
	}
}
