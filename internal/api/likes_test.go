package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/insta485/insta485/internal/testenv"
)

func TestLikes(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		numLikes := func(path string) any {
			t.Helper()
			return call(t, app, "GET", path, awdeorio, "").expect(t, http.StatusOK).json(t)["likes"].(map[string]any)["numLikes"]
		}

		// A new like: 201, and the post shows it as the logname's.
		got := call(t, app, "POST", "/api/v1/likes/?postid=4", awdeorio, "").expect(t, http.StatusCreated).json(t)
		jsonEqual(t, got, `{"likeid": 7, "url": "/api/v1/likes/7/"}`)
		post := call(t, app, "GET", "/api/v1/posts/4/", awdeorio, "").expect(t, http.StatusOK).json(t)
		jsonEqual(t, post["likes"].(map[string]any), `{"lognameLikesThis": true, "numLikes": 1, "url": "/api/v1/likes/7/"}`)

		// Liking again answers 200 with the existing like, and adds nothing;
		// so does liking a sample post awdeorio already likes.
		got = call(t, app, "POST", "/api/v1/likes/?postid=4", awdeorio, "").expect(t, http.StatusOK).json(t)
		jsonEqual(t, got, `{"likeid": 7, "url": "/api/v1/likes/7/"}`)
		got = call(t, app, "POST", "/api/v1/likes/?postid=1", awdeorio, "").expect(t, http.StatusOK).json(t)
		jsonEqual(t, got, `{"likeid": 1, "url": "/api/v1/likes/1/"}`)
		if n := numLikes("/api/v1/posts/4/"); n != 1.0 {
			t.Errorf("post 4 has %v likes after liking twice, want 1", n)
		}

		// Only the owner may delete a like.
		call(t, app, "DELETE", "/api/v1/likes/7/", jflinn, "").expect(t, http.StatusForbidden)
		call(t, app, "DELETE", "/api/v1/likes/7/", jag, "").expect(t, http.StatusForbidden)
		if n := numLikes("/api/v1/posts/4/"); n != 1.0 {
			t.Errorf("a refused delete removed the like: %v likes", n)
		}
		r := call(t, app, "DELETE", "/api/v1/likes/7/", awdeorio, "").expect(t, http.StatusNoContent)
		if len(r.body) != 0 {
			t.Errorf("204 with body %q", r.body)
		}
		post = call(t, app, "GET", "/api/v1/posts/4/", awdeorio, "").expect(t, http.StatusOK).json(t)
		jsonEqual(t, post["likes"].(map[string]any), `{"lognameLikesThis": false, "numLikes": 0, "url": null}`)
		call(t, app, "DELETE", "/api/v1/likes/7/", awdeorio, "").expect(t, http.StatusNotFound)

		// Like ids are never reused (the engines may skip some), and a
		// session works as well as Basic.
		got = call(t, app, "POST", "/api/v1/likes/?postid=4", michjc, "").expect(t, http.StatusCreated).json(t)
		id, ok := got["likeid"].(float64)
		if !ok || id <= 7 || got["url"] != fmt.Sprintf("/api/v1/likes/%d/", int(id)) || len(got) != 2 {
			t.Fatalf("new like after like 7 was deleted: %v", got)
		}
		call(t, app, "DELETE", got["url"].(string), michjc, "").expect(t, http.StatusNoContent)

		for _, c := range []struct {
			method, path string
			status       int
		}{
			{"POST", "/api/v1/likes/?postid=1000", http.StatusNotFound},
			{"POST", "/api/v1/likes/?postid=0", http.StatusNotFound},
			{"POST", "/api/v1/likes/?postid=-4", http.StatusNotFound},
			{"POST", "/api/v1/likes/", http.StatusBadRequest},
			{"POST", "/api/v1/likes/?postid=", http.StatusBadRequest},
			{"POST", "/api/v1/likes/?postid=abc", http.StatusBadRequest},
			{"POST", "/api/v1/likes/?postid=4.0", http.StatusBadRequest},
			{"POST", "/api/v1/likes/?postid=99999999999999999999", http.StatusBadRequest},
			{"POST", "/api/v1/likes/?post=4", http.StatusBadRequest},
			{"DELETE", "/api/v1/likes/1000/", http.StatusNotFound},
			{"DELETE", "/api/v1/likes/0/", http.StatusNotFound},
			{"DELETE", "/api/v1/likes/abc/", http.StatusNotFound},
			{"DELETE", "/api/v1/likes/99999999999999999999/", http.StatusNotFound},
		} {
			call(t, app, c.method, c.path, awdeorio, "").expect(t, c.status)
		}
		if n := numLikes("/api/v1/posts/1/"); n != 3.0 {
			t.Errorf("post 1 has %v likes after the bad calls, want 3", n)
		}
	})
}
