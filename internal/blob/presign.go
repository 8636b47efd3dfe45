package blob

import (
	"context"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
)

// Stat reports whether the object name exists: ErrNotFound when it does
// not. One HEAD request, no bytes.
func (s *S3) Stat(ctx context.Context, name string) error {
	if !ValidName(name) {
		return ErrNotFound
	}
	if _, err := s.client.StatObject(ctx, s.bucket, s.prefix+name, minio.StatObjectOptions{}); err != nil {
		return s.fail("look up "+name, err)
	}
	return nil
}

// Presign returns a URL that fetches the object name without credentials
// until ttl has passed. Signing is local (an HMAC over the request): the
// store is not asked, so the object need not exist. The answer to it says
// cacheControl, whatever the object's own metadata.
func (s *S3) Presign(ctx context.Context, name string, ttl time.Duration, cacheControl string) (*url.URL, error) {
	params := url.Values{}
	if cacheControl != "" {
		params.Set("response-cache-control", cacheControl)
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, s.prefix+name, ttl, params)
	if err != nil {
		return nil, s.fail("sign a URL for "+name, err)
	}
	return u, nil
}
