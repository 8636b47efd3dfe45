package web_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/app"
	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/testenv"
)

// TestUploadStoreFrozen stops the S3 server with SIGSTOP under a running
// site: it keeps its port and connections and answers nothing. Uploads
// answer 503 with Retry-After once the request's wait budget is spent,
// pages and the API that show no file content answer 200 meanwhile, no row
// is written without its picture, and once the server goes on uploads work
// again by themselves.
func TestUploadStoreFrozen(t *testing.T) {
	t.Parallel()
	img := pngImage(t)
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		srv := testenv.StartS3(t)
		site := testenv.NewApp(t, backend, testenv.WithS3(srv),
			testenv.WithDeps(func(d *app.Deps) { d.WaitBudget = 2 * time.Second }))
		c := loggedIn(t, site, "awdeorio")
		var rows bytes.Buffer
		if err := dbadmin.Dump(context.Background(), site.Store, &rows); err != nil {
			t.Fatal(err)
		}

		thaw := srv.Freeze(t)
		res := c.submit("/posts/?target=/", map[string]string{"operation": "create"}, &upload{"p.png", img})
		if res.Status != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
			!strings.Contains(pageText(res.Body), "try again") {
			t.Errorf("upload to a frozen store: status %d, Retry-After %q, want 503 with a message:\n%s",
				res.Status, res.Header.Get("Retry-After"), pageText(res.Body))
		}
		for _, path := range []string{"/", "/users/awdeorio/", "/posts/1/", "/api/v1/posts/", "/api/v1/posts/1/"} {
			if res := c.get(path); res.Status != http.StatusOK {
				t.Errorf("GET %s with the upload store frozen = %d, want 200", path, res.Status)
			}
		}
		var after bytes.Buffer
		if err := dbadmin.Dump(context.Background(), site.Store, &after); err != nil {
			t.Fatal(err)
		}
		if after.String() != rows.String() {
			t.Errorf("rows changed while the store was frozen:\nbefore:\n%s\nafter:\n%s", rows.String(), after.String())
		}

		thaw()
		res = c.submit("/posts/?target=/", map[string]string{"operation": "create"}, &upload{"p.png", img})
		if res.Status != http.StatusFound {
			t.Fatalf("upload after the store thawed = %d, want 302:\n%s", res.Status, pageText(res.Body))
		}
		posts, err := site.Store.PostsByOwner(context.Background(), "awdeorio")
		if err != nil || len(posts) == 0 {
			t.Fatalf("awdeorio's posts: %v", err)
		}
		if !site.HasUpload(t, posts[0].Filename) {
			t.Errorf("the post made after the thaw names %s, which the store does not hold", posts[0].Filename)
		}
	})
}
