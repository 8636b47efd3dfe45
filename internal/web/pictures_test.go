package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/testenv"
)

// TestPicturesHoldTheirPlace: an upload's size and colour are recorded,
// and the feed, post and user pages give each picture its width, height
// and placeholder classes, with loading="lazy" below the first screen.
func TestPicturesHoldTheirPlace(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		ctx := context.Background()
		app := testenv.NewApp(t, backend)
		c := loggedIn(t, app, "awdeorio")
		img := image.NewRGBA(image.Rect(0, 0, 1600, 900))
		for i := range img.Pix {
			img.Pix[i] = []byte{0x20, 0x90, 0xf0, 0xff}[i%4]
		}
		var data bytes.Buffer
		if err := png.Encode(&data, img); err != nil {
			t.Fatal(err)
		}
		if res := c.submit("/posts/?target=/users/awdeorio/", map[string]string{"operation": "create", "create_post": "upload new post"},
			&upload{"wide.png", data.Bytes()}); res.Status != http.StatusFound {
			t.Fatalf("upload: %d %s", res.Status, res.Body)
		}
		posts, err := app.Store.PostsByOwner(ctx, "awdeorio")
		if err != nil || len(posts) == 0 {
			t.Fatal(posts, err)
		}
		mine := posts[0] // newest first
		pics, err := app.Store.Pictures(ctx, []string{mine.Filename})
		if p := pics[mine.Filename]; err != nil || p.Width != 1080 || p.Height != 608 || p.Color != "#2090f0" {
			t.Fatalf("the upload's row is %+v (%v); want 1080×608 #2090f0", p, err)
		}

		imgTagOf := func(body, name string) map[string]string {
			t.Helper()
			for _, tag := range imgTag.FindAllString(body, -1) {
				a := attrs(strings.TrimSuffix(strings.TrimPrefix(tag, "<"), ">"))
				if a["src"] == "/uploads/"+name {
					return a
				}
			}
			t.Fatalf("no img of %s in the page", name)
			return nil
		}
		for _, c2 := range []struct {
			page, name, class string
			w, h              int
			lazy              bool
		}{
			{"/", mine.Filename, "post-image ph pr2 pg9 pbf", 1080, 608, false}, // the newest: first on the feed
			{"/", post3Image, "post-image ph pr8 pgb pba", 640, 640, true},
			{"/", post1Image, "post-image ph pr2 pg3 pb5", 640, 640, true},
			{fmt.Sprintf("/posts/%d/", mine.PostID), mine.Filename, "post-image ph pr2 pg9 pbf", 1080, 608, false},
			{"/posts/1/", post1Image, "post-image ph pr2 pg3 pb5", 640, 640, false},
			{"/users/awdeorio/", mine.Filename, "ph pr2 pg9 pbf", 1080, 608, false},
			{"/users/awdeorio/", post3Image, "ph pr8 pgb pba", 640, 640, false},
			{"/users/awdeorio/", post1Image, "ph pr2 pg3 pb5", 640, 640, false}, // the first row of three
		} {
			res := c.get(c2.page)
			if res.Status != http.StatusOK {
				t.Fatalf("GET %s: %d", c2.page, res.Status)
			}
			a := imgTagOf(res.Body, c2.name)
			_, lazy := a["loading"]
			if a["class"] != c2.class || a["width"] != fmt.Sprint(c2.w) || a["height"] != fmt.Sprint(c2.h) || lazy != c2.lazy || (lazy && a["loading"] != "lazy") {
				t.Errorf("%s: img of %s has %v; want class %q, %d×%d, lazy %v", c2.page, c2.name, a, c2.class, c2.w, c2.h, c2.lazy)
			}
		}

		// Deleting the post forgets the picture with its file.
		if res := c.submit("/posts/?target=/users/awdeorio/", map[string]string{"operation": "delete", "postid": fmt.Sprint(mine.PostID), "delete": "delete this post"}, nil); res.Status != http.StatusFound {
			t.Fatalf("delete: %d %s", res.Status, res.Body)
		}
		if pics, err := app.Store.Pictures(ctx, []string{mine.Filename}); err != nil || len(pics) != 0 {
			t.Errorf("after deleting the post its picture's row is %v (%v); want none", pics, err)
		}
	})
}

// A picture without a row (stored by an older version) is shown as
// before: no size, no placeholder, still lazy below the first screen.
func TestPicturesWithoutRowsStillShow(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		if err := app.Store.DeletePictures(context.Background(), post3Image); err != nil {
			t.Fatal(err)
		}
		res := loggedIn(t, app, "awdeorio").get("/")
		for _, tag := range imgTag.FindAllString(res.Body, -1) {
			a := attrs(strings.TrimSuffix(strings.TrimPrefix(tag, "<"), ">"))
			if a["src"] != "/uploads/"+post3Image {
				continue
			}
			if _, ok := a["width"]; ok || a["class"] != "post-image" {
				t.Errorf("img without a row: %v; want class post-image and no size", a)
			}
			return
		}
		t.Fatalf("no img of post 3 on the feed: %d", res.Status)
	})
}
