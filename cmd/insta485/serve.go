package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/insta485/insta485/internal/app"
	"github.com/insta485/insta485/internal/config"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/server"
	"github.com/insta485/insta485/internal/storage"
)

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("insta485 serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config.Config
	cfg.Register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: insta485 serve [flags]\n\nRuns the insta485 web server.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments, got %q", fs.Args())}
	}
	log, err := newLogger(cfg.LogFormat, stderr)
	if err != nil {
		return err
	}
	opts, err := cfg.Storage()
	if err != nil {
		return err
	}
	uploads, err := media.Open(ctx, cfg.Uploads)
	if err != nil {
		return err
	}
	secret, err := cfg.Secret()
	if err != nil {
		return err
	}
	store, err := storage.Open(ctx, opts)
	if errors.Is(err, storage.ErrNoSchema) && !storage.IsPostgres(opts.DSN) {
		// The embedded default starts with the sample data, like the
		// classic development server.
		log.Info("creating the database with sample data", "path", opts.DSN)
		if err := createWithSample(ctx, opts, uploads); err != nil {
			return err
		}
		store, err = storage.Open(ctx, opts)
	}
	if err != nil {
		return err
	}
	defer store.Close()
	log.Info("database ready", "backend", store.Backend())
	h := app.New(app.Deps{Store: store, Media: uploads, Secret: secret, MaxUpload: cfg.MaxUploadBytes, Log: log})
	return server.Run(ctx, cfg.Addr, h, log)
}
