package storage_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// withQuery returns u with query parameter key set to value.
func withQuery(t *testing.T, u, key, value string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	q.Set(key, value)
	p.RawQuery = q.Encode()
	return p.String()
}

func withHost(t *testing.T, u, host string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.Host = host
	return p.String()
}

// silentListener accepts TCP connections and never says a word, like a
// firewall that lets the handshake through or a hung server.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range held {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestManagedServerConnectionErrors: against a server set up like a
// managed service (TLS only, scram-sha-256, an unprivileged role), verified
// TLS works and every way of getting the connection wrong says what to fix.
func TestManagedServerConnectionErrors(t *testing.T) {
	c := testenv.NewCluster(t, testenv.ClusterOptions{Managed: true, CertHosts: []string{"localhost"}})
	c.Exec(t, "postgres", "CREATE DATABASE app OWNER "+c.AppRole)
	good := c.AppURL("app")
	ctx := context.Background()
	if err := dbadmin.Create(ctx, storage.Options{DSN: good}); err != nil {
		t.Fatalf("Create over verify-full as the database's owner: %v", err)
	}
	s, err := dbadmin.Open(ctx, storage.Options{DSN: good})
	if err != nil {
		t.Fatalf("Open over verify-full: %v", err)
	}
	s.Close()

	otherCA, err := testenv.NewTestCA()
	if err != nil {
		t.Fatal(err)
	}
	otherCAFile := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(otherCAFile, otherCA.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(c.Port)
	noAnswer := silentListener(t)
	cases := []struct {
		name string
		opts storage.Options
		want string
	}{
		{"wrong CA", storage.Options{DSN: withQuery(t, good, "sslrootcert", otherCAFile)}, "not signed by a trusted CA"},
		{"wrong host name", storage.Options{DSN: withHost(t, good, "127.0.0.1:"+port)}, `does not match host "127.0.0.1"`},
		{"sslmode=disable against hostssl only", storage.Options{DSN: withQuery(t, good, "sslmode", "disable")}, "accepts only TLS connections"},
		{"wrong password", storage.Options{DSN: good, Password: "not-the-password"}, `rejected the password for role "insta485_app"`},
		{"missing database", storage.Options{DSN: c.AppURL("nosuchdb")}, `database "nosuchdb" does not exist`},
		{"closed port", storage.Options{DSN: withHost(t, good, "localhost:"+strconv.Itoa(testenv.FreePort(t)))}, "nothing is listening"},
		{"unresolvable host", storage.Options{DSN: withHost(t, good, "insta485-no-such-host.invalid:"+port)}, "cannot resolve"},
		{"no answer", storage.Options{DSN: withHost(t, good, noAnswer), ConnectTimeout: 500 * time.Millisecond}, "did not answer within the connect timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := dbadmin.Open(ctx, tc.opts)
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want an error saying %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open = %v\nwant it to say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), c.AppPassword) {
				t.Errorf("the error leaks the password: %v", err)
			}
		})
	}

	t.Run("libpq environment variables", func(t *testing.T) {
		// The URL says nothing about TLS: PGSSLMODE and PGSSLROOTCERT do.
		t.Setenv("PGSSLMODE", "verify-full")
		t.Setenv("PGSSLROOTCERT", c.CAFile)
		bare := "postgres://" + c.AppRole + "@localhost:" + port + "/app"
		s, err := dbadmin.Open(ctx, storage.Options{DSN: bare, Password: c.AppPassword})
		if err != nil {
			t.Fatalf("Open with PGSSLMODE and PGSSLROOTCERT: %v", err)
		}
		s.Close()
		t.Setenv("PGSSLROOTCERT", otherCAFile)
		if _, err := dbadmin.Open(ctx, storage.Options{DSN: bare, Password: c.AppPassword}); err == nil || !strings.Contains(err.Error(), "not signed by a trusted CA") {
			t.Errorf("PGSSLROOTCERT naming the wrong CA: Open = %v, want a CA error", err)
		}
	})

	t.Run("statement timeout", func(t *testing.T) {
		s, err := dbadmin.Open(ctx, storage.Options{DSN: good, StatementTimeout: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.QueryForTest(ctx, "SELECT pg_sleep(30)"); err == nil {
			t.Fatal("a 30 s statement finished under a 300 ms statement timeout")
		} else if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "canceling statement") {
			t.Errorf("timed-out statement: %v, want a deadline or cancel error", err)
		}
		if err := s.QueryForTest(ctx, "SELECT 1"); err != nil {
			t.Errorf("the pool is unusable after a statement timed out: %v", err)
		}
		// The server cancelled it too: nothing is left sleeping.
		var n int
		admin := c.AdminConn(t)
		for range 50 {
			if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if n != 0 {
			t.Errorf("the timed-out statement still runs on the server")
		}
	})
}

// fixes returns the SQL statements a privilege error tells the
// administrator to run (the indented lines ending in ";").
func fixes(err error) []string {
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^    ([A-Z][^;\n]*;)`).FindAllStringSubmatch(err.Error(), -1) {
		out = append(out, m[1])
	}
	return out
}

// TestPrivilegeErrorsNameTheFix: on PostgreSQL 15 an ordinary role may not
// create tables in schema public of a database it does not own, and tables
// someone else loaded belong to them. Each task says so before changing
// anything, and the statements it names are the fix: after running them
// the task works.
func TestPrivilegeErrorsNameTheFix(t *testing.T) {
	c := testenv.NewCluster(t, testenv.ClusterOptions{Managed: true})
	ctx := context.Background()
	role := c.AppRole
	appOpts := func(db string) storage.Options { return storage.Options{DSN: c.AppURL(db)} }

	t.Run("PG15 public schema without the grant", func(t *testing.T) {
		c.Exec(t, "postgres", "CREATE DATABASE classic")
		err := dbadmin.Create(ctx, appOpts("classic"))
		var pe *dbadmin.PrivilegeError
		if !errors.As(err, &pe) {
			t.Fatalf("Create without CREATE on public = %v, want a privilege error", err)
		}
		for _, want := range []string{"GRANT CREATE ON SCHEMA public TO " + role + ";", "ALTER DATABASE classic OWNER TO " + role + ";", "database classic"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
		c.Exec(t, "classic", fixes(err)[0])
		if err := dbadmin.Create(ctx, appOpts("classic")); err != nil {
			t.Fatalf("Create after %s: %v", fixes(err), err)
		}
	})

	t.Run("db copy into the PG15 public schema without the grant", func(t *testing.T) {
		src, _, _ := testenv.CopySource(t)
		c.Exec(t, "postgres", "CREATE DATABASE moved")
		_, err := dbadmin.CopyFrom(ctx, src, appOpts("moved"), dbadmin.CopyOptions{})
		var pe *dbadmin.PrivilegeError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "GRANT CREATE ON SCHEMA public TO "+role+";") {
			t.Fatalf("CopyFrom without CREATE on public = %v, want the GRANT CREATE fix", err)
		}
		c.Exec(t, "moved", fixes(err)[0])
		if _, err := dbadmin.CopyFrom(ctx, src, appOpts("moved"), dbadmin.CopyOptions{}); err != nil {
			t.Fatalf("CopyFrom after %s: %v", fixes(err), err)
		}
	})

	t.Run("tables owned by another role", func(t *testing.T) {
		c.Exec(t, "postgres", "CREATE DATABASE loaded")
		admin := storage.Options{DSN: c.URL("postgres", c.SuperPassword, "loaded")}
		if err := dbadmin.Create(ctx, admin); err != nil {
			t.Fatal(err)
		}
		// No privileges at all: serve refuses to start, naming the GRANTs.
		_, err := dbadmin.Open(ctx, appOpts("loaded"))
		var pe *dbadmin.PrivilegeError
		if !errors.As(err, &pe) {
			t.Fatalf("Open without table privileges = %v, want a privilege error", err)
		}
		for _, want := range []string{
			"GRANT SELECT, INSERT, UPDATE, DELETE ON public.posts TO " + role + ";",
			"GRANT SELECT ON public.schema_migrations TO " + role + ";",
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
		c.Exec(t, "loaded", fixes(err)...)
		s, err := dbadmin.Open(ctx, appOpts("loaded"))
		if err != nil {
			t.Fatalf("Open after the GRANTs it named: %v", err)
		}
		// Serving works on granted tables (identity columns included)...
		if _, err := s.CreatePost(ctx, "awdeorio", "e1a7c5c32973862ee15173b0259e3efdb6a391af.jpg"); err != nil {
			t.Errorf("CreatePost with the GRANTs: %v", err)
		}
		// ...and needs to run the read functions (migration 0005).
		c.Exec(t, "loaded", "REVOKE EXECUTE ON FUNCTION insta485_post(text, bigint, boolean) FROM PUBLIC")
		if _, err := dbadmin.Open(ctx, appOpts("loaded")); !errors.As(err, &pe) ||
			!strings.Contains(err.Error(), "GRANT EXECUTE ON FUNCTION public.insta485_post(text, bigint, boolean) TO "+role+";") {
			t.Fatalf("Open without EXECUTE on insta485_post = %v, want the GRANT EXECUTE fix", err)
		} else {
			c.Exec(t, "loaded", fixes(err)...)
		}
		// ...but a bulk load and destroy need to own the tables.
		_, err = dbadmin.Populate(ctx, s, dbadmin.Bulk{Posts: 1, Files: []string{"e1a7c5c32973862ee15173b0259e3efdb6a391af.jpg"}, Seed: 1})
		s.Close()
		t.Log(err)
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "ALTER TABLE public.posts OWNER TO "+role+";") || !strings.Contains(err.Error(), "belong to role postgres") {
			t.Fatalf("Populate on tables owned by postgres = %v, want the ALTER TABLE … OWNER fix", err)
		}
		derr := dbadmin.Destroy(ctx, appOpts("loaded"))
		if !errors.As(derr, &pe) || !strings.Contains(derr.Error(), "ALTER TABLE public.users OWNER TO "+role+";") {
			t.Fatalf("Destroy on tables owned by postgres = %v, want the ALTER TABLE … OWNER fix", derr)
		}
		c.Exec(t, "loaded", fixes(err)...)
		s, err = dbadmin.Open(ctx, appOpts("loaded"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dbadmin.Populate(ctx, s, dbadmin.Bulk{Posts: 1, Files: []string{"e1a7c5c32973862ee15173b0259e3efdb6a391af.jpg"}, Seed: 1}); err != nil {
			t.Errorf("Populate after the ALTER TABLEs it named: %v", err)
		}
		s.Close()
		if err := dbadmin.Destroy(ctx, appOpts("loaded")); err != nil {
			t.Errorf("Destroy after the ALTER TABLEs: %v", err)
		}
	})
}
