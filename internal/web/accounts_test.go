package web_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

func user(t *testing.T, app *testenv.App, name string) (storage.User, bool) {
	t.Helper()
	u, err := app.Store.User(context.Background(), name)
	if errors.Is(err, storage.ErrNotFound) {
		return u, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return u, true
}

// loggedInAs reports whom c's session belongs to, as the nav bar says.
func loggedInAs(t *testing.T, c *client, want string) {
	t.Helper()
	res := c.get("/")
	if want == "" {
		if res.Status != http.StatusFound || res.Location != "/accounts/login/" {
			t.Errorf("GET / after the session should have ended: status %d to %q", res.Status, res.Location)
		}
		return
	}
	if res.Status != http.StatusOK || !slices.Contains(links(res.Body), "/users/"+want+"/") {
		t.Errorf("GET /: status %d, want 200 with a session of %s", res.Status, want)
	}
}

func signUpFields(username string) map[string]string {
	return map[string]string{"operation": "create", "username": username, "fullname": "New Person",
		"email": "new@example.com", "password": "s3cret pass"}
}

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, val := range m {
		if key != k {
			out[key] = val
		}
	}
	return out
}

// TestSignUpAndLogin covers the visitors' operations on /accounts/: their
// forms carry a token bound to the anonymous csrf cookie.
func TestSignUpAndLogin(t *testing.T) {
	t.Parallel()
	img := pngImage(t)
	tests := []struct {
		name     string
		fields   map[string]string
		file     *upload
		status   int
		location string
		check    func(t *testing.T, app *testenv.App, c *client)
	}{
		{name: "login", fields: map[string]string{"operation": "login", "username": "awdeorio", "password": "chickens"},
			status: 302, location: "/", check: func(t *testing.T, app *testenv.App, c *client) {
				loggedInAs(t, c, "awdeorio")
				// The legacy sha512 hash was upgraded at this login.
				u, _ := user(t, app, "awdeorio")
				if !strings.HasPrefix(u.Password, "$argon2id$") {
					t.Errorf("stored hash %q, want argon2id after login", u.Password)
				}
				ck := c.cookie(auth.CookieName)
				if ck == "" {
					t.Error("no login cookie")
				}
			}},
		{name: "login wrong password", fields: map[string]string{"operation": "login", "username": "awdeorio", "password": "password"}, status: 403},
		{name: "login unknown user", fields: map[string]string{"operation": "login", "username": "nobody", "password": "chickens"}, status: 403},
		{name: "login SQL injection", fields: map[string]string{"operation": "login", "username": "awdeorio' --", "password": "' OR '1'='1"}, status: 403},
		{name: "login empty password", fields: map[string]string{"operation": "login", "username": "awdeorio", "password": ""}, status: 400},
		{name: "login username with NUL", fields: map[string]string{"operation": "login", "username": "awdeorio\x00", "password": "chickens"}, status: 403},
		{name: "login username invalid UTF-8", fields: map[string]string{"operation": "login", "username": "a\xffb", "password": "chickens"}, status: 403},
		{name: "login no username", fields: map[string]string{"operation": "login", "password": "chickens"}, status: 400},
		{name: "sign up", fields: signUpFields("new_user.1-x"), file: &upload{"me.png", img}, status: 302, location: "/",
			check: func(t *testing.T, app *testenv.App, c *client) {
				u, ok := user(t, app, "new_user.1-x")
				if !ok || u.Fullname != "New Person" || u.Email != "new@example.com" || !uploadName.MatchString(u.Filename) {
					t.Fatalf("user = %+v, want the new user with a new picture", u)
				}
				if !fileExists(t, app, u.Filename) {
					t.Error("profile picture not stored")
				}
				if ok, _ := auth.CheckPassword(u.Password, "s3cret pass"); !ok || !strings.HasPrefix(u.Password, "$argon2id$") {
					t.Errorf("password stored as %q, want an argon2id hash of it", u.Password)
				}
				loggedInAs(t, c, "new_user.1-x")
			}},
		{name: "sign up taken username", fields: signUpFields("jflinn"), file: &upload{"me.png", img}, status: 409},
		// Usernames are unique regardless of case: the classic conflict.
		{name: "sign up taken username in capitals", fields: signUpFields("JFLINN"), file: &upload{"me.png", img}, status: 409},
		{name: "sign up taken username in mixed case", fields: signUpFields("AwDeOrIo"), file: &upload{"me.png", img}, status: 409},
		// Login stays exact-match.
		{name: "login in another case", fields: map[string]string{"operation": "login", "username": "AWDEORIO", "password": "chickens"}, status: 403},
		{name: "sign up username with space", fields: signUpFields("new user"), file: &upload{"me.png", img}, status: 400},
		{name: "sign up username with slash", fields: signUpFields("a/b"), file: &upload{"me.png", img}, status: 400},
		{name: "sign up username too long", fields: signUpFields(strings.Repeat("a", 21)), file: &upload{"me.png", img}, status: 400},
		{name: "sign up username of 20", fields: signUpFields(strings.Repeat("a", 20)), file: &upload{"me.png", img}, status: 302, location: "/"},
		{name: "sign up fullname too long", fields: with(signUpFields("newbie"), "fullname", strings.Repeat("n", 41)), file: &upload{"me.png", img}, status: 400},
		{name: "sign up email too long", fields: with(signUpFields("newbie"), "email", strings.Repeat("e", 31)+"@example.x"), file: &upload{"me.png", img}, status: 400},
		{name: "sign up fullname with NUL", fields: with(signUpFields("newbie"), "fullname", "New\x00Person"), file: &upload{"me.png", img}, status: 400},
		{name: "sign up email invalid UTF-8", fields: with(signUpFields("newbie"), "email", "n\xff@example.com"), file: &upload{"me.png", img}, status: 400},
		{name: "sign up no email", fields: with(signUpFields("newbie"), "email", ""), file: &upload{"me.png", img}, status: 400},
		{name: "sign up no password", fields: with(signUpFields("newbie"), "password", ""), file: &upload{"me.png", img}, status: 400},
		{name: "sign up no photo", fields: signUpFields("newbie"), status: 400},
		{name: "sign up photo not an image", fields: signUpFields("newbie"), file: &upload{"me.png", []byte("GIF87 but not really")}, status: 400},
		{name: "unknown operation", fields: map[string]string{"operation": "register", "username": "x"}, status: 400},
		{name: "no operation", fields: map[string]string{"username": "x"}, status: 400},
		{name: "edit_account needs a session", fields: map[string]string{"operation": "edit_account", "fullname": "X", "email": "x@x"}, status: 403},
		{name: "update_password needs a session", fields: map[string]string{"operation": "update_password", "password": "chickens",
			"new_password1": "a", "new_password2": "a"}, status: 403},
		{name: "delete needs a session", fields: map[string]string{"operation": "delete"}, status: 403},
	}
	testenv.ForEachBackendAndStore(t, func(t *testing.T, backend, store string) {
		t.Parallel()
		// Failing cases change nothing (checked), so they share one app.
		var shared *testenv.App
		for _, tt := range tests {
			run := func(t *testing.T, app *testenv.App) {
				c := newClient(t, app)
				page := c.get("/accounts/create/")
				if page.Status != 200 {
					t.Fatalf("GET /accounts/create/: %d", page.Status)
				}
				fields := with(tt.fields, "csrf_token", csrfToken(t, page.Body))
				before := snapshot(t, app)
				res := c.post("/accounts/?target=/", fields, tt.file)
				if res.Status != tt.status || res.Location != tt.location {
					t.Fatalf("status %d to %q, want %d to %q\n%s", res.Status, res.Location, tt.status, tt.location, res.Body)
				}
				if res.Status >= 400 {
					if after := snapshot(t, app); after != before {
						t.Errorf("a failed request changed data or files:\nbefore:\n%s\nafter:\n%s", before, after)
					}
					if c.cookie(auth.CookieName) != "" {
						t.Error("a failed request set a session cookie")
					}
				}
				if tt.check != nil {
					tt.check(t, app, c)
				}
			}
			if tt.status < 400 {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					run(t, testenv.NewApp(t, backend, testenv.WithUploadStore(store)))
				})
				continue
			}
			if shared == nil {
				shared = testenv.NewApp(t, backend, testenv.WithUploadStore(store))
			}
			t.Run(tt.name, func(t *testing.T) { run(t, shared) })
		}
	})
}

// TestAccountSettings covers the logged-in operations on /accounts/.
func TestAccountSettings(t *testing.T) {
	t.Parallel()
	img := pngImage(t)
	edit := func(fullname, email string) map[string]string {
		return map[string]string{"operation": "edit_account", "fullname": fullname, "email": email}
	}
	password := func(old, n1, n2 string) map[string]string {
		return map[string]string{"operation": "update_password", "password": old, "new_password1": n1, "new_password2": n2}
	}
	runActions(t, []actionCase{
		{name: "edit", user: "awdeorio", path: "/accounts/?target=/accounts/edit/", fields: edit("Drew", "drew@example.com"),
			status: 302, location: "/accounts/edit/", check: func(t *testing.T, app *testenv.App, _ *client) {
				u, _ := user(t, app, "awdeorio")
				if u.Fullname != "Drew" || u.Email != "drew@example.com" || u.Filename != awdeorioPhoto {
					t.Errorf("user = %+v, want new name and email, same photo", u)
				}
			}},
		{name: "edit with photo", user: "awdeorio", path: "/accounts/?target=/accounts/edit/", fields: edit("Andrew DeOrio", "awdeorio@umich.edu"),
			file: &upload{"new.png", img}, status: 302, location: "/accounts/edit/",
			check: func(t *testing.T, app *testenv.App, _ *client) {
				u, _ := user(t, app, "awdeorio")
				if u.Filename == awdeorioPhoto || !uploadName.MatchString(u.Filename) || !fileExists(t, app, u.Filename) {
					t.Errorf("photo %q, want a new stored file", u.Filename)
				}
				if fileExists(t, app, awdeorioPhoto) {
					t.Error("the old profile photo is still stored")
				}
			}},
		{name: "edit url-encoded without photo", user: "awdeorio", path: "/accounts/?target=/accounts/edit/", fields: edit("Drew", "drew@example.com"),
			urlencoded: true, status: 302, location: "/accounts/edit/", check: func(t *testing.T, app *testenv.App, _ *client) {
				u, _ := user(t, app, "awdeorio")
				if u.Fullname != "Drew" || u.Email != "drew@example.com" || u.Filename != awdeorioPhoto {
					t.Errorf("user = %+v, want new name and email, same photo", u)
				}
			}},
		{name: "edit default target", user: "awdeorio", path: "/accounts/", fields: edit("A", "a@b.c"), status: 302, location: "/"},
		{name: "edit photo not an image", user: "awdeorio", path: "/accounts/?target=/accounts/edit/", fields: edit("Drew", "drew@example.com"),
			file: &upload{"new.png", []byte("not a picture at all")}, status: 400},
		{name: "edit photo too large", user: "awdeorio", path: "/accounts/?target=/accounts/edit/", fields: edit("Drew", "drew@example.com"),
			file: &upload{"new.png", append(slices.Clone(img), make([]byte, 4096)...)}, opts: []testenv.AppOption{testenv.WithMaxUpload(2048)}, status: 413},
		{name: "edit no fullname", user: "awdeorio", path: "/accounts/", fields: edit("", "a@b.c"), status: 400},
		{name: "edit no email", user: "awdeorio", path: "/accounts/", fields: edit("A", ""), status: 400},
		{name: "edit fullname too long", user: "awdeorio", path: "/accounts/", fields: edit(strings.Repeat("x", 41), "a@b.c"), status: 400},
		{name: "edit fullname with NUL", user: "awdeorio", path: "/accounts/", fields: edit("A\x00", "a@b.c"), status: 400},
		{name: "edit email invalid UTF-8", user: "awdeorio", path: "/accounts/", fields: edit("A", "a\xff@b.c"), status: 400},
		{name: "edit email too long", user: "awdeorio", path: "/accounts/", fields: edit("A", strings.Repeat("x", 41)), status: 400},
		{name: "password", user: "awdeorio", path: "/accounts/?target=/accounts/edit/", fields: password("chickens", "roosters", "roosters"),
			status: 302, location: "/accounts/edit/", check: func(t *testing.T, app *testenv.App, c *client) {
				// This browser keeps a (new) session; the password changed.
				loggedInAs(t, c, "awdeorio")
				if res := newClient(t, app).tryLogin("awdeorio", "chickens"); res.Status != 403 {
					t.Errorf("login with the old password: %d, want 403", res.Status)
				}
				if res := newClient(t, app).tryLogin("awdeorio", "roosters"); res.Status != 302 {
					t.Errorf("login with the new password: %d, want 302", res.Status)
				}
			}},
		{name: "password wrong old", user: "awdeorio", path: "/accounts/", fields: password("roosters", "a", "a"), status: 403},
		{name: "password new differ", user: "awdeorio", path: "/accounts/", fields: password("chickens", "a", "b"), status: 401},
		{name: "password missing new", user: "awdeorio", path: "/accounts/", fields: password("chickens", "", ""), status: 400},
		{name: "password missing old", user: "awdeorio", path: "/accounts/", fields: password("", "a", "a"), status: 400},
		{name: "delete", user: "awdeorio", path: "/accounts/?target=/accounts/create/", fields: map[string]string{"operation": "delete"},
			status: 302, location: "/accounts/create/", check: func(t *testing.T, app *testenv.App, c *client) {
				if _, ok := user(t, app, "awdeorio"); ok {
					t.Fatal("awdeorio still exists")
				}
				for _, f := range []string{awdeorioPhoto, post1Image, post3Image} {
					if fileExists(t, app, f) {
						t.Errorf("file %s of awdeorio still stored", f)
					}
				}
				if !fileExists(t, app, post2Image) {
					t.Error("jflinn's post image was deleted")
				}
				for _, id := range []int64{1, 4, 6} { // awdeorio's comments
					if _, err := app.Store.Comment(context.Background(), id); !errors.Is(err, storage.ErrNotFound) {
						t.Errorf("comment %d still there", id)
					}
				}
				if p, _ := post(t, app, 2, "jflinn"); p.Likes != 1 {
					t.Errorf("post 2 has %d likes, want 1 after awdeorio's like went", p.Likes)
				}
				if p, err := app.Store.Profile(context.Background(), "jflinn", "jflinn"); err != nil || p.Following != 1 || p.Followers != 0 {
					t.Errorf("jflinn follows %d and has %d followers (%v), want 1 and 0 once awdeorio's edges went", p.Following, p.Followers, err)
				}
				loggedInAs(t, c, "")
			}},
		{name: "delete default target", user: "jag", path: "/accounts/", fields: map[string]string{"operation": "delete"}, status: 302, location: "/"},
		{name: "logout", user: "awdeorio", path: "/accounts/logout/", status: 302, location: "/accounts/login/",
			check: func(t *testing.T, _ *testenv.App, c *client) { loggedInAs(t, c, "") }},
		{name: "logout not logged in", path: "/accounts/logout/", status: 403},
		{name: "unknown operation", user: "awdeorio", path: "/accounts/", fields: map[string]string{"operation": "rename"}, status: 400},
	})
}
