package blob

// The S3 client is minio-go v7 rather than the AWS SDK (aws-sdk-go-v2):
// it is one small module instead of a dozen, it speaks to every
// S3-compatible server (AWS S3, MinIO, versitygw, Ceph RGW, R2, …) with
// its defaults, where the AWS SDK since s3 v1.73 sends checksums most of
// them reject unless told "when required", and its objects are seekable
// (io.ReadSeeker), which is what http.ServeContent needs to answer range
// requests by asking the store for just that range. It reads the standard
// AWS environment variables and credential files itself.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/url"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// S3Config says where an S3 store is and how to sign in to it.
type S3Config struct {
	Bucket string
	Prefix string // key prefix, "" or ending in "/"
	// Endpoint is the server's URL (http://host:port); empty for AWS S3.
	// With an endpoint, buckets are addressed path-style
	// (http://host:port/bucket/key), which every S3-compatible server
	// understands without wildcard DNS.
	Endpoint string
	Region   string // empty: us-east-1 with an endpoint, looked up on AWS
	// AccessKey and SecretKey (and SessionToken) sign requests. Empty: the
	// AWS credential files (Profile, or AWS_PROFILE, or "default"), then
	// an EC2/ECS instance role.
	AccessKey, SecretKey, SessionToken string
	Profile                            string
	CredentialsFile                    string // empty: ~/.aws/credentials and ~/.aws/config
}

// S3ConfigFromEnv reads spec (s3://BUCKET[/PREFIX]) and the standard AWS
// settings through getenv: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL,
// AWS_REGION or AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, AWS_PROFILE and
// AWS_SHARED_CREDENTIALS_FILE.
func S3ConfigFromEnv(spec string, getenv func(string) string) (S3Config, error) {
	rest, ok := strings.CutPrefix(spec, "s3://")
	if !ok {
		return S3Config{}, fmt.Errorf("upload store %q is not an s3://BUCKET[/PREFIX] address", spec)
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if err := s3utils.CheckValidBucketName(bucket); err != nil {
		return S3Config{}, fmt.Errorf("upload store %q: bad bucket name %q (%v): use s3://BUCKET[/PREFIX]", spec, bucket, err)
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	cfg := S3Config{
		Bucket:          bucket,
		Prefix:          prefix,
		Endpoint:        firstSet(getenv, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
		Region:          firstSet(getenv, "AWS_REGION", "AWS_DEFAULT_REGION"),
		AccessKey:       getenv("AWS_ACCESS_KEY_ID"),
		SecretKey:       getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    getenv("AWS_SESSION_TOKEN"),
		Profile:         getenv("AWS_PROFILE"),
		CredentialsFile: getenv("AWS_SHARED_CREDENTIALS_FILE"),
	}
	if (cfg.AccessKey == "") != (cfg.SecretKey == "") {
		return S3Config{}, errors.New("only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set: set both, or neither to use the AWS credential files")
	}
	return cfg, nil
}

func firstSet(getenv func(string) string, keys ...string) string {
	for _, k := range keys {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return ""
}

// S3 keeps uploads as objects named PREFIX+name in a bucket.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string
	where  string // the endpoint and bucket, for messages
}

// NewS3 connects to the bucket cfg names and checks that it exists, so a
// wrong endpoint, bucket or key shows at startup rather than at the first
// upload.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	host, secure, lookup := "s3.amazonaws.com", true, minio.BucketLookupAuto
	where := "AWS S3"
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("S3 endpoint %q is not a URL like https://host[:port] (set AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL)", cfg.Endpoint)
		}
		host, secure, lookup, where = u.Host, u.Scheme == "https", minio.BucketLookupPath, u.Scheme+"://"+u.Host
	}
	region := cfg.Region
	if region == "" && cfg.Endpoint != "" {
		region = "us-east-1"
	}
	var creds *credentials.Credentials
	if cfg.AccessKey != "" {
		creds = credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken)
	} else {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.FileAWSCredentials{Filename: cfg.CredentialsFile, Profile: cfg.Profile},
			&credentials.IAM{},
		})
	}
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	// A server that accepts the connection and then says nothing must not
	// hold a request for ever.
	tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 30 * time.Second
	client, err := minio.New(host, &minio.Options{
		Creds: creds, Secure: secure, Region: region, BucketLookup: lookup, Transport: tr,
		// A few quick retries ride out a blip; a store that is down must
		// answer the user soon (503), not after minio-go's ten.
		MaxRetries: 3,
	})
	if err != nil {
		return nil, fmt.Errorf("S3 client for %s: %w", where, err)
	}
	s := &S3{client: client, bucket: cfg.Bucket, prefix: cfg.Prefix, where: where + " bucket " + cfg.Bucket}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ok, err := client.BucketExists(cctx, cfg.Bucket)
	if err != nil {
		err = s.fail("check the bucket", err)
		if errors.Is(err, ErrUnavailable) {
			err = fmt.Errorf("%w (is the object store running, and is AWS_ENDPOINT_URL_S3 right?)", err)
		}
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s does not exist: create it (for example `aws s3 mb s3://%s`) or fix --uploads", s.where, cfg.Bucket)
	}
	return s, nil
}

// fail turns a minio-go error into what the Store interface promises:
// ErrNotFound for a missing object, ErrUnavailable (wrapped with the
// cause) when the server is unreachable, overloaded or failing, and an
// error naming the fix when it refuses the credentials.
func (s *S3) fail(op string, err error) error {
	if errors.Is(err, context.Canceled) {
		// The caller gave up (a client hung up): not the store's fault.
		return fmt.Errorf("%s on %s: %w", op, s.where, err)
	}
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "NoSuchKey":
		return ErrNotFound
	case "NoSuchBucket":
		return fmt.Errorf("%w: %s does not exist any more: create it or fix --uploads", ErrUnavailable, s.where)
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken":
		return fmt.Errorf("%s on %s: the store refused the credentials (%s): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the bucket's policy", op, s.where, resp.Code)
	case "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout":
		return fmt.Errorf("%w: %s on %s: %v", ErrUnavailable, op, s.where, err)
	}
	if resp.StatusCode >= 500 || unreachable(err) {
		return fmt.Errorf("%w: %s on %s: %v", ErrUnavailable, op, s.where, err)
	}
	return fmt.Errorf("%s on %s: %w", op, s.where, err)
}

// unreachable reports a failure to talk to the server at all.
func unreachable(err error) bool {
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded)
}

// Put uploads r as one object. S3 makes an object visible only once it
// is complete, so readers never see half of it. A reader of unknown size
// (an upload being received) is first spooled to a temporary file: the
// upload limit is checked before anything is sent, a failed upload never
// reaches the store, and the object goes in one PUT of known length
// instead of a multipart upload that could be left behind half done.
func (s *S3) Put(ctx context.Context, name string, r io.Reader) error {
	if !ValidName(name) {
		return fmt.Errorf("refusing to store %q: not an upload name", name)
	}
	body, size, cleanup, err := sized(r)
	if err != nil {
		return fmt.Errorf("store upload: %w", err)
	}
	defer cleanup()
	opts := minio.PutObjectOptions{ContentType: mime.TypeByExtension(path.Ext(name))}
	if _, err := s.client.PutObject(ctx, s.bucket, s.prefix+name, body, size, opts); err != nil {
		return s.fail("store "+name, err)
	}
	return nil
}

// sized returns r with its length: as it is when it can seek (a file being
// copied), otherwise spooled to a temporary file, removed by cleanup.
func sized(r io.Reader) (io.Reader, int64, func(), error) {
	if rs, ok := r.(io.ReadSeeker); ok {
		cur, err := rs.Seek(0, io.SeekCurrent)
		if err == nil {
			end, err := rs.Seek(0, io.SeekEnd)
			if err == nil {
				if _, err := rs.Seek(cur, io.SeekStart); err == nil {
					return rs, end - cur, func() {}, nil
				}
			}
		}
	}
	tmp, err := os.CreateTemp("", "insta485-upload-*")
	if err != nil {
		return nil, 0, nil, err
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	n, err := io.Copy(tmp, r)
	if err == nil {
		_, err = tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	return tmp, n, cleanup, nil
}

type s3File struct {
	*minio.Object
	info minio.ObjectInfo
}

func (f s3File) ModTime() time.Time { return f.info.LastModified }
func (f s3File) ETag() string       { return strings.Trim(f.info.ETag, `"`) }

// Open returns the object; reads and seeks fetch ranges of it as needed.
func (s *S3) Open(ctx context.Context, name string) (File, error) {
	if !ValidName(name) {
		return nil, ErrNotFound
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+name, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.fail("read "+name, err)
	}
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, s.fail("read "+name, err)
	}
	return s3File{obj, info}, nil
}

// Delete removes the object; S3 answers success for one that is not there.
func (s *S3) Delete(ctx context.Context, name string) error {
	if !ValidName(name) {
		return nil
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.prefix+name, minio.RemoveObjectOptions{}); err != nil {
		if errors.Is(s.fail("delete "+name, err), ErrNotFound) {
			return nil
		}
		return s.fail("delete "+name, err)
	}
	return nil
}

// Clear removes the objects under the prefix named like uploads. Other
// objects stay, like the other files of a directory: the bucket may be
// shared.
func (s *S3) Clear(ctx context.Context) error {
	names, err := Names(ctx, s)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := s.Delete(ctx, n); err != nil {
			return fmt.Errorf("clear uploads: %w", err)
		}
	}
	return nil
}

// List lists the objects directly under the prefix (not in "folders"
// below it) named like uploads.
func (s *S3) List(ctx context.Context, fn func(name string) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing when fn fails
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix}) {
		if obj.Err != nil {
			return s.fail("list the uploads", obj.Err)
		}
		name := strings.TrimPrefix(obj.Key, s.prefix)
		if !ValidName(name) {
			continue
		}
		if err := fn(name); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// String names the bucket and server, never the credentials.
func (s *S3) String() string { return s.where + " prefix " + s.prefix }
