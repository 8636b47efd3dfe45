package media_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/blob"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/testenv"
)

// get fetches a presigned URL without credentials.
func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// TestDeliveryModesFitTheStore: redirect needs an object store, and
// neither an unknown mode nor a URL living over an hour is accepted.
func TestDeliveryModesFitTheStore(t *testing.T) {
	ctx := context.Background()
	local, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s3 := testenv.NewS3Bucket(t).Open(t)
	for _, tc := range []struct {
		store   blob.Store
		mode    string
		ttl     time.Duration
		wantErr string
	}{
		{local, "", 0, ""},
		{local, media.DeliverXAccel, 0, ""},
		{local, media.DeliverRedirect, 0, "needs an object store"},
		{s3, media.DeliverRedirect, time.Hour, ""},
		{s3, media.DeliverXAccel, 0, ""},
		{s3, "s3", 0, "unknown --uploads-delivery"},
		{s3, media.DeliverRedirect, 2 * time.Hour, "out of range"},
	} {
		d, err := media.NewDelivery(ctx, tc.store, tc.mode, tc.ttl)
		if tc.wantErr == "" && (err != nil || (tc.mode != "" && d.Mode() != tc.mode)) {
			t.Errorf("%T %q: %v", tc.store, tc.mode, err)
		}
		if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%T %q %s: error %v, want one saying %q", tc.store, tc.mode, tc.ttl, err, tc.wantErr)
		}
	}
}

// TestPresignedURLsExpire: a redirect's URL fetches the picture without
// credentials, is reused while young, stops working once its lifetime is
// over (the S3 server refuses it), and is then replaced by a new one.
func TestPresignedURLsExpire(t *testing.T) {
	ctx := context.Background()
	srv := testenv.NewS3Bucket(t)
	store := srv.Open(t)
	name := blob.NewName(".jpg")
	want := []byte("picture bytes")
	if err := store.Put(ctx, name, bytes.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	const ttl = 2 * time.Second
	d, err := media.NewDelivery(ctx, store, media.DeliverRedirect, ttl)
	if err != nil {
		t.Fatal(err)
	}
	if o := d.ImageOrigin(); o != srv.Endpoint {
		t.Errorf("ImageOrigin %q, want the endpoint %s", o, srv.Endpoint)
	}
	first, err := d.Handoff(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(first.Expires); left <= 0 || left > ttl {
		t.Errorf("expires in %s, want within %s", left, ttl)
	}
	if status, b := get(t, first.Redirect); status != http.StatusOK || !bytes.Equal(b, want) {
		t.Fatalf("fresh URL: status %d, %q", status, b)
	}
	res, err := http.Get(first.Redirect)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if cc := res.Header.Get("Cache-Control"); cc != media.UploadCacheControl() {
		t.Errorf("the store answers with Cache-Control %q, want %q", cc, media.UploadCacheControl())
	}
	time.Sleep(time.Until(first.Expires) + time.Second)
	if status, b := get(t, first.Redirect); status == http.StatusOK {
		t.Errorf("the URL still works after it expired: %q", b)
	}
	again, err := d.Handoff(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if again.Redirect == first.Redirect {
		t.Fatal("an expired URL was handed out again")
	}
	if status, b := get(t, again.Redirect); status != http.StatusOK || !bytes.Equal(b, want) {
		t.Errorf("new URL: status %d, %q", status, b)
	}

	// Within half its life a URL is reused; a deleted picture is not
	// handed out once forgotten.
	d, err = media.NewDelivery(ctx, store, media.DeliverRedirect, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a, err := d.Handoff(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := d.Handoff(ctx, name); err != nil || b.Redirect != a.Redirect {
		t.Errorf("a second handoff signed again: %v", err)
	}
	if err := media.Remove(ctx, store, name); err != nil {
		t.Fatal(err)
	}
	d.Forget(name)
	if _, err := d.Handoff(ctx, name); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("a deleted picture: %v, want ErrNotFound", err)
	}
}
