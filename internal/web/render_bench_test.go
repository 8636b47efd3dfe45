package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/storage"
)

const benchUpload = "0123456789abcdef0123456789abcdef01234567.jpg"

func benchPosts(n int) []storage.Post {
	now := time.Now()
	var out []storage.Post
	for i := range n {
		p := storage.Post{PostID: int64(1000 - i), Filename: benchUpload, Owner: fmt.Sprintf("user%d", i%3),
			OwnerFilename: benchUpload, Created: now.Add(-time.Duration(i) * time.Hour), Likes: i, LognameLikeID: int64(i % 2)}
		for j := range 3 {
			p.Comments = append(p.Comments, storage.Comment{CommentID: int64(i*10 + j), PostID: p.PostID,
				Owner: fmt.Sprintf("user%d", j), Text: "a comment, with <b>markup</b> & such", Created: now})
		}
		out = append(out, p)
	}
	return out
}

// BenchmarkRenderFeed renders a feed page: ten posts of three comments.
//
//	go test -run '^$' -bench Render -benchmem ./internal/web/
func BenchmarkRenderFeed(b *testing.B) {
	h := &Handler{}
	posts := benchPosts(feedPageSize)
	b.ReportAllocs()
	for b.Loop() {
		page := feedPage{base: base{Title: "Feed", Logname: "user0", LiveFeed: true},
			Posts: postsMarkup(postViews(posts, nil, 1, "user0", "token-token-token", "/", false))}
		h.render(httptest.NewRecorder(), nil, http.StatusOK, "feed.html", page)
	}
}

// BenchmarkRenderUserPage renders the user page of a user with 10 posts
// (the small bench scale) and with 100 (the large scale), which shows its
// first userPagePosts.
func BenchmarkRenderUserPage(b *testing.B) {
	h := &Handler{}
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("%d posts", n), func(b *testing.B) {
			thumbs := make([]storage.PostThumb, n)
			for i := range thumbs {
				thumbs[i] = storage.PostThumb{PostID: int64(100_000 + i), Filename: benchUpload}
			}
			profile := storage.Profile{User: storage.User{Username: "user1", Fullname: "User One", Filename: benchUpload}, Posts: n}
			b.ReportAllocs()
			for b.Loop() {
				shown, _ := postsBefore(thumbs, 0, userPagePosts)
				h.render(httptest.NewRecorder(), nil, http.StatusOK, "user.html", userPage{
					base: base{Title: "Profile", Logname: "user0"}, Username: profile.Username, Fullname: profile.Fullname,
					Filename: profile.Filename, Avatar: imgSizes(profile.Filename, "96px"),
					PostCount: count(profile.Posts, "post", "posts"), Followers: "0 followers", Following: "0 following",
					Relation: personView{Relation: storage.Relation{Username: "user1", Filename: benchUpload}, CSRF: "token", FollowAction: "/following/?target=/users/user1/"},
					Posts:    thumbsMarkup(thumbViews(shown, nil)), CSRF: "token", UploadAction: "/posts/?target=/users/user1/",
				})
			}
		})
	}
}
