package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/testenv"
)

// TestUploadRangesAreCapped: a few ranges are served as asked; a Range
// header with many gets the whole file once instead of a multipart answer
// larger than the file.
func TestUploadRangesAreCapped(t *testing.T) {
	t.Parallel()
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		c := loggedIn(t, app, "awdeorio")
		whole := c.get("/uploads/" + post1Image)
		if whole.Status != http.StatusOK {
			t.Fatalf("GET = %d", whole.Status)
		}
		ranges := func(n int) string {
			parts := make([]string, n)
			for i := range parts {
				parts[i] = string(rune('0'+i%10)) + "-" + string(rune('0'+i%10))
			}
			return "bytes=" + strings.Join(parts, ",")
		}
		if res := c.getWith("/uploads/"+post1Image, map[string]string{"Range": ranges(2)}); res.Status != http.StatusPartialContent {
			t.Errorf("2 ranges = %d, want 206", res.Status)
		}
		res := c.getWith("/uploads/"+post1Image, map[string]string{"Range": ranges(1000)})
		if res.Status != http.StatusOK || res.Body != whole.Body {
			t.Errorf("1000 ranges = %d with %d bytes, want 200 with the file's %d", res.Status, len(res.Body), len(whole.Body))
		}
	})
}

// TestOverlongPasswordsAre400: every form that takes a password, and HTTP
// Basic, refuse one over 1024 bytes with a 400 saying so, before hashing.
func TestOverlongPasswordsAre400(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("p", 1025)
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		visitor := newClient(t, app)
		if res := visitor.tryLogin("awdeorio", long); res.Status != http.StatusBadRequest || !strings.Contains(res.Body, "too long") {
			t.Errorf("login = %d, want 400 saying the password is too long\n%s", res.Status, pageText(res.Body))
		}
		page := visitor.get("/accounts/create/")
		res := visitor.post("/accounts/", map[string]string{"operation": "create", "username": "longpw", "password": long,
			"fullname": "L", "email": "l@x", "csrf_token": csrfToken(t, page.Body)}, &upload{Name: "p.png", Data: pngImage(t)})
		if res.Status != http.StatusBadRequest || !strings.Contains(res.Body, "too long") {
			t.Errorf("sign-up = %d, want 400 saying the password is too long\n%s", res.Status, pageText(res.Body))
		}
		c := loggedIn(t, app, "jflinn")
		for _, fields := range []map[string]string{
			{"password": long, "new_password1": "n", "new_password2": "n"},
			{"password": "password", "new_password1": long, "new_password2": long},
		} {
			fields["operation"] = "update_password"
			if res := c.submit("/accounts/", fields, nil); res.Status != http.StatusBadRequest || !strings.Contains(res.Body, "too long") {
				t.Errorf("password change = %d, want 400 saying the password is too long\n%s", res.Status, pageText(res.Body))
			}
		}
		req, _ := http.NewRequest(http.MethodGet, app.URL+"/api/v1/posts/", nil)
		req.SetBasicAuth("awdeorio", long)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("API with an overlong Basic password = %d, want 400", resp.StatusCode)
		}
	})
}
