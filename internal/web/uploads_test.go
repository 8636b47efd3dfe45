package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/testenv"
)

// stored returns the content the app's upload store holds under name.
func stored(t *testing.T, app *testenv.App, name string) []byte {
	t.Helper()
	f, err := app.Media.Open(context.Background(), name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newUploads returns the uploads in after that are not in before.
func newUploads(before, after []string) []string {
	var out []string
	for _, n := range after {
		if !slices.Contains(before, n) {
			out = append(out, n)
		}
	}
	return out
}

func (c *client) getWith(path string, header map[string]string) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.app.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return c.do(req)
}

// TestUploadsOnEveryStore runs the flows that touch uploaded files on
// every backend with the uploads in a local directory and in a bucket of
// a real S3 server: serving (access rules, type, validators, ranges),
// uploading a post, a rejected upload, a new profile photo, deleting a
// post and deleting an account.
func TestUploadsOnEveryStore(t *testing.T) {
	t.Parallel()
	img := pngImage(t)
	const limit = 64 << 10
	testenv.ForEachBackendAndStore(t, func(t *testing.T, backend, store string) {
		t.Parallel()
		app := testenv.NewApp(t, backend, testenv.WithUploadStore(store), testenv.WithMaxUpload(limit))
		if (store == "s3") != (app.S3 != nil) {
			t.Fatalf("store %s: app.S3 = %v", store, app.S3)
		}
		visitor := newClient(t, app)
		awdeorio := loggedIn(t, app, "awdeorio")

		t.Run("serve", func(t *testing.T) {
			want := stored(t, app, post1Image)
			if res := visitor.with(t).get("/uploads/" + post1Image); res.Status != http.StatusForbidden {
				t.Errorf("visitor: status %d, want 403", res.Status)
			}
			c := awdeorio.with(t)
			res := c.get("/uploads/" + post1Image)
			if res.Status != http.StatusOK || res.Body != string(want) {
				t.Fatalf("status %d, %d bytes; want 200 and the %d stored", res.Status, len(res.Body), len(want))
			}
			etag, lastMod := res.Header.Get("ETag"), res.Header.Get("Last-Modified")
			if ct := res.Header.Get("Content-Type"); ct != "image/jpeg" || etag == "" || lastMod == "" {
				t.Errorf("Content-Type %q, ETag %q, Last-Modified %q: want image/jpeg and both validators", ct, etag, lastMod)
			}
			if res := c.getWith("/uploads/"+post1Image, map[string]string{"If-None-Match": etag}); res.Status != http.StatusNotModified {
				t.Errorf("If-None-Match its ETag: status %d, want 304", res.Status)
			}
			res = c.getWith("/uploads/"+post1Image, map[string]string{"Range": "bytes=100-199"})
			if res.Status != http.StatusPartialContent || res.Body != string(want[100:200]) ||
				res.Header.Get("Content-Range") != "bytes 100-199/"+strconv.Itoa(len(want)) {
				t.Errorf("range: status %d, Content-Range %q, %d bytes; want 206, bytes 100-199/%d and those bytes",
					res.Status, res.Header.Get("Content-Range"), len(res.Body), len(want))
			}
			for _, name := range []string{blob.NewName(".jpg"), "..%2Finsta485.sqlite3", "x.jpg"} {
				if res := c.get("/uploads/" + name); res.Status != http.StatusNotFound {
					t.Errorf("/uploads/%s: status %d, want 404", name, res.Status)
				}
			}
		})

		var postFile string
		t.Run("upload post", func(t *testing.T) {
			c := awdeorio.with(t)
			before := app.UploadFiles(t)
			if res := c.submit("/posts/?target=/", map[string]string{"operation": "create"}, &upload{"me.png", img}); res.Status != http.StatusFound {
				t.Fatalf("status %d, want 302\n%s", res.Status, res.Body)
			}
			// The picture and its two width variants.
			added := newUploads(before, app.UploadFiles(t))
			if len(added) != 1+len(media.VariantWidths) {
				t.Fatalf("the store gained %v, want the picture and its variants", added)
			}
			for _, a := range added {
				a = a[strings.LastIndex(a, "/")+1:]
				if _, w := blob.MainName(a); w == 0 {
					postFile = a
				}
			}
			prefix := added[0][:strings.LastIndex(added[0], "/")+1] // the bucket's key prefix
			for _, w := range media.VariantWidths {
				if !slices.Contains(added, prefix+blob.VariantName(postFile, w)) {
					t.Errorf("the store gained %v, without the %d variant of %s", added, w, postFile)
				}
			}
			if !strings.HasSuffix(postFile, ".png") || !bytes.Equal(stored(t, app, postFile), img) {
				t.Fatalf("stored %s, want the uploaded PNG", postFile)
			}
			if res := c.get("/uploads/" + postFile); res.Status != http.StatusOK || res.Body != string(img) || res.Header.Get("Content-Type") != "image/png" {
				t.Errorf("the new upload: status %d, type %q", res.Status, res.Header.Get("Content-Type"))
			}
		})

		t.Run("rejected uploads leave nothing", func(t *testing.T) {
			c := awdeorio.with(t)
			before := snapshot(t, app)
			tooLarge := append(slices.Clone(img), make([]byte, limit)...)
			for _, tc := range []struct {
				file   upload
				status int
			}{
				{upload{"x.png", []byte("not a picture")}, http.StatusBadRequest},
				{upload{"x.png", tooLarge}, http.StatusRequestEntityTooLarge},
			} {
				res := c.submit("/posts/", map[string]string{"operation": "create"}, &tc.file)
				if res.Status != tc.status {
					t.Errorf("%d bytes: status %d, want %d", len(tc.file.Data), res.Status, tc.status)
				}
			}
			if after := snapshot(t, app); after != before {
				t.Errorf("a rejected upload changed data or files:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})

		t.Run("new profile photo", func(t *testing.T) {
			c := awdeorio.with(t)
			res := c.submit("/accounts/", map[string]string{"operation": "edit_account", "fullname": "Andrew", "email": "a@b.c"}, &upload{"new.png", img})
			if res.Status != http.StatusFound {
				t.Fatalf("status %d\n%s", res.Status, res.Body)
			}
			u, _ := user(t, app, "awdeorio")
			if u.Filename == awdeorioPhoto || !bytes.Equal(stored(t, app, u.Filename), img) {
				t.Errorf("photo %q, want the new upload", u.Filename)
			}
			if app.HasUpload(t, awdeorioPhoto) {
				t.Error("the old photo is still stored")
			}
		})

		t.Run("delete post", func(t *testing.T) {
			if postFile == "" {
				t.Skip("no post was uploaded")
			}
			c := awdeorio.with(t)
			thumbs, err := app.Store.PostsByOwner(context.Background(), "awdeorio")
			if err != nil {
				t.Fatal(err)
			}
			var id int64
			for _, p := range thumbs {
				if p.Filename == postFile {
					id = p.PostID
				}
			}
			if res := c.submit("/posts/", map[string]string{"operation": "delete", "postid": strconv.FormatInt(id, 10)}, nil); res.Status != http.StatusFound {
				t.Fatalf("status %d\n%s", res.Status, res.Body)
			}
			if app.HasUpload(t, postFile) {
				t.Error("the post's file is still stored")
			}
			if res := c.get("/uploads/" + postFile); res.Status != http.StatusNotFound {
				t.Errorf("the deleted post's picture: status %d, want 404", res.Status)
			}
		})

		t.Run("delete account", func(t *testing.T) {
			c := loggedIn(t, app, "jflinn")
			if res := c.submit("/accounts/", map[string]string{"operation": "delete"}, nil); res.Status != http.StatusFound {
				t.Fatalf("status %d\n%s", res.Status, res.Body)
			}
			if app.HasUpload(t, post2Image) {
				t.Error("jflinn's post picture is still stored")
			}
			if !app.HasUpload(t, post1Image) {
				t.Error("awdeorio's post picture went too")
			}
		})
	})
}

// TestUploadStoreDown stops the S3 server under a running site: uploads
// and pictures answer 503 with Retry-After and a message, and no row
// refers to a picture that was not stored.
func TestUploadStoreDown(t *testing.T) {
	t.Parallel()
	img := pngImage(t)
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		srv := testenv.StartS3(t)
		app := testenv.NewApp(t, backend, testenv.WithS3(srv))
		c := loggedIn(t, app, "awdeorio")
		if res := c.get("/uploads/" + post1Image); res.Status != http.StatusOK {
			t.Fatalf("before the outage: status %d", res.Status)
		}
		var rows bytes.Buffer
		if err := dbadmin.Dump(context.Background(), app.Store, &rows); err != nil {
			t.Fatal(err)
		}
		srv.Stop()

		check := func(what string, res response) {
			t.Helper()
			if res.Status != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
				!strings.Contains(pageText(res.Body), "try again") {
				t.Errorf("%s: status %d, Retry-After %q, want 503 with a message:\n%s",
					what, res.Status, res.Header.Get("Retry-After"), pageText(res.Body))
			}
		}
		check("picture", c.get("/uploads/"+post1Image))
		check("upload post", c.submit("/posts/?target=/", map[string]string{"operation": "create"}, &upload{"p.png", img}))
		check("new profile photo", c.submit("/accounts/", map[string]string{"operation": "edit_account", "fullname": "X", "email": "x@y.z"}, &upload{"p.png", img}))
		signUp := newClient(t, app)
		fields := signUpFields("newbie")
		fields["csrf_token"] = csrfToken(t, signUp.get("/accounts/create/").Body)
		check("sign up", signUp.post("/accounts/", fields, &upload{"p.png", img}))

		var after bytes.Buffer
		if err := dbadmin.Dump(context.Background(), app.Store, &after); err != nil {
			t.Fatal(err)
		}
		if after.String() != rows.String() {
			t.Errorf("rows changed while the store was down:\nbefore:\n%s\nafter:\n%s", rows.String(), after.String())
		}
		// Pages that show no file content still work.
		if res := c.get("/"); res.Status != http.StatusOK {
			t.Errorf("feed while the store is down: status %d", res.Status)
		}
	})
}
