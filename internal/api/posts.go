package api

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/insta485/insta485/internal/storage"
)

// defaultPageSize is the feed page size when the client names none.
const defaultPageSize = 10

// MaxPageSize is the largest feed page a client may ask for; a larger
// size is a bad request (400), like the spec's other bad parameters, so
// one call cannot make the server read and send a whole feed.
const MaxPageSize = 100

type feedItem struct {
	PostID int64  `json:"postid"`
	URL    string `json:"url"`
}

type feedPage struct {
	Next    string     `json:"next"`
	Results []feedItem `json:"results"`
	URL     string     `json:"url"`
}

// listPosts serves one page of logname's feed.
//
// Pages are counted among the posts with ids up to postid_lte, so posts
// created while a client walks the pages never shift the later ones: next
// always carries the bound the first page was read with. The ids come from
// one range of the feed table's index, read in the statement that checks
// the caller; the results hold ids only, so there is no per-post query.
func (h *Handler) listPosts(r *http.Request) ([]storage.Load, apiFunc) {
	p, err := parsePageQuery(r.URL.Query())
	// No post has an id of 0 or less; storage reads a bound of 0 as "no
	// bound", so postid_lte=0 must not reach it: it reads nothing.
	if err != nil || (p.lteSent && p.lte == 0) {
		return nil, func(w http.ResponseWriter, r *http.Request, _ string) error {
			if err != nil {
				return err
			}
			writeFeedPage(w, r, p, nil)
			return nil
		}
	}
	// A later page asked for without a bound is read against the newest
	// post on the feed, the bound its first page had (or would have had),
	// so that next continues exactly where this page ends. Read in the
	// same statement, no bound and that bound select the same posts.
	l := &storage.FeedLoad{Page: storage.FeedPage{Size: int(p.size), Page: int(p.page), PostIDLTE: p.lte},
		WithNewest: !p.lteSent && p.page > 0}
	return []storage.Load{l}, func(w http.ResponseWriter, r *http.Request, _ string) error {
		if l.WithNewest {
			p.lte = l.Newest
		}
		writeFeedPage(w, r, p, l.IDs)
		return nil
	}
}

// writeFeedPage answers with the page p of ids.
func writeFeedPage(w http.ResponseWriter, r *http.Request, p pageQuery, ids []int64) {
	resp := feedPage{Results: make([]feedItem, 0, len(ids)), URL: requestURL(r)}
	for _, id := range ids {
		resp.Results = append(resp.Results, feedItem{id, postURL(id)})
	}
	// A full page always links to the next, even when nothing follows: the
	// client learns the feed ended from an empty page (SPEC §5).
	if int64(len(ids)) == p.size {
		lte := p.lte
		if lte == 0 {
			lte = ids[0] // a first page: results are newest first
		}
		resp.Next = fmt.Sprintf("/api/v1/posts/?size=%d&page=%d&postid_lte=%d", p.size, p.page+1, lte)
	}
	writeJSON(w, http.StatusOK, resp)
}

// pageQuery is a feed page request's parameters, checked.
type pageQuery struct {
	size, page, lte int64
	lteSent         bool
}

// parsePageQuery reads ?size=&page=&postid_lte=. A parameter that is not a
// whole number, a size below 1 or above MaxPageSize, or a negative page or
// bound is errBadRequest.
func parsePageQuery(q url.Values) (pageQuery, error) {
	size, sizeSent, err := queryInt(q, "size")
	if err != nil || (sizeSent && (size < 1 || size > MaxPageSize)) {
		return pageQuery{}, errBadRequest
	}
	if !sizeSent {
		size = defaultPageSize
	}
	page, _, err := queryInt(q, "page")
	if err != nil || page < 0 || (page > 0 && size > math.MaxInt64/page) {
		// The last test keeps page*size, the rows to skip, from overflowing.
		return pageQuery{}, errBadRequest
	}
	lte, lteSent, err := queryInt(q, "postid_lte")
	if err != nil || lte < 0 {
		return pageQuery{}, errBadRequest
	}
	return pageQuery{size: size, page: page, lte: lte, lteSent: lteSent}, nil
}

// requestURL is the path and query string exactly as the client sent them,
// without a "?" when there is no query.
func requestURL(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return r.URL.EscapedPath()
	}
	return r.URL.EscapedPath() + "?" + r.URL.RawQuery
}

type likesJSON struct {
	LognameLikesThis bool    `json:"lognameLikesThis"`
	NumLikes         int     `json:"numLikes"`
	URL              *string `json:"url"` // null when logname does not like the post
}

type postJSON struct {
	Comments     []commentJSON `json:"comments"`
	CommentsURL  string        `json:"comments_url"`
	Created      string        `json:"created"`
	ImgURL       string        `json:"imgUrl"`
	Likes        likesJSON     `json:"likes"`
	Owner        string        `json:"owner"`
	OwnerImgURL  string        `json:"ownerImgUrl"`
	OwnerShowURL string        `json:"ownerShowUrl"`
	PostShowURL  string        `json:"postShowUrl"`
	PostID       int64         `json:"postid"`
	URL          string        `json:"url"`
}

// getPost serves one post as logname sees it: the post, its like count,
// logname's like and all its comments, read in the statement that checks
// the caller.
func (h *Handler) getPost(r *http.Request) ([]storage.Load, apiFunc) {
	id, err := pathID(r, "postid")
	if err != nil {
		return nil, func(http.ResponseWriter, *http.Request, string) error { return err }
	}
	l := &storage.PostLoad{PostID: id}
	return []storage.Load{l}, func(w http.ResponseWriter, r *http.Request, logname string) error {
		if !l.Found {
			return storage.ErrNotFound
		}
		writePost(w, l.Post, logname)
		return nil
	}
}

// writePost answers with p as logname sees it.
func writePost(w http.ResponseWriter, p storage.Post, logname string) {
	resp := postJSON{
		Comments:     make([]commentJSON, 0, len(p.Comments)),
		CommentsURL:  fmt.Sprintf("/api/v1/comments/?postid=%d", p.PostID),
		Created:      p.Created.UTC().Format(time.DateTime),
		ImgURL:       uploadURL(p.Filename),
		Likes:        likesJSON{LognameLikesThis: p.LognameLikeID != 0, NumLikes: p.Likes},
		Owner:        p.Owner,
		OwnerImgURL:  uploadURL(p.OwnerFilename),
		OwnerShowURL: userShowURL(p.Owner),
		PostShowURL:  fmt.Sprintf("/posts/%d/", p.PostID),
		PostID:       p.PostID,
		URL:          postURL(p.PostID),
	}
	if p.LognameLikeID != 0 {
		u := likeURL(p.LognameLikeID)
		resp.Likes.URL = &u
	}
	for _, c := range p.Comments {
		resp.Comments = append(resp.Comments, newCommentJSON(c, logname))
	}
	writeJSON(w, http.StatusOK, resp)
}
