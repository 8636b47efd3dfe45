// Package config owns insta485's settings: one typed Config read once from
// flags and environment variables (a flag wins over its variable), and the
// derived storage options and secret key.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/storage/postgres"
)

// Config is every setting of insta485.
type Config struct {
	Database       string
	DBPassword     string
	DBPasswordFile string
	DBSSLMode      string
	DBSSLRootCert  string
	DBMaxConns     int
	// DBConnectTimeout and DBStatementTimeout bound connecting to
	// PostgreSQL and each statement (0: no statement timeout).
	DBConnectTimeout   time.Duration
	DBStatementTimeout time.Duration
	// RequestWaitTimeout bounds how long one request waits for the
	// database and the upload store in all (0: no bound).
	RequestWaitTimeout time.Duration
	// DBPreparedStatements says whether PostgreSQL statements are
	// prepared: auto (on a direct connection only), true or false.
	DBPreparedStatements postgres.PreparedMode
	// DatabaseReplicas is a comma-separated list of postgres:// URLs of
	// read replicas; DBReplicaMaxLag bounds how far behind one may serve.
	DatabaseReplicas string
	DBReplicaMaxLag  time.Duration
	Uploads          string
	// UploadsDelivery is how /uploads/ hands over pictures (proxy,
	// redirect or x-accel-redirect); UploadsURLTTL is the life of the
	// presigned URLs redirect and x-accel-redirect give to an S3 store.
	UploadsDelivery string
	UploadsURLTTL   time.Duration
	SecretKey       string
	SecretKeyFile   string
	Addr            string
	MetricsAddr     string
	MaxUploadBytes  int64
	LogFormat       string
	TrustedProxies  string
	ReadTimeout     time.Duration
	IdleTimeout     time.Duration
}

// Setting describes one setting for flags, the environment and the README.
type Setting struct {
	Flag, Env, Default, Usage string
}

// Settings lists every setting in the order the README's table shows them.
var Settings = []Setting{
	{"database", "INSTA485_DATABASE", "var/insta485.sqlite3", "SQLite file path, or a postgres:// URL (e.g. postgres://insta485@db.example.com:5432/insta485?sslmode=verify-full). Without it, the POSTGRESQL_DATABASE_HOST/_PORT/_USER/_PASSWORD/_DB variables select PostgreSQL when HOST is set"},
	{"db-password", "INSTA485_DB_PASSWORD", "", "PostgreSQL password (overrides one in the URL; POSTGRESQL_DATABASE_PASSWORD also works)"},
	{"db-password-file", "INSTA485_DB_PASSWORD_FILE", "", "file holding the PostgreSQL password (for mounted secrets)"},
	{"db-sslmode", "INSTA485_DB_SSLMODE", "", "PostgreSQL TLS mode: disable, require, verify-ca or verify-full (use verify-full for a managed server)"},
	{"db-sslrootcert", "INSTA485_DB_SSLROOTCERT", "", "CA bundle file to verify the PostgreSQL server's certificate (for AWS RDS, the region's bundle)"},
	{"db-max-conns", "INSTA485_DB_MAX_CONNS", "0", "database connection pool size (0: 10 on PostgreSQL, 2 per core for SQLite readers)"},
	{"db-connect-timeout", "INSTA485_DB_CONNECT_TIMEOUT", "10s", "how long connecting to PostgreSQL (TLS and login included) may take before it fails; a connect_timeout in the URL or PGCONNECT_TIMEOUT wins"},
	{"db-statement-timeout", "INSTA485_DB_STATEMENT_TIMEOUT", "0s", "cancel a PostgreSQL statement that runs longer than this (0s: never); enforced by insta485, so it works behind PgBouncer"},
	{"request-wait-timeout", "INSTA485_REQUEST_WAIT_TIMEOUT", "5s", "longest a request waits for the database and the upload store in all (a pool connection, connecting, a new primary during a failover, its queries; not its client sending the body); past it the answer is 503 with Retry-After (0s: no bound)"},
	{"db-prepared-statements", "INSTA485_DB_PREPARED_STATEMENTS", "auto", "prepare PostgreSQL statements once per connection and reuse their plans: auto does on a direct connection and not through a connection pooler (PgBouncer transaction mode, RDS Proxy), found when connecting; true or false forces it"},
	{"database-replicas", "INSTA485_DATABASE_REPLICAS", "", "comma-separated postgres:// URLs of read-only streaming replicas of the database; reads go there when they have replayed the reader's own last write, else to the primary (same password, TLS mode and CA bundle as the primary)"},
	{"database-replica-max-lag", "INSTA485_DATABASE_REPLICA_MAX_LAG", "30s", "a replica further behind the primary than this serves no reads until it catches up (at most 10m)"},
	{"uploads", "INSTA485_UPLOADS", "var/uploads", "upload store: a directory, or s3://BUCKET[/PREFIX] for S3-compatible object storage (endpoint, region and keys from the standard AWS_* settings)"},
	{"uploads-delivery", "INSTA485_UPLOADS_DELIVERY", "proxy", "how /uploads/<file> hands over a picture after its access check: proxy (the app sends the bytes), redirect (a 302 to a short-lived presigned URL; S3 stores), x-accel-redirect (behind nginx, which sends them from an internal location of deploy/nginx.conf)"},
	{"uploads-url-ttl", "INSTA485_UPLOADS_URL_TTL", "5m0s", "life of the presigned URLs of redirect and x-accel-redirect with an S3 store (10s to 1h); anyone holding one can fetch that picture until it expires"},
	{"secret-key", "INSTA485_SECRET_KEY", "", "key signing sessions and CSRF tokens; every app server of one site must share it (at least 32 characters)"},
	{"secret-key-file", "INSTA485_SECRET_KEY_FILE", "var/secret_key", "file holding the secret key; created with a random key when missing and no key is given"},
	{"addr", "INSTA485_ADDR", ":8000", "address to listen on"},
	{"metrics-addr", "INSTA485_METRICS_ADDR", "", "address serving Prometheus metrics at /metrics, on a listener of its own (e.g. 127.0.0.1:9485); empty: no metrics"},
	{"max-upload-bytes", "INSTA485_MAX_UPLOAD_BYTES", "16777216", "largest accepted upload, in bytes (16 MiB); larger gets 413"},
	{"log-format", "INSTA485_LOG_FORMAT", "text", "log format: text or json"},
	{"trusted-proxies", "INSTA485_TRUSTED_PROXIES", "127.0.0.1/32,::1/128", "comma-separated addresses or CIDR blocks of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (empty: none)"},
	{"read-timeout", "INSTA485_READ_TIMEOUT", "1m0s", "longest time to read a whole request, body included; a slower client is cut off (uploads must arrive within it)"},
	{"idle-timeout", "INSTA485_IDLE_TIMEOUT", "2m0s", "how long an idle kept-alive connection stays open"},
}

// Register adds the settings named in flags (all when none are named) to
// fs, with defaults taken from the environment.
func (c *Config) Register(fs *flag.FlagSet, flags ...string) {
	want := map[string]bool{}
	for _, f := range flags {
		want[f] = true
	}
	for _, s := range Settings {
		if len(flags) > 0 && !want[s.Flag] {
			continue
		}
		def := s.Default
		if v, ok := os.LookupEnv(s.Env); ok {
			def = v
		}
		usage := s.Usage + " (env " + s.Env + ")"
		switch s.Flag {
		case "database":
			fs.StringVar(&c.Database, s.Flag, def, usage)
		case "db-password":
			if def == "" {
				def = os.Getenv("POSTGRESQL_DATABASE_PASSWORD")
			}
			secretVar(fs, &c.DBPassword, s.Flag, def, usage)
		case "db-password-file":
			fs.StringVar(&c.DBPasswordFile, s.Flag, def, usage)
		case "db-sslmode":
			fs.StringVar(&c.DBSSLMode, s.Flag, def, usage)
		case "db-sslrootcert":
			fs.StringVar(&c.DBSSLRootCert, s.Flag, def, usage)
		case "db-max-conns":
			fs.Func(s.Flag, usage+" (default "+def+")", intSetter(&c.DBMaxConns))
			_ = intSetter(&c.DBMaxConns)(def)
		case "db-connect-timeout":
			fs.Func(s.Flag, usage+" (default "+def+")", durationSetter(&c.DBConnectTimeout))
			_ = durationSetter(&c.DBConnectTimeout)(def)
		case "db-statement-timeout":
			fs.Func(s.Flag, usage+" (default "+def+")", durationSetter(&c.DBStatementTimeout))
			_ = durationSetter(&c.DBStatementTimeout)(def)
		case "request-wait-timeout":
			fs.Func(s.Flag, usage+" (default "+def+")", durationSetter(&c.RequestWaitTimeout))
			_ = durationSetter(&c.RequestWaitTimeout)(def)
		case "db-prepared-statements":
			c.DBPreparedStatements, _ = postgres.ParsePreparedMode(def)
			fs.Var(&preparedFlag{&c.DBPreparedStatements}, s.Flag, usage)
		case "database-replicas":
			fs.StringVar(&c.DatabaseReplicas, s.Flag, def, usage)
		case "database-replica-max-lag":
			fs.Func(s.Flag, usage+" (default "+def+")", durationSetter(&c.DBReplicaMaxLag))
			_ = durationSetter(&c.DBReplicaMaxLag)(def)
		case "uploads":
			fs.StringVar(&c.Uploads, s.Flag, def, usage)
		case "uploads-delivery":
			fs.StringVar(&c.UploadsDelivery, s.Flag, def, usage)
		case "uploads-url-ttl":
			fs.Func(s.Flag, usage+" (default "+def+")", positiveDurationSetter(&c.UploadsURLTTL))
			_ = positiveDurationSetter(&c.UploadsURLTTL)(def)
		case "secret-key":
			secretVar(fs, &c.SecretKey, s.Flag, def, usage)
		case "secret-key-file":
			fs.StringVar(&c.SecretKeyFile, s.Flag, def, usage)
		case "addr":
			fs.StringVar(&c.Addr, s.Flag, def, usage)
		case "metrics-addr":
			fs.StringVar(&c.MetricsAddr, s.Flag, def, usage)
		case "max-upload-bytes":
			fs.Func(s.Flag, usage+" (default "+def+")", func(v string) error {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n <= 0 {
					return fmt.Errorf("want a positive number of bytes, got %q", v)
				}
				c.MaxUploadBytes = n
				return nil
			})
			c.MaxUploadBytes, _ = strconv.ParseInt(def, 10, 64)
		case "log-format":
			fs.StringVar(&c.LogFormat, s.Flag, def, usage)
		case "trusted-proxies":
			fs.StringVar(&c.TrustedProxies, s.Flag, def, usage)
		case "read-timeout":
			fs.Func(s.Flag, usage+" (default "+def+")", positiveDurationSetter(&c.ReadTimeout))
			_ = positiveDurationSetter(&c.ReadTimeout)(def)
		case "idle-timeout":
			fs.Func(s.Flag, usage+" (default "+def+")", positiveDurationSetter(&c.IdleTimeout))
			_ = positiveDurationSetter(&c.IdleTimeout)(def)
		}
	}
	// The classic discrete PostgreSQL settings select PostgreSQL when no
	// database is given explicitly.
	if _, set := os.LookupEnv("INSTA485_DATABASE"); !set && os.Getenv("POSTGRESQL_DATABASE_HOST") != "" {
		c.Database = classicPostgresURL()
	}
}

// secretVar is a string flag whose value --help never shows, since its
// default may come from the environment.
func secretVar(fs *flag.FlagSet, dst *string, name, value, usage string) {
	*dst = value
	fs.Func(name, usage, func(v string) error { *dst = v; return nil })
}

func intSetter(dst *int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("want a whole number, got %q", v)
		}
		*dst = n
		return nil
	}
}

func durationSetter(dst *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("want a duration such as 10s or 1m30s, got %q", v)
		}
		*dst = d
		return nil
	}
}

// positiveDurationSetter is durationSetter for settings where zero would
// mean "no limit", which they must not.
func positiveDurationSetter(dst *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("want a positive duration such as 30s or 2m, got %q", v)
		}
		*dst = d
		return nil
	}
}

// classicPostgresURL builds a URL from POSTGRESQL_DATABASE_HOST, _PORT,
// _USER and _DB. The password is passed separately so it never sits in a
// string that could be logged.
func classicPostgresURL() string {
	port := os.Getenv("POSTGRESQL_DATABASE_PORT")
	if port == "" {
		port = "5432"
	}
	db := os.Getenv("POSTGRESQL_DATABASE_DB")
	if db == "" {
		db = "insta485"
	}
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(os.Getenv("POSTGRESQL_DATABASE_HOST"), port), Path: "/" + db}
	if user := os.Getenv("POSTGRESQL_DATABASE_USER"); user != "" {
		u.User = url.User(user)
	}
	return u.String()
}

// Storage returns the options that open the configured database.
func (c *Config) Storage() (storage.Options, error) {
	opts := storage.Options{DSN: c.Database, Password: c.DBPassword, MaxConns: c.DBMaxConns,
		ConnectTimeout: c.DBConnectTimeout, StatementTimeout: c.DBStatementTimeout,
		PreparedStatements: c.DBPreparedStatements}
	if c.Database == "" {
		return opts, errors.New("no database configured: set --database or INSTA485_DATABASE")
	}
	if !storage.IsPostgres(c.Database) {
		if strings.TrimSpace(c.DatabaseReplicas) != "" {
			return opts, errors.New("read replicas (--database-replicas) need a PostgreSQL --database, not an SQLite file")
		}
		return opts, nil
	}
	if c.DBPasswordFile != "" {
		b, err := os.ReadFile(c.DBPasswordFile)
		if err != nil {
			return opts, fmt.Errorf("read the database password file: %w", err)
		}
		opts.Password = strings.TrimRight(string(b), "\r\n")
	}
	dsn, err := c.withTLS(c.Database)
	if err != nil {
		return opts, err
	}
	opts.DSN = dsn
	for _, r := range strings.Split(c.DatabaseReplicas, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		if !storage.IsPostgres(r) {
			return opts, errors.New("a read replica is not a postgres:// URL: list them as postgres://user@host:port/dbname, comma-separated")
		}
		dsn, err := c.withTLS(r)
		if err != nil {
			return opts, fmt.Errorf("read replica: %w", err)
		}
		opts.Replicas = append(opts.Replicas, dsn)
	}
	if c.DBReplicaMaxLag > 10*time.Minute {
		return opts, fmt.Errorf("--database-replica-max-lag %s is too long: at most 10m (a client's own writes are tracked for %s)", c.DBReplicaMaxLag, 15*time.Minute)
	}
	opts.ReplicaMaxLag = c.DBReplicaMaxLag
	return opts, nil
}

// withTLS applies the TLS mode and CA bundle settings to a PostgreSQL URL:
// the primary's and every replica's alike.
func (c *Config) withTLS(dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", errors.New("the database URL is malformed: expected postgres://user@host:port/dbname")
	}
	q := u.Query()
	if c.DBSSLMode != "" {
		switch c.DBSSLMode {
		case "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
		default:
			return "", fmt.Errorf("unknown TLS mode %q: use disable, require, verify-ca or verify-full", c.DBSSLMode)
		}
		q.Set("sslmode", c.DBSSLMode)
	}
	if c.DBSSLRootCert != "" {
		if _, err := os.Stat(c.DBSSLRootCert); err != nil {
			return "", fmt.Errorf("the CA bundle %s cannot be read: %w", c.DBSSLRootCert, err)
		}
		q.Set("sslrootcert", c.DBSSLRootCert)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Secret returns the key signing sessions: SecretKey when set, otherwise
// the content of SecretKeyFile, which is created with a random key the first
// time so a single server keeps its sessions across restarts.
func (c *Config) Secret() ([]byte, error) {
	if c.SecretKey != "" {
		if len(c.SecretKey) < 32 {
			return nil, errors.New("the secret key is too short: use at least 32 characters (e.g. `openssl rand -hex 32`)")
		}
		return []byte(c.SecretKey), nil
	}
	if c.SecretKeyFile == "" {
		return nil, errors.New("no secret key: set INSTA485_SECRET_KEY or INSTA485_SECRET_KEY_FILE")
	}
	b, err := os.ReadFile(c.SecretKeyFile)
	if err == nil {
		key := strings.TrimSpace(string(b))
		if len(key) < 32 {
			return nil, fmt.Errorf("the secret key in %s is too short: use at least 32 characters", c.SecretKeyFile)
		}
		return []byte(key), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read the secret key file: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	key := hex.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(c.SecretKeyFile), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(c.SecretKeyFile, []byte(key+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write a new secret key file: %w", err)
	}
	return []byte(key), nil
}

// preparedFlag is --db-prepared-statements: auto, true or false, and true
// when given alone, as the boolean flag it used to be.
type preparedFlag struct{ m *postgres.PreparedMode }

func (f *preparedFlag) String() string {
	if f.m == nil {
		return postgres.PreparedAuto.String()
	}
	return f.m.String()
}

func (f *preparedFlag) Set(v string) error {
	m, err := postgres.ParsePreparedMode(v)
	if err != nil {
		return err
	}
	*f.m = m
	return nil
}

func (f *preparedFlag) IsBoolFlag() bool { return true }
