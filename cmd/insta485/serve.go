package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/debug"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/app"
	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/config"
	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/metrics"
	"github.com/insta485/insta485/internal/server"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/storage/postgres"
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
	setMemoryLimit()
	opts, err := cfg.Storage()
	if err != nil {
		return err
	}
	if err := cfg.CheckUploadsDelivery(); err != nil {
		return err
	}
	opts.Log = log
	uploads, err := blob.Open(ctx, cfg.Uploads)
	if err != nil {
		return err
	}
	delivery, err := media.NewDelivery(ctx, uploads, cfg.UploadsDelivery, cfg.UploadsURLTTL)
	if err != nil {
		return err
	}
	secret, err := cfg.Secret()
	if err != nil {
		return err
	}
	proxies, err := server.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return err
	}
	store, err := dbadmin.Open(ctx, opts)
	if errors.Is(err, storage.ErrNoSchema) && !storage.IsPostgres(opts.DSN) {
		// The embedded default starts with the sample data, like the
		// classic development server.
		log.Info("creating the database with sample data", "path", opts.DSN)
		if err := createWithSample(ctx, opts, uploads); err != nil {
			return err
		}
		store, err = dbadmin.Open(ctx, opts)
	}
	if err != nil {
		return err
	}
	defer store.Close()
	if store.Backend() == "postgres" {
		// Whether plans are reused: auto decides from the connection.
		log.Info("database ready", "backend", store.Backend(), "read_replicas", len(opts.Replicas),
			"prepared_statements", store.PreparesStatements(), "setting", opts.PreparedStatements.String())
	} else {
		log.Info("database ready", "backend", store.Backend(), "read_replicas", len(opts.Replicas))
	}
	if w := postgres.TLSWarning(opts.PostgresOptions()); w != "" {
		log.Warn(w)
	}
	if n, err := writeMissingSampleImages(ctx, store, uploads); err != nil {
		log.Warn("could not write the sample pictures the database names", "err", err)
	} else if n > 0 {
		log.Info("wrote the sample pictures the database names and the upload store lacked", "count", n)
	}
	log.Info("pictures", "delivery", delivery.Mode())
	deps := app.Deps{Store: store, Media: uploads, Secret: secret, MaxUpload: cfg.MaxUploadBytes, Log: log,
		TrustedProxies: proxies, WaitBudget: cfg.RequestWaitTimeout, Delivery: delivery}
	if deps.WaitBudget == 0 {
		deps.WaitBudget = -1 // the operator turned it off
	}
	limits := server.Limits{ReadTimeout: cfg.ReadTimeout, IdleTimeout: cfg.IdleTimeout}
	if cfg.MetricsAddr == "" {
		return server.Run(ctx, cfg.Addr, app.New(deps), log, limits)
	}
	deps.Metrics = metrics.New()
	h := app.New(deps)
	// The site and the metrics listener stop together: a signal stops
	// both, and either failing (a port in use) stops the other.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	metricsMux := http.NewServeMux()
	metricsMux.Handle("GET /metrics", deps.Metrics.Handler(log))
	errc := make(chan error, 1)
	go func() {
		err := server.RunMetrics(ctx, cfg.MetricsAddr, metricsMux, log)
		cancel()
		errc <- err
	}()
	err = server.Run(ctx, cfg.Addr, h, log, limits)
	cancel()
	return errors.Join(err, <-errc)
}

// writeMissingSampleImages writes the sample pictures that rows name and
// the upload store lacks: a database loaded by hand with sql/data.sql names
// them, but psql cannot write pictures.
func writeMissingSampleImages(ctx context.Context, store *storage.Store, uploads blob.Store) (int, error) {
	profiles, posts := dbadmin.SampleImages()
	used, err := dbadmin.FilenamesInUse(ctx, store, append(append([]string{}, profiles...), posts...))
	if err != nil {
		return 0, err
	}
	return media.WriteMissingSample(ctx, uploads, profiles, posts, func(name string) bool { return used[name] })
}

// serverBaseMemory is what the server needs besides password hashing:
// pages, statements and connections (35 to 55 MB resident in
// insta485-bench's scenarios).
const serverBaseMemory = 48 << 20

// setMemoryLimit gives the Go runtime a soft memory limit, unless the
// operator set one (GOMEMLIMIT): the server's own needs plus the argon2id
// slots' 19 MiB each, 86 MiB on two cores. Without it a burst of password
// checks leaves their freed buffers resident until the heap has doubled
// (99 to 103 MB in insta485-bench's "basic wrong password x64"); with it
// the collector runs sooner (87 MB, the same rate). The limit is soft: a
// server that needs more (a huge page) gets it, collecting more often.
func setMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(serverBaseMemory + auth.PasswordMemory())
}
