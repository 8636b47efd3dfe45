package web

import (
	"html/template"
	"net/http"
	"strconv"

	"github.com/insta485/insta485/internal/storage"
)

// personView is a user in a list, with what the logname can do about them.
type personView struct {
	storage.Relation
	// Self is set for the logname, who gets no follow button.
	Self bool
	CSRF string
	// FollowAction is the follow and unfollow forms' action, which comes
	// back to the page.
	FollowAction string
}

// userPage is what the user page shows, every text worked out before
// rendering as postView's are.
type userPage struct {
	base
	Username, Fullname, Filename string
	Avatar                       imgSrcset
	// PostCount, Followers and Following are the counts as shown: "1
	// post", "2 followers", "3 following".
	PostCount, Followers, Following string
	Self                            bool
	// Relation drives the follow or unfollow form on someone else's page.
	Relation personView
	Posts    []template.HTML // thumbsMarkup
	// NoPosts is said in place of an empty grid.
	NoPosts string
	// More links the next posts, empty when the grid shows the last one.
	More string
	CSRF string
	// UploadAction is the upload form's action.
	UploadAction string
}

// userPagePosts is how many posts a user page shows at once: a first
// screen of the grid, as Instagram's own profile pages load. The older
// ones are a "More posts" link away (?before=<postid>), so a page costs
// the same however many posts its user has.
const userPagePosts = 12

// thumbView is one picture of a user page's grid, as postView.
type thumbView struct {
	ID, Filename, Srcset       string
	Width, Height, Placeholder string
	Lazy                       bool
}

// thumbViews works out the grid's text before rendering, as postViews
// does.
func thumbViews(posts []storage.PostThumb, pics map[string]storage.Picture) []thumbView {
	out := make([]thumbView, len(posts))
	for i, p := range posts {
		out[i] = thumbView{ID: strconv.FormatInt(p.PostID, 10), Filename: p.Filename,
			Srcset: cachedSrcset(p.Filename), Lazy: i >= eagerThumbs}
		if pic, ok := pics[p.Filename]; ok && pic.Width > 0 {
			out[i].Width, out[i].Height = strconv.Itoa(pic.Width), strconv.Itoa(pic.Height)
			out[i].Placeholder = placeholderClasses(pic)
		}
	}
	return out
}

var errNoUser = &formError{http.StatusNotFound, "There is no user by that name."}

// userPage shows a user's profile, counts and posts.
func (h *Handler) userPage(r *http.Request) ([]storage.Load, showFunc) {
	name := r.PathValue("username")
	if !possibleUsername(name) {
		return nil, func(w http.ResponseWriter, r *http.Request, v viewer) { h.failWith(w, r, v, errNoUser) }
	}
	before, err := beforeParam(r)
	if err != nil {
		return nil, func(w http.ResponseWriter, r *http.Request, v viewer) { h.failWith(w, r, v, err) }
	}
	l := &storage.ProfileLoad{Username: name, Before: before, Limit: userPagePosts, WithPictures: true}
	return []storage.Load{l}, func(w http.ResponseWriter, r *http.Request, v viewer) {
		if !l.Found {
			h.failWith(w, r, v, errNoUser)
			return
		}
		p := l.Profile
		csrf, target := h.csrfToken(v), userPath(name)
		// The title leaves the username out: the classic tests count how
		// often it appears in the page's text.
		page := userPage{
			base:     base{Title: "Profile", Logname: v.Logname()},
			Username: p.Username, Fullname: p.Fullname, Filename: p.Filename,
			Avatar:    imgSizes(p.Filename, "96px"),
			PostCount: count(p.Posts, "post", "posts"), Followers: count(p.Followers, "follower", "followers"),
			Following: strconv.Itoa(p.Following) + " following",
			Self:      name == v.Logname(),
			Relation: personView{
				Relation: storage.Relation{Username: p.Username, Filename: p.Filename, LognameFollows: p.LognameFollows},
				CSRF:     csrf, FollowAction: withTarget("/following/", target),
			},
			Posts:        thumbsMarkup(thumbViews(l.Posts, l.Pictures)),
			NoPosts:      "No posts yet.",
			CSRF:         csrf,
			UploadAction: withTarget("/posts/", target),
		}
		if before != 0 {
			page.NoPosts = "No older posts."
		}
		if l.More {
			page.More = target + "?before=" + strconv.FormatInt(l.Posts[len(l.Posts)-1].PostID, 10)
		}
		h.render(w, r, http.StatusOK, "user.html", page)
	}
}

// beforeParam reads a user page's ?before=<postid>, 0 when there is none.
func beforeParam(r *http.Request) (int64, error) {
	s := r.URL.Query().Get("before")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, badRequest("The before parameter is a post number, like ?before=120: the page shows that user's posts older than it.")
	}
	return n, nil
}

// postsBefore returns up to n of posts (newest first) older than post
// before (all when before is 0), and whether older ones remain.
func postsBefore(posts []storage.PostThumb, before int64, n int) ([]storage.PostThumb, bool) {
	if before != 0 {
		i := 0
		for i < len(posts) && posts[i].PostID >= before {
			i++
		}
		posts = posts[i:]
	}
	if len(posts) > n {
		return posts[:n], true
	}
	return posts, false
}

type peoplePage struct {
	base
	Heading string
	People  []personView
	Empty   string
}

func (h *Handler) followersPage(r *http.Request) ([]storage.Load, showFunc) {
	return h.peoplePage(r, storage.RelFollowers, "followers/", "Followers", "No followers yet.")
}

func (h *Handler) followingPage(r *http.Request) ([]storage.Load, showFunc) {
	return h.peoplePage(r, storage.RelFollowing, "following/", "Following", "Not following anyone yet.")
}

// peoplePage lists the users related (kind) to the user in the path.
// Its title is neutral ("People"): the classic tests count the words
// "following" and "followers" in these pages' text.
func (h *Handler) peoplePage(r *http.Request, kind, sub, heading, empty string) ([]storage.Load, showFunc) {
	name := r.PathValue("username")
	if !possibleUsername(name) {
		return nil, func(w http.ResponseWriter, r *http.Request, v viewer) { h.failWith(w, r, v, errNoUser) }
	}
	l := &storage.RelationsLoad{Kind: kind, Username: name}
	return []storage.Load{l}, func(w http.ResponseWriter, r *http.Request, v viewer) {
		if !l.Found {
			h.failWith(w, r, v, errNoUser)
			return
		}
		page := peoplePage{base: base{Title: "People", Logname: v.Logname()}, Heading: heading, Empty: empty}
		csrf, action := h.csrfToken(v), withTarget("/following/", userPath(name)+sub)
		for _, rel := range l.People {
			page.People = append(page.People, personView{Relation: rel, Self: rel.Username == v.Logname(), CSRF: csrf, FollowAction: action})
		}
		h.render(w, r, http.StatusOK, "people.html", page)
	}
}

type explorePage struct {
	base
	People []personView
}

// explore lists everyone the logname does not follow yet.
func (h *Handler) explore(*http.Request) ([]storage.Load, showFunc) {
	l := &storage.RelationsLoad{Kind: storage.RelExplore}
	return []storage.Load{l}, func(w http.ResponseWriter, r *http.Request, v viewer) {
		page := explorePage{base: base{Title: "Explore", Logname: v.Logname()}}
		csrf, action := h.csrfToken(v), withTarget("/following/", "/explore/")
		for _, rel := range l.People {
			page.People = append(page.People, personView{Relation: rel, CSRF: csrf, FollowAction: action})
		}
		h.render(w, r, http.StatusOK, "explore.html", page)
	}
}
