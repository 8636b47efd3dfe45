package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/testenv"
)

func TestComments(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		comments := func(postid int) []any {
			t.Helper()
			path := fmt.Sprintf("/api/v1/posts/%d/", postid)
			return call(t, app, "GET", path, awdeorio, "").expect(t, http.StatusOK).json(t)["comments"].([]any)
		}

		got := call(t, app, "POST", "/api/v1/comments/?postid=3", jflinn, `{"text": "Comment <b>one</b> 'quoted' \"x\""}`).
			expect(t, http.StatusCreated).json(t)
		jsonEqual(t, got, `{"commentid": 8, "lognameOwnsThis": true, "owner": "jflinn", "ownerShowUrl": "/users/jflinn/",
			"text": "Comment <b>one</b> 'quoted' \"x\"", "url": "/api/v1/comments/8/"}`)
		// It is the newest comment on the post, as awdeorio sees it.
		cs := comments(3)
		if len(cs) != 4 {
			t.Fatalf("post 3 has %d comments, want 4", len(cs))
		}
		last := cs[3].(map[string]any)
		jsonEqual(t, last, `{"commentid": 8, "lognameOwnsThis": false, "owner": "jflinn", "ownerShowUrl": "/users/jflinn/",
			"text": "Comment <b>one</b> 'quoted' \"x\"", "url": "/api/v1/comments/8/"}`)

		// The limit is 1024 characters, not bytes.
		for _, text := range []string{strings.Repeat("a", 1024), strings.Repeat("é", 1024), "🐔 chickens", "  padded  "} {
			body := fmt.Sprintf(`{"text": %q}`, text)
			got := call(t, app, "POST", "/api/v1/comments/?postid=4", awdeorio, body).expect(t, http.StatusCreated).json(t)
			if got["text"] != text {
				t.Errorf("stored text %q, want %q", got["text"], text)
			}
		}

		// Only the owner may delete a comment.
		call(t, app, "DELETE", "/api/v1/comments/8/", awdeorio, "").expect(t, http.StatusForbidden)
		call(t, app, "DELETE", "/api/v1/comments/1/", jflinn, "").expect(t, http.StatusForbidden)
		if n := len(comments(3)); n != 4 {
			t.Errorf("a refused delete removed a comment: %d left, want 4", n)
		}
		r := call(t, app, "DELETE", "/api/v1/comments/8/", jflinn, "").expect(t, http.StatusNoContent)
		if len(r.body) != 0 {
			t.Errorf("204 with body %q", r.body)
		}
		call(t, app, "DELETE", "/api/v1/comments/8/", jflinn, "").expect(t, http.StatusNotFound)
		call(t, app, "DELETE", "/api/v1/comments/1/", awdeorio, "").expect(t, http.StatusNoContent)
		if n := len(comments(3)); n != 2 {
			t.Errorf("post 3 has %d comments after two deletes, want 2", n)
		}

		for _, c := range []struct {
			name, method, path, body string
			status                   int
		}{
			{"no such post", "POST", "/api/v1/comments/?postid=1000", `{"text": "hi"}`, http.StatusNotFound},
			{"post id 0", "POST", "/api/v1/comments/?postid=0", `{"text": "hi"}`, http.StatusNotFound},
			{"no postid", "POST", "/api/v1/comments/", `{"text": "hi"}`, http.StatusBadRequest},
			{"empty postid", "POST", "/api/v1/comments/?postid=", `{"text": "hi"}`, http.StatusBadRequest},
			{"garbage postid", "POST", "/api/v1/comments/?postid=x", `{"text": "hi"}`, http.StatusBadRequest},
			{"empty text", "POST", "/api/v1/comments/?postid=3", `{"text": ""}`, http.StatusBadRequest},
			{"blank text", "POST", "/api/v1/comments/?postid=3", `{"text": " \t\n "}`, http.StatusBadRequest},
			{"missing text", "POST", "/api/v1/comments/?postid=3", `{"txt": "hi"}`, http.StatusBadRequest},
			{"null text", "POST", "/api/v1/comments/?postid=3", `{"text": null}`, http.StatusBadRequest},
			{"number text", "POST", "/api/v1/comments/?postid=3", `{"text": 5}`, http.StatusBadRequest},
			{"no body", "POST", "/api/v1/comments/?postid=3", ``, http.StatusBadRequest},
			{"not JSON", "POST", "/api/v1/comments/?postid=3", `text=hi`, http.StatusBadRequest},
			{"truncated JSON", "POST", "/api/v1/comments/?postid=3", `{"text": "hi"`, http.StatusBadRequest},
			{"trailing data", "POST", "/api/v1/comments/?postid=3", `{"text": "hi"} {"text": "again"}`, http.StatusBadRequest},
			{"array", "POST", "/api/v1/comments/?postid=3", `["hi"]`, http.StatusBadRequest},
			{"1025 characters", "POST", "/api/v1/comments/?postid=3", fmt.Sprintf(`{"text": %q}`, strings.Repeat("a", 1025)), http.StatusBadRequest},
			{"1025 wide characters", "POST", "/api/v1/comments/?postid=3", fmt.Sprintf(`{"text": %q}`, strings.Repeat("é", 1025)), http.StatusBadRequest},
			{"NUL", "POST", "/api/v1/comments/?postid=3", `{"text": "a\u0000b"}`, http.StatusBadRequest},
			{"huge body", "POST", "/api/v1/comments/?postid=3", fmt.Sprintf(`{"text": %q}`, strings.Repeat("a", 100<<10)), http.StatusRequestEntityTooLarge},
			{"no such comment", "DELETE", "/api/v1/comments/1000/", "", http.StatusNotFound},
			{"comment id 0", "DELETE", "/api/v1/comments/0/", "", http.StatusNotFound},
			{"garbage comment id", "DELETE", "/api/v1/comments/abc/", "", http.StatusNotFound},
		} {
			t.Run(c.name, func(t *testing.T) {
				call(t, app, c.method, c.path, awdeorio, c.body).expect(t, c.status)
			})
		}
		if n := len(comments(3)); n != 2 {
			t.Errorf("post 3 has %d comments after the bad calls, want 2", n)
		}
	})
}
