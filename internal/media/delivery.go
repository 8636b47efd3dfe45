package media

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/insta485/insta485/internal/blob"
)

// The ways /uploads/<file> can hand over a picture's bytes once the app has
// checked the request (--uploads-delivery).
const (
	// DeliverProxy: the app reads the picture from the store and sends it.
	DeliverProxy = "proxy"
	// DeliverRedirect: a 302 to a short-lived presigned URL of the object
	// (S3 stores only); the browser fetches the bytes from the store.
	DeliverRedirect = "redirect"
	// DeliverXAccel: an empty answer with X-Accel-Redirect naming one of
	// the internal locations of deploy/nginx.conf, from which nginx sends
	// the file (a directory) or fetches it from the store (S3).
	DeliverXAccel = "x-accel-redirect"
)

// DefaultURLTTL and MaxURLTTL are the default and longest life of a
// presigned URL (--uploads-url-ttl). A URL works for anyone who holds it,
// session or not, until it expires: it must not outlive a logout by much.
const (
	DefaultURLTTL = 5 * time.Minute
	MaxURLTTL     = time.Hour
)

// The internal nginx locations of deploy/nginx.conf that X-Accel-Redirect
// answers name: a file of the upload directory, or a presigned object URL
// split as /_insta485/s3/SCHEME/HOST/PATH?QUERY.
const (
	XAccelDirPrefix = "/_insta485/uploads/"
	XAccelS3Prefix  = "/_insta485/s3/"
)

// uploadCacheControl is how long browsers may keep a picture: a name is
// random and never reused for other content, and private because only
// logged-in users may see it.
const uploadCacheControl = "private, max-age=31536000, immutable"

// UploadCacheControl is the Cache-Control of a picture's bytes, whoever
// sends them.
func UploadCacheControl() string { return uploadCacheControl }

// maxSigned bounds the presigned URLs a Delivery keeps (about 1 KB each).
const maxSigned = 20000

// Handoff is how to answer a request for a picture the app will not send
// itself.
type Handoff struct {
	// Redirect is a presigned URL of the picture, valid until Expires.
	Redirect string
	Expires  time.Time
	// XAccel is the X-Accel-Redirect value for nginx.
	XAccel string
}

// Delivery decides how pictures leave: it checks that one exists and says
// where its bytes come from. A presigned URL is reused for the first half
// of its life, so a feed page of ten pictures signs ten URLs once per half
// TTL rather than on every view, and a browser's cached redirect stays
// valid for as long as it may keep it.
type Delivery struct {
	mode   string
	ttl    time.Duration
	store  blob.Store
	s3     *blob.S3
	local  *blob.Local
	origin string // see ImageOrigin

	mu     sync.Mutex
	signed map[string]signedURL
}

type signedURL struct {
	url      *url.URL
	signedAt time.Time
}

// NewDelivery returns how store's pictures are delivered in mode (""
// means proxy), with presigned URLs living ttl (0: DefaultURLTTL). It
// refuses a mode the store cannot do: redirect needs an object store.
func NewDelivery(ctx context.Context, store blob.Store, mode string, ttl time.Duration) (*Delivery, error) {
	if ttl == 0 {
		ttl = DefaultURLTTL
	}
	if ttl < time.Second || ttl > MaxURLTTL {
		return nil, fmt.Errorf("presigned URL lifetime %s out of range: use between 1s and %s", ttl, MaxURLTTL)
	}
	d := &Delivery{mode: mode, ttl: ttl, store: store, signed: map[string]signedURL{}}
	switch s := store.(type) {
	case *blob.S3:
		d.s3 = s
	case *blob.Local:
		d.local = s
	}
	switch mode {
	case "", DeliverProxy:
		d.mode = DeliverProxy
	case DeliverRedirect:
		if d.s3 == nil {
			return nil, errors.New("--uploads-delivery redirect needs an object store (--uploads s3://BUCKET[/PREFIX]): a directory has no URL to redirect to; behind nginx use x-accel-redirect, or proxy")
		}
	case DeliverXAccel:
		if d.s3 == nil && d.local == nil {
			return nil, fmt.Errorf("--uploads-delivery x-accel-redirect needs a directory or an S3 store, not %T", store)
		}
	default:
		return nil, fmt.Errorf("unknown --uploads-delivery %q: use proxy, redirect or x-accel-redirect", mode)
	}
	if d.mode == DeliverRedirect {
		// Signing is local: this learns the host the store's URLs use
		// (the endpoint, or the bucket's virtual host on AWS).
		u, err := d.s3.Presign(ctx, "00000000000000000000000000000000.jpg", d.ttl, "")
		if err != nil {
			return nil, err
		}
		d.origin = u.Scheme + "://" + u.Host
	}
	return d, nil
}

// Mode is the delivery mode: DeliverProxy, DeliverRedirect or DeliverXAccel.
func (d *Delivery) Mode() string {
	if d == nil {
		return DeliverProxy
	}
	return d.mode
}

// ImageOrigin is the origin (scheme://host) pictures come from when the
// browser follows redirects to the store, for the pages' Content Security
// Policy; "" when pictures come from the site itself.
func (d *Delivery) ImageOrigin() string {
	if d == nil {
		return ""
	}
	return d.origin
}

// Handoff checks that the picture name (an upload or a width variant)
// exists, making an old upload's variants if needed as OpenUpload does,
// and says how to send it: blob.ErrNotFound when there is none. Only for the
// redirect and x-accel-redirect modes.
func (d *Delivery) Handoff(ctx context.Context, name string) (Handoff, error) {
	if !blob.ValidName(name) {
		return Handoff{}, blob.ErrNotFound
	}
	switch {
	case d.Mode() == DeliverProxy:
		return Handoff{}, errors.New("no handoff when pictures are proxied")
	case d.local != nil:
		name, err := d.localFile(ctx, name)
		if err != nil {
			return Handoff{}, err
		}
		return Handoff{XAccel: XAccelDirPrefix + name}, nil
	}
	u, expires, err := d.presigned(ctx, name)
	if err != nil {
		return Handoff{}, err
	}
	if d.mode == DeliverRedirect {
		return Handoff{Redirect: u.String(), Expires: expires}, nil
	}
	return Handoff{XAccel: XAccelS3Prefix + u.Scheme + "/" + u.Host + u.EscapedPath() + "?" + u.RawQuery, Expires: expires}, nil
}

// localFile returns the file of the upload directory that holds name's
// bytes: name itself, or the upload when a variant could not be made.
// Only regular files count, as Local.Open has it.
func (d *Delivery) localFile(ctx context.Context, name string) (string, error) {
	regular := func(n string) (bool, error) {
		fi, err := os.Lstat(filepath.Join(d.local.Dir, n))
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return err == nil && fi.Mode().IsRegular(), err
	}
	ok, err := regular(name)
	if err != nil || ok {
		return name, err
	}
	main, w := blob.MainName(name)
	if w == 0 {
		return "", blob.ErrNotFound
	}
	if err := d.makeVariants(ctx, name); err != nil {
		return "", err
	}
	if ok, err := regular(name); err != nil || ok {
		return name, err
	}
	return main, nil
}

// makeVariants has OpenUpload make the variants of an upload stored
// before insta485 made them.
func (d *Delivery) makeVariants(ctx context.Context, variant string) error {
	f, err := OpenUpload(ctx, d.store, variant)
	if err != nil {
		return err
	}
	return f.Close()
}

// presigned returns a URL of name's object and when it expires, reusing
// one signed less than half a TTL ago.
func (d *Delivery) presigned(ctx context.Context, name string) (*url.URL, time.Time, error) {
	now := time.Now()
	d.mu.Lock()
	s, ok := d.signed[name]
	d.mu.Unlock()
	if ok && now.Sub(s.signedAt) < d.ttl/2 {
		return s.url, s.signedAt.Add(d.ttl), nil
	}
	key, err := d.objectFor(ctx, name)
	if err != nil {
		return nil, time.Time{}, err
	}
	now = time.Now()
	u, err := d.s3.Presign(ctx, key, d.ttl, uploadCacheControl)
	if err != nil {
		return nil, time.Time{}, err
	}
	d.mu.Lock()
	if len(d.signed) >= maxSigned {
		d.sweep(now)
	}
	d.signed[name] = signedURL{url: u, signedAt: now}
	d.mu.Unlock()
	return u, now.Add(d.ttl), nil
}

// objectFor returns the object holding name's bytes: name itself, or the
// upload when a variant could not be made.
func (d *Delivery) objectFor(ctx context.Context, name string) (string, error) {
	err := d.s3.Stat(ctx, name)
	main, w := blob.MainName(name)
	if !errors.Is(err, blob.ErrNotFound) || w == 0 {
		return name, err
	}
	if err := d.makeVariants(ctx, name); err != nil {
		return "", err
	}
	if err := d.s3.Stat(ctx, name); !errors.Is(err, blob.ErrNotFound) {
		return name, err
	}
	return main, nil
}

// sweep drops the URLs no longer handed out, and everything if that is
// not enough: a full cache costs only fresh signatures. d.mu is held.
func (d *Delivery) sweep(now time.Time) {
	for k, s := range d.signed {
		if now.Sub(s.signedAt) >= d.ttl/2 {
			delete(d.signed, k)
		}
	}
	if len(d.signed) >= maxSigned {
		clear(d.signed)
	}
}

// Forget drops the URLs of upload name and its variants, which were just
// deleted: this instance stops handing them out at once (others within
// half a TTL, after which the store answers 404 to the URLs they gave).
func (d *Delivery) Forget(name string) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.signed, name)
	for _, w := range VariantWidths {
		delete(d.signed, blob.VariantName(name, w))
	}
}
