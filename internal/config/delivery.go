package config

import (
	"errors"
	"fmt"
	"time"

	"github.com/insta485/insta485/internal/blob"
	"github.com/insta485/insta485/internal/media"
)

// minUploadsURLTTL is the shortest presigned URL life accepted: a
// browser that follows a redirect a few seconds late must still get the
// picture.
const minUploadsURLTTL = 10 * time.Second

// CheckUploadsDelivery refuses a delivery mode the upload store cannot do
// and a URL lifetime out of range, before anything starts.
func (c *Config) CheckUploadsDelivery() error {
	switch c.UploadsDelivery {
	case media.DeliverProxy, media.DeliverXAccel:
	case media.DeliverRedirect:
		if !blob.IsS3(c.Uploads) {
			return errors.New("--uploads-delivery redirect needs an object store (--uploads s3://BUCKET[/PREFIX]): a directory has no URL to redirect to; behind nginx use x-accel-redirect, or proxy")
		}
	default:
		return fmt.Errorf("unknown --uploads-delivery %q: use proxy, redirect or x-accel-redirect", c.UploadsDelivery)
	}
	if c.UploadsURLTTL < minUploadsURLTTL || c.UploadsURLTTL > media.MaxURLTTL {
		return fmt.Errorf("--uploads-url-ttl %s out of range: use between %s and %s (a presigned URL works for anyone holding it until it expires)",
			c.UploadsURLTTL, minUploadsURLTTL, media.MaxURLTTL)
	}
	return nil
}
