package config

import (
	"strings"
	"testing"
	"time"
)

// TestUploadsDelivery: proxying is the default for every store, the mode
// and URL lifetime come from flags or the environment, and a mode the
// store cannot do or a lifetime out of range is refused with a message
// naming the fix.
func TestUploadsDelivery(t *testing.T) {
	c := parse(t)
	if c.UploadsDelivery != "proxy" || c.UploadsURLTTL != 5*time.Minute {
		t.Errorf("defaults: delivery %q, URL TTL %s; want proxy and 5m", c.UploadsDelivery, c.UploadsURLTTL)
	}
	if err := c.CheckUploadsDelivery(); err != nil {
		t.Errorf("defaults refused: %v", err)
	}
	t.Setenv("INSTA485_UPLOADS_DELIVERY", "x-accel-redirect")
	t.Setenv("INSTA485_UPLOADS_URL_TTL", "90s")
	if c := parse(t); c.UploadsDelivery != "x-accel-redirect" || c.UploadsURLTTL != 90*time.Second {
		t.Errorf("environment not used: delivery %q, URL TTL %s", c.UploadsDelivery, c.UploadsURLTTL)
	}
	for _, tc := range []struct {
		args    []string
		wantErr string // "" when accepted
	}{
		{[]string{"--uploads-delivery", "proxy"}, ""},
		{[]string{"--uploads-delivery", "x-accel-redirect"}, ""},
		{[]string{"--uploads-delivery", "x-accel-redirect", "--uploads", "s3://bucket/site"}, ""},
		{[]string{"--uploads-delivery", "redirect", "--uploads", "s3://bucket/site", "--uploads-url-ttl", "1h"}, ""},
		{[]string{"--uploads-delivery", "redirect", "--uploads", "s3://bucket", "--uploads-url-ttl", "10s"}, ""},
		{[]string{"--uploads-delivery", "redirect", "--uploads", "var/uploads"}, "needs an object store"},
		{[]string{"--uploads-delivery", "Redirect", "--uploads", "s3://bucket"}, "use proxy, redirect or x-accel-redirect"},
		{[]string{"--uploads-delivery", "", "--uploads", "s3://bucket"}, "use proxy, redirect or x-accel-redirect"},
		{[]string{"--uploads-delivery", "redirect", "--uploads", "s3://bucket", "--uploads-url-ttl", "61m"}, "between 10s and 1h"},
		{[]string{"--uploads-delivery", "redirect", "--uploads", "s3://bucket", "--uploads-url-ttl", "5s"}, "between 10s and 1h"},
	} {
		err := parse(t, tc.args...).CheckUploadsDelivery()
		if tc.wantErr == "" && err != nil {
			t.Errorf("%v: %v", tc.args, err)
		}
		if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%v: error %v, want one saying %q", tc.args, err, tc.wantErr)
		}
	}
}
