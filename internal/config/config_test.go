package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/storage/postgres"
)

func parse(t *testing.T, args ...string) *Config {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.Register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestDefaultsEnvironmentAndFlags(t *testing.T) {
	c := parse(t)
	if c.Database != "var/insta485.sqlite3" || c.Uploads != "var/uploads" || c.Addr != ":8000" || c.MaxUploadBytes != 16<<20 || c.LogFormat != "text" {
		t.Errorf("defaults = %+v", c)
	}
	t.Setenv("INSTA485_ADDR", "127.0.0.1:9000")
	t.Setenv("INSTA485_MAX_UPLOAD_BYTES", "1024")
	if c := parse(t); c.Addr != "127.0.0.1:9000" || c.MaxUploadBytes != 1024 {
		t.Errorf("environment not used: %+v", c)
	}
	if c := parse(t, "--addr", ":7000"); c.Addr != ":7000" {
		t.Errorf("a flag should win over the environment: %s", c.Addr)
	}
}

func TestClassicPostgresVariables(t *testing.T) {
	t.Setenv("POSTGRESQL_DATABASE_HOST", "db.example.com")
	t.Setenv("POSTGRESQL_DATABASE_PORT", "6543")
	t.Setenv("POSTGRESQL_DATABASE_USER", "insta")
	t.Setenv("POSTGRESQL_DATABASE_PASSWORD", "p@ss word")
	t.Setenv("POSTGRESQL_DATABASE_DB", "photos")
	c := parse(t)
	opts, err := c.Storage()
	if err != nil {
		t.Fatal(err)
	}
	if opts.DSN != "postgres://insta@db.example.com:6543/photos" || opts.Password != "p@ss word" {
		t.Errorf("DSN %q password %q", opts.DSN, opts.Password)
	}
	if strings.Contains(opts.DSN, "p@ss") {
		t.Error("the password leaked into the URL")
	}
	t.Setenv("INSTA485_DATABASE", "other.sqlite3")
	if c := parse(t); c.Database != "other.sqlite3" {
		t.Errorf("INSTA485_DATABASE should win over the classic variables: %s", c.Database)
	}
}

func TestPostgresTLSAndPasswordFile(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "rds-ca.pem")
	os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644)
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("from-file\n"), 0o600)
	c := parse(t, "--database", "postgres://app@db.example.com/insta485", "--db-sslmode", "verify-full",
		"--db-sslrootcert", ca, "--db-password-file", pw)
	opts, err := c.Storage()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(opts.DSN, "sslmode=verify-full") || !strings.Contains(opts.DSN, "sslrootcert=") || opts.Password != "from-file" {
		t.Errorf("opts = %+v", opts)
	}
	for _, bad := range [][]string{
		{"--database", "postgres://a@b/c", "--db-sslmode", "sometimes"},
		{"--database", "postgres://a@b/c", "--db-sslrootcert", filepath.Join(dir, "missing.pem")},
		{"--database", "postgres://a@b/c", "--db-password-file", filepath.Join(dir, "missing")},
		{"--database", ""},
	} {
		if _, err := parse(t, bad...).Storage(); err == nil {
			t.Errorf("Storage(%q) accepted", bad)
		}
	}
}

func TestSecretKey(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sub", "secret_key")
	c := parse(t, "--secret-key-file", file)
	k1, err := c.Secret()
	if err != nil || len(k1) < 32 {
		t.Fatalf("Secret = %q, %v", k1, err)
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file %v, %v; want mode 0600", st, err)
	}
	if k2, _ := c.Secret(); string(k2) != string(k1) {
		t.Error("the key changed between starts")
	}
	if _, err := parse(t, "--secret-key", "short").Secret(); err == nil {
		t.Error("a short key was accepted")
	}
	if k, err := parse(t, "--secret-key", strings.Repeat("k", 40)).Secret(); err != nil || string(k) != strings.Repeat("k", 40) {
		t.Errorf("explicit key = %q, %v", k, err)
	}
}

func TestHelpNeverShowsSecrets(t *testing.T) {
	t.Setenv("INSTA485_SECRET_KEY", "super-secret-key-value-0123456789abcdef")
	t.Setenv("POSTGRESQL_DATABASE_PASSWORD", "hunter2-database-password")
	var c Config
	var help strings.Builder
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(&help)
	c.Register(fs)
	fs.PrintDefaults()
	if strings.Contains(help.String(), "super-secret") || strings.Contains(help.String(), "hunter2") {
		t.Errorf("--help shows a secret:\n%s", help.String())
	}
	if c.SecretKey != "super-secret-key-value-0123456789abcdef" || c.DBPassword != "hunter2-database-password" {
		t.Errorf("secrets from the environment not used: %q %q", c.SecretKey, c.DBPassword)
	}
	if err := fs.Parse([]string{"--secret-key", strings.Repeat("z", 32)}); err != nil || c.SecretKey != strings.Repeat("z", 32) {
		t.Errorf("--secret-key flag not used: %q %v", c.SecretKey, err)
	}
}

// TestREADMEDocumentsEverySetting keeps the README's configuration table
// in step with Settings.
func TestREADMEDocumentsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings {
		if !strings.Contains(string(readme), "`"+s.Env+"`") || !strings.Contains(string(readme), "`--"+s.Flag+"`") {
			t.Errorf("README.md does not document %s / --%s", s.Env, s.Flag)
		}
	}
}

func TestDatabaseTimeouts(t *testing.T) {
	t.Setenv("INSTA485_DATABASE", "postgres://app@db.example.com/insta485")
	c := parse(t)
	opts, err := c.Storage()
	if err != nil {
		t.Fatal(err)
	}
	if opts.ConnectTimeout != 10*time.Second || opts.StatementTimeout != 0 {
		t.Errorf("default timeouts: connect %s, statement %s; want 10s and none", opts.ConnectTimeout, opts.StatementTimeout)
	}
	t.Setenv("INSTA485_DB_STATEMENT_TIMEOUT", "30s")
	if opts, _ := parse(t, "--db-connect-timeout", "3s").Storage(); opts.ConnectTimeout != 3*time.Second || opts.StatementTimeout != 30*time.Second {
		t.Errorf("timeouts from a flag and the environment: connect %s, statement %s", opts.ConnectTimeout, opts.StatementTimeout)
	}
	var c2 Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c2.Register(fs)
	if err := fs.Parse([]string{"--db-connect-timeout", "ten"}); err == nil || !strings.Contains(err.Error(), "duration") {
		t.Errorf("a bad duration = %v, want an error asking for a duration", err)
	}
}

// TestDatabaseReplicas: replicas get the primary's TLS settings, the lag
// bound is passed on, and replicas without a PostgreSQL primary or that
// are not postgres:// URLs are refused with a message.
func TestDatabaseReplicas(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644)
	c := parse(t, "--database", "postgres://app@primary.example.com/insta485", "--db-sslmode", "verify-full", "--db-sslrootcert", ca,
		"--database-replicas", "postgres://app@r1.example.com/insta485, postgres://app@r2.example.com/insta485",
		"--database-replica-max-lag", "5s")
	opts, err := c.Storage()
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.Replicas) != 2 || opts.ReplicaMaxLag != 5*time.Second {
		t.Fatalf("opts = %+v", opts)
	}
	for _, r := range opts.Replicas {
		if !strings.HasPrefix(r, "postgres://app@r") || !strings.Contains(r, "sslmode=verify-full") || !strings.Contains(r, "sslrootcert=") {
			t.Errorf("replica URL %q lacks the primary's TLS settings", r)
		}
	}
	if d := parse(t).DBReplicaMaxLag; d != 30*time.Second {
		t.Errorf("default max lag = %s, want 30s", d)
	}
	for _, bad := range [][]string{
		{"--database", "var/x.sqlite3", "--database-replicas", "postgres://a@b/c"},
		{"--database", "postgres://a@b/c", "--database-replicas", "mysql://a@b/c"},
		{"--database", "postgres://a@b/c", "--database-replicas", "postgres://a@r/c", "--database-replica-max-lag", "1h"},
	} {
		if _, err := parse(t, bad...).Storage(); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// TestPreparedStatementsSetting: auto by default; true, false or auto from
// the flag or the environment; the flag alone means true, as when it was a
// boolean; anything else is refused with the values it takes.
func TestPreparedStatementsSetting(t *testing.T) {
	for _, c := range []struct {
		env  string
		args []string
		want postgres.PreparedMode
	}{
		{"", nil, postgres.PreparedAuto},
		{"", []string{"--db-prepared-statements"}, postgres.PreparedOn},
		{"", []string{"--db-prepared-statements=false"}, postgres.PreparedOff},
		{"", []string{"--db-prepared-statements=auto"}, postgres.PreparedAuto},
		{"true", nil, postgres.PreparedOn},
		{"0", nil, postgres.PreparedOff},
		{"false", []string{"--db-prepared-statements=auto"}, postgres.PreparedAuto},
	} {
		t.Setenv("INSTA485_DB_PREPARED_STATEMENTS", c.env) // empty: the default
		opts, _ := parse(t, c.args...).Storage()
		if opts.PreparedStatements != c.want {
			t.Errorf("env %q, flags %v: %v, want %v", c.env, c.args, opts.PreparedStatements, c.want)
		}
	}
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.Register(fs)
	if err := fs.Parse([]string{"--db-prepared-statements=sometimes"}); err == nil || !strings.Contains(err.Error(), "auto, true or false") {
		t.Errorf("a bad value = %v, want an error naming auto, true and false", err)
	}
}
