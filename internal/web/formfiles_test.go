package web_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/testenv"
)

// postSpooled is post with an extra file part of size bytes, beyond the
// 4 MiB a form keeps in memory, so that reading the form spools it to a
// multipart-* file in the temporary directory.
func (c *client) postSpooled(path string, fields map[string]string, file *upload, size int) response {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			c.t.Fatal(err)
		}
	}
	parts := []upload{{Name: "big.bin", Data: bytes.Repeat([]byte{'x'}, size)}}
	if file != nil {
		parts = append(parts, *file)
	}
	for i, p := range parts {
		name := "padding"
		if i > 0 {
			name = "file"
		}
		fw, err := mw.CreateFormFile(name, p.Name)
		if err != nil {
			c.t.Fatal(err)
		}
		if _, err := fw.Write(p.Data); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		c.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, c.app.URL+path, &body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

// multipartFiles lists the multipart-* files in dir.
func multipartFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "multipart-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestNoMultipartFileOutlivesARequest sends a form with a large file part
// to every form route, as a visitor and logged in, for every answer they
// give (302, 400, 403, 409, 413), and checks after each that no spooled
// multipart-* file is left in the temporary directory. It sets TMPDIR, so
// it cannot run in parallel.
func TestNoMultipartFileOutlivesARequest(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		const limit = 8 << 20
		const spooled = 5 << 20 // over the 4 MiB kept in memory
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		app := testenv.NewApp(t, backend, testenv.WithMaxUpload(limit))
		img := &upload{Name: "p.png", Data: pngImage(t)}
		notImage := &upload{Name: "p.png", Data: []byte("not a picture")}

		visitor := newClient(t, app)
		page := visitor.get("/accounts/login/")
		anon := csrfToken(t, page.Body)
		user := newClient(t, app)
		user.login("jflinn", passwords["jflinn"])
		token := user.token()

		tests := []struct {
			name   string
			c      *client
			path   string
			fields map[string]string
			file   *upload
			size   int
			status int
		}{
			{"login wrong password", visitor, "/accounts/", map[string]string{"operation": "login", "username": "awdeorio", "password": "wrong", "csrf_token": anon}, nil, spooled, 403},
			{"login without token", visitor, "/accounts/", map[string]string{"operation": "login", "username": "awdeorio", "password": "chickens"}, nil, spooled, 400},
			{"sign-up bad name", visitor, "/accounts/", map[string]string{"operation": "create", "username": "a b", "password": "pw", "fullname": "F", "email": "e@x", "csrf_token": anon}, img, spooled, 400},
			{"sign-up taken", visitor, "/accounts/", map[string]string{"operation": "create", "username": "awdeorio", "password": "pw", "fullname": "F", "email": "e@x", "csrf_token": anon}, img, spooled, 409},
			{"sign-up", visitor, "/accounts/?target=/", map[string]string{"operation": "create", "username": "newbie", "password": "pw", "fullname": "F", "email": "e@x", "csrf_token": anon}, img, spooled, 302},
			{"visitor edit", newClient(t, app), "/accounts/", map[string]string{"operation": "edit_account", "fullname": "F", "email": "e@x"}, nil, spooled, 403},
			{"too large", visitor, "/accounts/", map[string]string{"operation": "login", "csrf_token": anon}, nil, limit + 1<<20, 413},
			{"unknown operation", user, "/accounts/", map[string]string{"operation": "nope", "csrf_token": token}, nil, spooled, 400},
			{"edit account", user, "/accounts/?target=/", map[string]string{"operation": "edit_account", "fullname": "J F", "email": "j@x", "csrf_token": token}, img, spooled, 302},
			{"edit account not an image", user, "/accounts/", map[string]string{"operation": "edit_account", "fullname": "J F", "email": "j@x", "csrf_token": token}, notImage, spooled, 400},
			{"edit account without token", user, "/accounts/", map[string]string{"operation": "edit_account", "fullname": "J F", "email": "j@x"}, nil, spooled, 400},
			{"wrong current password", user, "/accounts/", map[string]string{"operation": "update_password", "password": "wrong", "new_password1": "a", "new_password2": "a", "csrf_token": token}, nil, spooled, 403},
			{"post", user, "/posts/?target=/", map[string]string{"operation": "create", "csrf_token": token}, img, spooled, 302},
			{"post not an image", user, "/posts/", map[string]string{"operation": "create", "csrf_token": token}, notImage, spooled, 400},
			{"post without token", user, "/posts/", map[string]string{"operation": "create"}, img, spooled, 400},
			{"post too large", user, "/posts/", map[string]string{"operation": "create", "csrf_token": token}, img, limit + 1<<20, 413},
			{"like", user, "/likes/?target=/", map[string]string{"operation": "like", "postid": "4", "csrf_token": token}, nil, spooled, 302},
			{"like twice", user, "/likes/", map[string]string{"operation": "like", "postid": "4", "csrf_token": token}, nil, spooled, 409},
			{"comment", user, "/comments/?target=/", map[string]string{"operation": "create", "postid": "1", "text": "hi", "csrf_token": token}, nil, spooled, 302},
			{"follow", user, "/following/?target=/", map[string]string{"operation": "follow", "username": "jag", "csrf_token": token}, nil, spooled, 302},
			{"follow unknown", user, "/following/", map[string]string{"operation": "follow", "username": "nobody", "csrf_token": token}, nil, spooled, 404},
			{"visitor like", newClient(t, app), "/likes/", map[string]string{"operation": "like", "postid": "1"}, nil, spooled, 403},
			{"logout", user, "/accounts/logout/", map[string]string{"csrf_token": token}, nil, spooled, 302},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := tt.c.with(t).postSpooled(tt.path, tt.fields, tt.file, tt.size)
				if res.Status != tt.status {
					t.Errorf("status %d, want %d\n%s", res.Status, tt.status, pageText(res.Body))
				}
				if left := multipartFiles(t, tmp); len(left) > 0 {
					t.Errorf("left in TMPDIR: %v", left)
					for _, f := range left {
						_ = os.Remove(filepath.Join(tmp, f))
					}
				}
			})
		}
	})
}
