package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/config"
	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/storage"
)

// dbFlags are the settings the db commands use.
var dbFlags = []string{"database", "db-password", "db-password-file", "db-sslmode", "db-sslrootcert", "db-connect-timeout", "db-statement-timeout", "db-prepared-statements", "uploads"}

func db(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const dbUsage = "Usage: insta485 db (create|destroy|reset|dump|random|migrate|copy|backup|restore) [flags]"
	if len(args) == 0 {
		fmt.Fprintln(stderr, dbUsage)
		return usageError{"no db command given"}
	}
	verb := args[0]
	fs := flag.NewFlagSet("insta485 db "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config.Config
	cfg.Register(fs, dbFlags...)
	var bulk dbadmin.Bulk
	var images int
	var seed int64
	if verb == "random" {
		fs.IntVar(&bulk.Users, "users", 0, "generated users to add")
		fs.IntVar(&bulk.Posts, "posts", 100, "generated posts to add")
		fs.IntVar(&bulk.Follows, "follows", 0, "follow edges to add (pairs that exist are skipped)")
		fs.IntVar(&bulk.Likes, "likes", 0, "likes to add (pairs that exist are skipped)")
		fs.IntVar(&bulk.Comments, "comments", 0, "comments to add")
		fs.IntVar(&bulk.HeavyFollows, "heavy-follows", 0, "the first generated user follows this many accounts (a heavy reader for benchmarks)")
		fs.IntVar(&images, "images", 100, "distinct images to generate; posts beyond this share them")
		fs.Int64Var(&seed, "seed", time.Now().UnixNano(), "seed for repeatable data")
	}
	var from, uploadsFrom string
	if verb == "copy" {
		fs.StringVar(&from, "from", "", "the SQLite database file to copy from (required)")
		fs.StringVar(&uploadsFrom, "uploads-from", "", "the old site's upload directory (or s3://BUCKET[/PREFIX]): copy the files the rows name into the upload store")
	}
	var to string
	var verifyOnly bool
	switch verb {
	case "backup":
		fs.StringVar(&to, "to", "", "the new directory to write the backup into (required)")
	case "restore":
		fs.StringVar(&from, "from", "", "the directory db backup wrote (required)")
		fs.BoolVar(&verifyOnly, "verify", false, "only check the backup's checksums; restore nothing")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: insta485 db %s [flags]\n\nFlags:\n", verb)
		fs.PrintDefaults()
	}
	switch verb {
	case "create", "destroy", "reset", "dump", "random", "migrate", "copy", "backup", "restore":
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, dbUsage)
		return nil
	default:
		fmt.Fprintln(stderr, dbUsage)
		return usageError{fmt.Sprintf("unknown db command %q", verb)}
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("db %s takes no arguments, got %q", verb, fs.Args())}
	}
	if bulk.Users < 0 || bulk.Posts < 0 || bulk.Follows < 0 || bulk.Likes < 0 || bulk.Comments < 0 || bulk.HeavyFollows < 0 || (verb == "random" && images < 1) {
		return usageError{"counts must not be negative and --images must be at least 1"}
	}
	opts, err := cfg.Storage()
	if err != nil {
		return err
	}
	if verb == "restore" && verifyOnly {
		return restoreFrom(ctx, opts, nil, from, true, stdout, stderr)
	}
	uploads, err := blob.Open(ctx, cfg.Uploads)
	if err != nil {
		return err
	}

	switch verb {
	case "backup":
		return backupTo(ctx, opts, uploads, to, stdout, stderr)
	case "restore":
		return restoreFrom(ctx, opts, uploads, from, false, stdout, stderr)
	case "copy":
		return copyFrom(ctx, opts, uploads, from, uploadsFrom, cfg.Uploads, stdout, stderr)
	case "create":
		return createWithSample(ctx, opts, uploads)
	case "destroy":
		return destroy(ctx, opts, uploads)
	case "reset":
		if err := destroy(ctx, opts, uploads); err != nil {
			return err
		}
		return createWithSample(ctx, opts, uploads)
	case "migrate":
		s, err := connectForTool(ctx, opts)
		if err != nil {
			return err
		}
		defer s.Close()
		n, err := dbadmin.Migrate(ctx, s)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "applied %d migration(s); schema at version %d\n", n, s.LatestVersion())
		return warnUnsafeUsernames(ctx, s, stderr)
	}

	s, err := dbadmin.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer s.Close()
	if verb == "dump" {
		return dbadmin.Dump(ctx, s, stdout)
	}
	bulk.Seed = uint64(seed)
	return random(ctx, s, uploads, bulk, images, stdout)
}

func connectForTool(ctx context.Context, opts storage.Options) (*storage.Store, error) {
	s, err := dbadmin.Open(ctx, opts)
	if err == nil || errors.Is(err, storage.ErrNoSchema) {
		return s, err // nothing to migrate from: the message says db create
	}
	// Open refuses a schema that is behind; migrate is what fixes that.
	if s, cerr := storage.Connect(ctx, opts); cerr == nil {
		return s, nil
	}
	return nil, err
}

// createWithSample creates the database with the sample data and writes the
// sample images into the upload store. The images go first: if they or the
// database fail, the images are removed again and the database was never
// made, so a second try starts over instead of finding a database without
// its pictures that "already exists".
func createWithSample(ctx context.Context, opts storage.Options, uploads blob.Store) error {
	if ok, err := dbadmin.Exists(ctx, opts); err != nil {
		return err
	} else if ok {
		return dbadmin.ErrExists
	}
	if err := dbadmin.CheckCreate(ctx, opts); err != nil {
		return err
	}
	profiles, posts := dbadmin.SampleImages()
	err := media.WriteSample(ctx, uploads, profiles, posts)
	if err == nil {
		err = dbadmin.Create(ctx, opts)
	}
	if err != nil && !errors.Is(err, dbadmin.ErrExists) {
		for _, n := range append(profiles, posts...) {
			_ = uploads.Delete(context.WithoutCancel(ctx), n)
		}
	}
	return err
}

func destroy(ctx context.Context, opts storage.Options, uploads blob.Store) error {
	if err := dbadmin.Destroy(ctx, opts); err != nil {
		return err
	}
	return uploads.Clear(ctx)
}

// random generates images, then the rows that show them. If an image or
// the rows fail, the images written go too.
func random(ctx context.Context, s *storage.Store, uploads blob.Store, b dbadmin.Bulk, images int, stdout io.Writer) (err error) {
	start := time.Now()
	var written []string
	defer func() {
		if err != nil {
			for _, n := range written {
				_ = media.Remove(context.WithoutCancel(ctx), uploads, n)
			}
		}
	}()
	// Generated pictures go through the upload pipeline too, so that they
	// have the same width variants as uploads.
	var pictures []storage.Picture
	put := func(name string, img []byte) error {
		info, err := media.PutPicture(ctx, uploads, name, img)
		if err != nil {
			return err
		}
		written = append(written, name)
		pictures = append(pictures, storage.Picture{Filename: name, Width: info.Width, Height: info.Height, Color: info.Color})
		return nil
	}
	for range min(b.Posts, images) {
		name := blob.NewName(".jpg")
		if err := put(name, media.Landscape(name, 640)); err != nil {
			return err
		}
		b.Files = append(b.Files, name)
	}
	for range min(b.Users, 16) {
		name := blob.NewName(".jpg")
		if err := put(name, media.Avatar(name, 320)); err != nil {
			return err
		}
		b.ProfileFiles = append(b.ProfileFiles, name)
	}
	if b.Users > 0 {
		b.PasswordHash = auth.HashPassword("password")
	}
	res, err := dbadmin.Populate(ctx, s, b)
	if err != nil {
		return err
	}
	for _, p := range pictures {
		if err := s.PutPicture(ctx, p); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "added %d users, %d posts, %d follows, %d likes, %d comments (%d images) in %s\n",
		res.Users, res.Posts, res.Follows, res.Likes, res.Comments, len(written), time.Since(start).Round(time.Millisecond))
	return nil
}

// warnUnsafeUsernames lists the accounts whose names sign-up refuses today
// because links to them lead elsewhere. They are not renamed behind the
// operator's back: which name each gets is theirs to decide.
func warnUnsafeUsernames(ctx context.Context, s *storage.Store, stderr io.Writer) error {
	names, err := s.UnsafeUsernames(ctx)
	if err != nil || len(names) == 0 {
		return err
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strconv.Quote(n)
	}
	fmt.Fprintf(stderr, "warning: these usernames are not safe in links (their pages and API links lead to other pages): %s; "+
		"delete those accounts (or have new accounts made for their owners)\n", strings.Join(quoted, ", "))
	return nil
}
