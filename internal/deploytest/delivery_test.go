package deploytest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/blob"
	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/testenv"
)

// TestUploadDeliveryThroughNginx runs every --uploads-delivery mode the
// way it is deployed: three app servers behind deploy/nginx.conf, on a
// directory and on a real S3 server. Whatever the mode, a visitor gets the
// app's 403 and an unknown picture the app's 404, with nothing that leads
// to the bytes; a logged-in user gets exactly the stored picture (after
// following the redirect, in redirect mode), with the headers proxying
// gives it, and in the offload modes no app server sends picture bytes.
func TestUploadDeliveryThroughNginx(t *testing.T) {
	b := testenv.NewBrowser(t)
	for _, tc := range []struct{ store, mode string }{
		{"local", media.DeliverProxy},
		{"local", media.DeliverXAccel},
		{"s3", media.DeliverProxy},
		{"s3", media.DeliverRedirect},
		{"s3", media.DeliverXAccel},
	} {
		t.Run(tc.store+"/"+tc.mode, func(t *testing.T) {
			testDelivery(t, b, tc.store, tc.mode)
		})
	}
}

func testDelivery(t *testing.T, b *testenv.Browser, store, mode string) {
	const ttl = 2 * time.Minute
	cl := newCluster(t, 3, store, "INSTA485_UPLOADS_DELIVERY="+mode, "INSTA485_UPLOADS_URL_TTL="+ttl.String())
	_, posts := dbadmin.SampleImages()
	picture := posts[0]
	variant := blob.VariantName(picture, 320)
	want := cl.stored(t, picture)

	visitor := newClient(t, cl.URL)
	user := newClient(t, cl.URL)
	user.login("awdeorio", "chickens")
	leaks := func(res response) bool {
		return res.Location != "" || res.Header.Get("X-Accel-Redirect") != "" || strings.Contains(res.Body, "X-Amz-")
	}
	// Several times: each request goes to another app server.
	for range len(cl.instances) {
		if res := visitor.get("/uploads/"+picture, http.StatusForbidden); leaks(res) || !contains(res.Body, "Log in to see pictures") {
			t.Errorf("visitor: not the app's 403, or it leads to the picture: %v\n%.300s", res.Header, res.Body)
		}
		for _, name := range []string{blob.NewName(".jpg"), blob.VariantName(blob.NewName(".jpg"), 640), "x.jpg"} {
			if res := user.get("/uploads/"+name, http.StatusNotFound); leaks(res) || !contains(res.Body, "There is no such picture") {
				t.Errorf("/uploads/%s: not the app's 404: %v\n%.300s", name, res.Header, res.Body)
			}
		}
		for _, name := range []string{picture, variant} {
			var res response
			if mode == media.DeliverRedirect {
				res = user.get("/uploads/"+name, http.StatusFound)
				checkPresigned(t, res, ttl)
				res = fetch(t, res.Location, nil)
			} else {
				res = user.get("/uploads/"+name, http.StatusOK)
				checkPictureHeaders(t, res)
			}
			if !bytes.Equal([]byte(res.Body), cl.stored(t, name)) {
				t.Errorf("%s: got %d bytes, not the %d stored", name, len(res.Body), len(cl.stored(t, name)))
			}
		}
	}

	// In a browser the feed's pictures show: the pages' Content Security
	// Policy lets them come from where the mode sends them.
	tab := b.NewTab(t, 60*time.Second)
	if err := tab.SetCookie(cl.URL, auth.CookieName, user.cookie(auth.CookieName)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab.Ctx, chromedp.Navigate(cl.URL+"/")); err != nil {
		t.Fatalf("open the feed: %v", err)
	}
	testenv.Wait[bool](t, tab, "the live feed and its first picture", `document.querySelector('#feed[data-live]:not([aria-busy])') !== null &&
		[...document.querySelectorAll('#feed img.post-image')].some(i => i.complete && i.naturalWidth > 0)`)
	if broken := testenv.Eval[int](t, tab, `[...document.images].filter(i => i.complete && i.naturalWidth === 0).length`); broken > 0 {
		t.Errorf("%d pictures of the feed did not load", broken)
	}
	tab.CheckConsole(t, nil)

	// nginx's internal locations are not for clients: no way around the
	// app's check, and no open proxy.
	for _, path := range []string{media.XAccelDirPrefix + picture, media.XAccelS3Prefix + "http/127.0.0.1:1/bucket/" + picture} {
		if res := user.get(path, http.StatusNotFound); res.Body == string(want) {
			t.Errorf("%s served the picture", path)
		}
	}

	if mode != media.DeliverRedirect {
		// Validators and ranges, answered by nginx or the store in
		// x-accel-redirect mode.
		res := user.get("/uploads/"+picture, http.StatusOK)
		etag := res.Header.Get("ETag")
		if etag == "" {
			t.Error("no ETag")
		}
		req, _ := http.NewRequest(http.MethodGet, cl.URL+"/uploads/"+picture, nil)
		req.Header.Set("If-None-Match", etag)
		if res := user.do(req); res.Status != http.StatusNotModified {
			t.Errorf("If-None-Match its ETag: status %d, want 304", res.Status)
		}
		req, _ = http.NewRequest(http.MethodGet, cl.URL+"/uploads/"+picture, nil)
		req.Header.Set("Range", "bytes=100-199")
		if res := user.do(req); res.Status != http.StatusPartialContent || res.Body != string(want[100:200]) {
			t.Errorf("range: status %d, %d bytes; want 206 and bytes 100-199", res.Status, len(res.Body))
		}
		req, _ = http.NewRequest(http.MethodHead, cl.URL+"/uploads/"+picture, nil)
		if res := user.do(req); res.Status != http.StatusOK || res.Header.Get("Content-Length") != strconv.Itoa(len(want)) {
			t.Errorf("HEAD: status %d, Content-Length %q; want 200 and %d", res.Status, res.Header.Get("Content-Length"), len(want))
		}
	}

	// Who sent the pictures: the app servers only when proxying.
	sent := 0
	for _, in := range cl.instances {
		sent += in.uploadBytes(t)
	}
	if (sent > 0) != (mode == media.DeliverProxy) {
		t.Errorf("the app servers sent %d bytes of pictures in %s mode", sent, mode)
	}
}

// checkPictureHeaders checks what a picture comes with, whoever sends it.
func checkPictureHeaders(t *testing.T, res response) {
	t.Helper()
	h := res.Header
	if h.Get("Cache-Control") != media.UploadCacheControl() || h.Get("X-Content-Type-Options") != "nosniff" ||
		h.Get("Content-Type") != "image/jpeg" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") ||
		h.Get("X-Accel-Redirect") != "" || len(h.Values("Cache-Control")) != 1 {
		t.Errorf("picture headers %v: want one Cache-Control %q, nosniff, image/jpeg, a sandbox CSP and no X-Accel-Redirect", h, media.UploadCacheControl())
	}
}

// checkPresigned checks a redirect to a presigned URL: one that expires
// within ttl, which the browser keeps no longer than it works.
func checkPresigned(t *testing.T, res response, ttl time.Duration) {
	t.Helper()
	if !strings.Contains(res.Location, "X-Amz-Signature=") || !strings.Contains(res.Location, "X-Amz-Expires=") {
		t.Fatalf("Location %q is not a presigned URL", res.Location)
	}
	exp := res.Location[strings.Index(res.Location, "X-Amz-Expires=")+len("X-Amz-Expires="):]
	exp, _, _ = strings.Cut(exp, "&")
	if n, err := strconv.Atoi(exp); err != nil || time.Duration(n)*time.Second > ttl {
		t.Errorf("X-Amz-Expires=%s, want at most %s", exp, ttl)
	}
	cc := res.Header.Get("Cache-Control")
	age, err := strconv.Atoi(strings.TrimPrefix(cc, "private, max-age="))
	if !strings.HasPrefix(cc, "private, max-age=") || err != nil || age <= 0 || time.Duration(age)*time.Second > ttl {
		t.Errorf("Cache-Control %q: want private, for at most %s", cc, ttl)
	}
}

// fetch GETs a URL outside the site (a presigned one), with no cookies.
func fetch(t *testing.T, url string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, %v\n%.300s", url, res.StatusCode, err, b)
	}
	return response{Status: res.StatusCode, Body: string(b), Header: res.Header}
}

// stored returns the bytes the cluster's upload store holds under name.
func (c *cluster) stored(t *testing.T, name string) []byte {
	t.Helper()
	env := map[string]string{}
	for _, kv := range c.env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if !blob.IsS3(env["INSTA485_UPLOADS"]) {
		b, err := os.ReadFile(filepath.Join(env["INSTA485_UPLOADS"], name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ctx := context.Background()
	st, err := blob.OpenEnv(ctx, env["INSTA485_UPLOADS"], func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	f, err := st.Open(ctx, name)
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

// uploadBytes is how many bytes of pictures the instance has sent (in its
// 200 and 206 answers to /uploads/), from its request log.
func (in *instance) uploadBytes(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(in.logPath)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range bytes.Split(b, []byte("\n")) {
		var l struct {
			Msg, Route    string
			Status, Bytes int
		}
		if json.Unmarshal(line, &l) == nil && l.Msg == "request" && l.Route == "GET /uploads/{filename}" &&
			(l.Status == http.StatusOK || l.Status == http.StatusPartialContent) {
			n += l.Bytes
		}
	}
	return n
}
