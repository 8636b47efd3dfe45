package testenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ClusterOptions configure a throw-away PostgreSQL cluster.
type ClusterOptions struct {
	// Managed sets the cluster up like a managed service (AWS RDS and the
	// like): TCP connections only over TLS (hostssl), scram-sha-256
	// passwords, and a server certificate signed by a CA the test made.
	Managed bool
	// CertHosts are the names and addresses the server certificate is
	// issued for (default localhost, 127.0.0.1 and ::1). Only with Managed.
	CertHosts []string
	// Conf lines are appended to postgresql.conf (for example
	// "wal_level = replica" or "recovery_min_apply_delay = '5s'").
	Conf []string
	// HBA lines go before the generated pg_hba.conf entries, so they win
	// (for example "host replication all 127.0.0.1/32 scram-sha-256").
	HBA []string
}

// Cluster is a PostgreSQL cluster of its own (initdb, pg_ctl) on a free
// loopback port, stopped and removed when the test ends. Its superuser is
// postgres with a random password; AppRole is an ordinary login role (no
// superuser, no CREATEDB, no CREATEROLE) with a random password.
type Cluster struct {
	t       testing.TB
	opts    ClusterOptions
	bin     string
	base    string // owned by the cluster's OS user; holds DataDir, socket, log
	DataDir string
	Port    int
	// SuperPassword is the password of the superuser postgres.
	SuperPassword string
	// AppRole and AppPassword are the unprivileged login role.
	AppRole, AppPassword string
	// CA signed the server certificate (Managed only); CAFile is its PEM.
	CA     *TestCA
	CAFile string
	// LogFile is the server's log, printed when the test fails.
	LogFile string

	running bool
}

// PostgresBinDir is the directory holding initdb and pg_ctl:
// INSTA485_TEST_PGBIN, else the newest /usr/lib/postgresql/*/bin, else the
// directory of initdb on PATH; "" when there is none.
func PostgresBinDir() string {
	if d := os.Getenv("INSTA485_TEST_PGBIN"); d != "" {
		return d
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(dirs, func(i, j int) bool { return pgVersionOf(dirs[i]) < pgVersionOf(dirs[j]) })
	if len(dirs) > 0 {
		return filepath.Dir(dirs[len(dirs)-1])
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

func pgVersionOf(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// NeedTool skips the test when a command it needs is missing, except under
// CI, where that fails it.
func NeedTool(t testing.TB, what, hint string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required under CI but missing: %s", what, hint)
	}
	t.Skipf("%s missing: %s", what, hint)
}

// NewCluster initialises and starts a cluster, removed when t ends.
func NewCluster(t testing.TB, opts ClusterOptions) *Cluster {
	t.Helper()
	bin := PostgresBinDir()
	if bin == "" {
		NeedTool(t, "PostgreSQL server binaries (initdb, pg_ctl)", "apt-get install postgresql")
	}
	base, err := os.MkdirTemp("", "insta485-pgcluster-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{
		t: t, opts: opts, bin: bin, base: base,
		DataDir:       filepath.Join(base, "data"),
		LogFile:       filepath.Join(base, "postgres.log"),
		SuperPassword: RandomName("su"),
		AppRole:       "insta485_app",
		AppPassword:   RandomName("app"),
	}
	c.prepare(t, base, "cluster")
	pwfile := filepath.Join(base, "pwfile")
	if err := c.writeFile(pwfile, c.SuperPassword+"\n", 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := c.Command("initdb", "-D", c.DataDir, "-U", "postgres", "--pwfile", pwfile,
		"--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync").CombinedOutput()
	if err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	os.Remove(pwfile)
	if err := c.configure(); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	admin := c.AdminConn(t)
	_, err = admin.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '%s'", c.AppRole, c.AppPassword))
	if err != nil {
		t.Fatalf("create app role: %v", err)
	}
	return c
}

// configure writes postgresql.conf additions, pg_hba.conf and the TLS files.
func (c *Cluster) configure() error {
	conf := []string{
		"",
		"# insta485 test cluster",
		fmt.Sprintf("port = %d", c.Port),
		"listen_addresses = 'localhost'",
		fmt.Sprintf("unix_socket_directories = '%s'", c.base),
		"fsync = off",
		"max_connections = 100",
		"password_encryption = 'scram-sha-256'",
	}
	hba := append([]string{"# insta485 test cluster"}, c.opts.HBA...)
	hba = append(hba, "local all all scram-sha-256")
	if c.opts.Managed {
		ca, err := NewTestCA()
		if err != nil {
			return err
		}
		c.CA = ca
		hosts := c.opts.CertHosts
		if len(hosts) == 0 {
			hosts = []string{"localhost", "127.0.0.1", "::1"}
		}
		certPEM, keyPEM, err := ca.Issue(hosts...)
		if err != nil {
			return err
		}
		c.CAFile = filepath.Join(c.base, "root.crt")
		if err := c.writeFile(c.CAFile, string(ca.PEM), 0o644); err != nil {
			return err
		}
		if err := c.writeFile(filepath.Join(c.DataDir, "server.crt"), string(certPEM), 0o644); err != nil {
			return err
		}
		if err := c.writeFile(filepath.Join(c.DataDir, "server.key"), string(keyPEM), 0o600); err != nil {
			return err
		}
		conf = append(conf, "ssl = on", "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'")
		hba = append(hba,
			"hostssl all all 127.0.0.1/32 scram-sha-256",
			"hostssl all all ::1/128 scram-sha-256",
			"hostssl replication all 127.0.0.1/32 scram-sha-256",
		)
	} else {
		hba = append(hba,
			"host all all 127.0.0.1/32 scram-sha-256",
			"host all all ::1/128 scram-sha-256",
			"host replication all 127.0.0.1/32 scram-sha-256",
		)
	}
	conf = append(conf, c.opts.Conf...)
	f, err := os.OpenFile(filepath.Join(c.DataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(strings.Join(conf, "\n") + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return c.writeFile(filepath.Join(c.DataDir, "pg_hba.conf"), strings.Join(hba, "\n")+"\n", 0o600)
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start() error {
	out, err := c.Command("pg_ctl", "start", "-w", "-t", "60", "-D", c.DataDir, "-l", c.LogFile).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl start: %v\n%s", err, out)
	}
	c.running = true
	return nil
}

// Stop stops the server (fast shutdown: open sessions are ended).
func (c *Cluster) Stop() error {
	out, err := c.Command("pg_ctl", "stop", "-w", "-m", "fast", "-D", c.DataDir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	c.running = false
	return nil
}

// Command runs a PostgreSQL program (initdb, pg_ctl, pg_basebackup, psql…)
// from the cluster's bin directory as the OS user owning the cluster (the
// postgres user when the test runs as root: initdb refuses root), in the
// cluster's base directory, with PGPASSWORD set to the superuser's.
func (c *Cluster) Command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	if _, err := os.Stat(path); err != nil {
		path = name
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = c.base
	cmd.Env = append(os.Environ(), "PGPASSWORD="+c.SuperPassword)
	if cred := postgresCredential(); cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	return cmd
}

// BaseDir is a directory owned by the cluster's OS user, removed with the
// cluster: a place for a replica's data directory or other files.
func (c *Cluster) BaseDir() string { return c.base }

// URL connects as user with password to database on the cluster: with
// sslmode=verify-full and the test CA on a managed cluster, else
// sslmode=disable.
func (c *Cluster) URL(user, password, database string) string {
	u := &url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(user, password),
		Host:   net.JoinHostPort("localhost", strconv.Itoa(c.Port)),
		Path:   "/" + database,
	}
	q := url.Values{}
	if c.opts.Managed {
		q.Set("sslmode", "verify-full")
		q.Set("sslrootcert", c.CAFile)
	} else {
		u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port))
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// AdminURL connects as the superuser postgres to database postgres.
func (c *Cluster) AdminURL() string { return c.URL("postgres", c.SuperPassword, "postgres") }

// AppURL connects as the unprivileged AppRole to database.
func (c *Cluster) AppURL(database string) string {
	return c.URL(c.AppRole, c.AppPassword, database)
}

// AdminConn connects as the superuser to database postgres, closed when t
// ends.
func (c *Cluster) AdminConn(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.AdminURL())
	if err != nil {
		t.Fatalf("connect to the test cluster as postgres: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func (c *Cluster) adminConnNoFail(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return pgx.Connect(ctx, c.AdminURL())
}

// Exec runs statements as the superuser on database.
func (c *Cluster) Exec(t testing.TB, database string, statements ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres", c.SuperPassword, database))
	if err != nil {
		t.Fatalf("connect to %s on the test cluster: %v", database, err)
	}
	defer conn.Close(context.Background())
	for _, q := range statements {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func (c *Cluster) writeFile(path, content string, mode os.FileMode) error {
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		return err
	}
	return c.chown(path)
}

func (c *Cluster) chown(path string) error { return chownToPostgres(path) }

// postgresCredential is the postgres OS user's when running as root, nil
// otherwise (the cluster then runs as the current user).
func postgresCredential() *syscall.Credential {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestCA is a certificate authority made for one test.
type TestCA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	PEM  []byte // the CA certificate, for sslrootcert
}

// NewTestCA makes a fresh CA.
func NewTestCA() (*TestCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: RandomName("insta485 test CA ")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &TestCA{Cert: cert, Key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// Issue returns a server certificate and its key (PEM) for hosts (names or
// IP addresses), signed by the CA.
func (ca *TestCA) Issue(hosts ...string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}

func randomSerial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

// ReplicaOptions configure a streaming replica.
type ReplicaOptions struct {
	// ApplyDelay is recovery_min_apply_delay: the replica receives the
	// primary's WAL at once but replays each transaction only this long
	// after its commit, so tests see real replication lag.
	ApplyDelay time.Duration
}

// NewReplica makes a streaming replica of c the way an operator does
// (pg_basebackup -R, which writes primary_conninfo and standby.signal) on
// a free port of its own, started, and stopped and removed when t ends. It
// shares c's roles and passwords, and on a managed cluster its TLS
// certificate (CAFile verifies both). PostgreSQL's defaults already allow
// it (wal_level = replica, max_wal_senders = 10) and NewCluster's
// pg_hba.conf has the replication lines.
func (c *Cluster) NewReplica(t testing.TB, opts ReplicaOptions) *Cluster {
	t.Helper()
	base, err := os.MkdirTemp("", "insta485-pgreplica-")
	if err != nil {
		t.Fatal(err)
	}
	r := &Cluster{
		t: t, opts: c.opts, bin: c.bin, base: base,
		DataDir:       filepath.Join(base, "data"),
		LogFile:       filepath.Join(base, "postgres.log"),
		SuperPassword: c.SuperPassword,
		AppRole:       c.AppRole, AppPassword: c.AppPassword,
		CA: c.CA, CAFile: c.CAFile,
	}
	r.prepare(t, base, "replica")
	conn := fmt.Sprintf("host=127.0.0.1 port=%d user=postgres sslmode=disable", c.Port)
	if c.opts.Managed {
		conn = fmt.Sprintf("host=localhost port=%d user=postgres sslmode=verify-full sslrootcert=%s", c.Port, c.CAFile)
	}
	out, err := r.Command("pg_basebackup", "-d", conn, "-D", r.DataDir, "-R", "-X", "stream", "-c", "fast", "--no-sync").CombinedOutput()
	if err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	// Later lines win over the primary's copied settings.
	conf := []string{
		"",
		"# insta485 test replica",
		fmt.Sprintf("port = %d", r.Port),
		fmt.Sprintf("unix_socket_directories = '%s'", r.base),
		"hot_standby = on",
		fmt.Sprintf("recovery_min_apply_delay = '%dms'", opts.ApplyDelay.Milliseconds()),
	}
	f, err := os.OpenFile(filepath.Join(r.DataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(strings.Join(conf, "\n") + "\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	return r
}

// ReplayLSN returns the replica's pg_last_wal_replay_lsn() as text.
func (c *Cluster) ReplayLSN(t testing.TB) string {
	t.Helper()
	var lsn string
	c.QueryRow(t, "postgres", "SELECT COALESCE(pg_last_wal_replay_lsn()::text, '')", &lsn)
	return lsn
}

// QueryRow runs one query as the superuser on database and scans its row.
func (c *Cluster) QueryRow(t testing.TB, database, query string, dest ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres", c.SuperPassword, database))
	if err != nil {
		t.Fatalf("connect to %s on the test cluster: %v", database, err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(ctx, query).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// prepare hands base to the postgres user, picks a free port, and makes sure
// the server is stopped and base removed when t ends, printing the server's
// log when t failed.
func (c *Cluster) prepare(t testing.TB, base, what string) {
	t.Helper()
	t.Cleanup(func() {
		if c.running {
			_ = c.Stop()
		}
		if t.Failed() {
			if b, err := os.ReadFile(c.LogFile); err == nil {
				t.Logf("PostgreSQL log of the test %s:\n%s", what, lastLines(string(b), 40))
			}
		}
		os.RemoveAll(base)
	})
	if err := c.chown(base); err != nil {
		t.Fatal(err)
	}
	c.Port = FreePort(t)
}
