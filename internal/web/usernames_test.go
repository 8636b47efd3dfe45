package web_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// TestSignUpRefusesDotNames: "." and ".." are refused at sign-up with the
// error page, as links to them (/users/../) would lead to other pages.
func TestSignUpRefusesDotNames(t *testing.T) {
	t.Parallel()
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		for _, name := range []string{".", ".."} {
			c := newClient(t, app)
			page := c.get("/accounts/create/")
			res := c.post("/accounts/?target=/", map[string]string{"operation": "create", "username": name,
				"password": "pw", "fullname": "Dot", "email": "d@x", "csrf_token": csrfToken(t, page.Body)},
				&upload{Name: "p.png", Data: pngImage(t)})
			if res.Status != http.StatusBadRequest || !strings.Contains(pageText(res.Body), "cannot be . or ..") {
				t.Errorf("sign-up as %q = %d, want 400 saying why\n%s", name, res.Status, pageText(res.Body))
			}
			if _, err := app.Store.User(context.Background(), name); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("user %q after a refused sign-up: %v, want ErrNotFound", name, err)
			}
		}
		// Dots inside a name are fine.
		c := newClient(t, app)
		page := c.get("/accounts/create/")
		res := c.post("/accounts/?target=/", map[string]string{"operation": "create", "username": "a..b",
			"password": "pw", "fullname": "Dot", "email": "d@x", "csrf_token": csrfToken(t, page.Body)},
			&upload{Name: "p.png", Data: pngImage(t)})
		if res.Status != http.StatusFound {
			t.Errorf("sign-up as a..b = %d, want 302\n%s", res.Status, pageText(res.Body))
		}
	})
}
