package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// startServe runs `insta485 serve args…` on a free port until the test
// ends and returns its base URL once /readyz answers 200.
func startServe(t *testing.T, args ...string) (string, *testenv.LockedBuffer) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &testenv.LockedBuffer{}
	full := append([]string{"serve", "--addr", addr, "--secret-key-file", filepath.Join(t.TempDir(), "secret_key")}, args...)
	go func() { done <- run(ctx, full, logs, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
		if t.Failed() {
			t.Logf("serve's logs:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	for range 200 {
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s", err, logs.String())
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, logs
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("serve never became ready\n%s", logs.String())
	return "", nil
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// loginClient logs in through the login form and returns a client holding
// the session cookie.
func loginClient(base, username, password string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	body, status, err := get(c, base+"/accounts/login/")
	if err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("GET /accounts/login/: %d %v", status, err)
	}
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		return nil, errors.New("no CSRF token on the login page")
	}
	resp, err := c.PostForm(base+"/accounts/?target=/", url.Values{
		"operation": {"login"}, "username": {username}, "password": {password}, "csrf_token": {m[1]}})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("login as %s: status %d", username, resp.StatusCode)
	}
	return c, nil
}

func get(c *http.Client, u string) (string, int, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode, err
}

// checkSamplePictures logs in and fetches every sample picture.
func checkSamplePictures(t *testing.T, base string) {
	t.Helper()
	c, err := loginClient(base, "awdeorio", "chickens")
	if err != nil {
		t.Fatal(err)
	}
	body, status, err := get(c, base+"/")
	if err != nil || status != http.StatusOK || !strings.Contains(body, "122a7d27ca1d7420a1072f695d9290fad4501a41.jpg") {
		t.Fatalf("GET / = %d, %v; want the feed with the sample posts", status, err)
	}
	profiles, posts := dbadmin.SampleImages()
	for _, name := range append(profiles, posts...) {
		resp, err := c.Get(base + "/uploads/" + name)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" {
			t.Errorf("GET /uploads/%s = %d %s, want 200 image/jpeg", name, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}

// guideAdminSQL returns the administrator's statements of
// docs/postgresql.md, so the test runs what the guide says.
func guideAdminSQL(t *testing.T, password string) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/postgresql.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range strings.Split(string(doc), "```sql\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		if strings.Contains(block, "CREATE ROLE insta485") {
			var lines []string
			for _, l := range strings.Split(block, "\n") {
				lines = append(lines, strings.TrimSpace(l))
			}
			return strings.ReplaceAll(strings.Join(lines, "\n"), "choose-a-long-random-password", password)
		}
	}
	t.Fatal("docs/postgresql.md has no sql block creating role insta485")
	return ""
}

func needPsql(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("psql"); err != nil {
		testenv.NeedTool(t, "psql", "apt-get install postgresql-client")
	}
}

// TestClassicSetupAsTheGuideSays: on a managed-like PostgreSQL 15 (TLS
// only, scram-sha-256), the administrator runs the guide's statements, the
// app role loads sql/schema.sql and sql/data.sql with psql, and serve shows
// the pages and the sample pictures, which no tool had written before.
func TestClassicSetupAsTheGuideSays(t *testing.T) {
	needPsql(t)
	c := testenv.NewCluster(t, testenv.ClusterOptions{Managed: true})
	password := testenv.RandomName("pw")
	script := filepath.Join(t.TempDir(), "admin.sql")
	if err := os.WriteFile(script, []byte(guideAdminSQL(t, password)), 0o600); err != nil {
		t.Fatal(err)
	}
	psql := func(url string, args ...string) {
		t.Helper()
		cmd := exec.Command("psql", append([]string{"-X", "-q", "-v", "ON_ERROR_STOP=1", url}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("psql %v: %v\n%s", args, err, out)
		}
	}
	psql(c.AdminURL(), "-f", script)
	appURL := c.URL("insta485", password, "insta485")
	psql(appURL, "-f", "../../sql/schema.sql", "-f", "../../sql/data.sql")

	uploads := filepath.Join(t.TempDir(), "uploads")
	base, logs := startServe(t, "--database", appURL, "--uploads", uploads)
	checkSamplePictures(t, base)
	if !strings.Contains(logs.String(), "wrote the sample pictures") {
		t.Errorf("serve did not say it wrote the missing sample pictures:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "verify-full") {
		t.Errorf("serve warned about TLS on a verified loopback connection:\n%s", logs.String())
	}
}

// TestBehindPgBouncerEndToEnd: db create, random and dump, and serve with
// several concurrent clients logging in, reading pages, the feed API and
// pictures and writing comments, all through a real PgBouncer in
// transaction and in session mode: zero errors.
func TestBehindPgBouncerEndToEnd(t *testing.T) {
	c := testenv.NewCluster(t, testenv.ClusterOptions{Managed: true})
	for _, mode := range []string{"transaction", "session"} {
		t.Run(mode, func(t *testing.T) {
			db := "site_" + mode
			c.Exec(t, "postgres", "CREATE DATABASE "+db+" OWNER "+c.AppRole)
			size := 2
			if mode == "session" {
				size = 12 // at least the app's pool: see docs/postgresql.md
			}
			b := testenv.NewPgBouncer(t, c, mode, size)
			opts := storage.Options{DSN: b.URL(c.AppRole, c.AppPassword, db)}
			uploads := filepath.Join(t.TempDir(), "uploads")
			for _, args := range [][]string{{"create"}, {"random", "--posts", "20", "--seed", "1"}, {"dump"}} {
				if out, err := dbTool(t, opts, uploads, args...); err != nil {
					t.Fatalf("db %v through pgbouncer: %v\n%s", args, err, out)
				}
			}
			base, _ := startServe(t, "--database", opts.DSN, "--uploads", uploads, "--db-statement-timeout", "20s")
			users := map[string]string{"awdeorio": "chickens", "jflinn": "password", "michjc": "password", "jag": "password"}
			var wg sync.WaitGroup
			errs := make(chan error, 200)
			i := 0
			for name, pw := range users {
				for range 2 {
					i++
					wg.Add(1)
					go func(client int) {
						defer wg.Done()
						if err := browse(base, name, pw, client); err != nil {
							errs <- err
						}
					}(i)
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("through pgbouncer (%s mode): %v", mode, err)
			}
		})
	}
}

// browse is one client's session: log in, then pages, the API and a
// comment written and deleted, a few times over.
func browse(base, username, password string, client int) error {
	c, err := loginClient(base, username, password)
	if err != nil {
		return err
	}
	for round := range 5 {
		for _, path := range []string{"/", "/users/" + username + "/", "/explore/", "/api/v1/posts/", "/api/v1/posts/1/", "/uploads/122a7d27ca1d7420a1072f695d9290fad4501a41.jpg"} {
			if _, status, err := get(c, base+path); err != nil || status != http.StatusOK {
				return fmt.Errorf("client %d GET %s = %d %v", client, path, status, err)
			}
		}
		body := strings.NewReader(fmt.Sprintf(`{"text": "comment %d of client %d"}`, round, client))
		resp, err := c.Post(base+"/api/v1/comments/?postid=1", "application/json", body)
		if err != nil {
			return err
		}
		var created struct {
			CommentID int64 `json:"commentid"`
		}
		err = json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || err != nil {
			return fmt.Errorf("client %d POST comment = %d %v", client, resp.StatusCode, err)
		}
		req, _ := http.NewRequest(http.MethodDelete, fmt.Sprintf("%s/api/v1/comments/%d/", base, created.CommentID), nil)
		req.Header.Set("Origin", base) // as a browser does: a cookie write must be same-origin
		resp, err = c.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("client %d DELETE comment = %d", client, resp.StatusCode)
		}
	}
	return nil
}

// TestEveryDBVerbOnAMissingOrEmptyDatabaseSaysWhatToRun: migrate, dump
// and random on a database without the schema name `insta485 db create`
// (migrate used to panic), and leave no SQLite file behind.
func TestEveryDBVerbOnAMissingOrEmptyDatabaseSaysWhatToRun(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		opts := testenv.NewDatabase(t, backend)
		uploads := filepath.Join(t.TempDir(), "uploads")
		for _, verb := range []string{"migrate", "dump", "random"} {
			out, err := dbTool(t, opts, uploads, verb)
			if err == nil || !strings.Contains(err.Error(), "insta485 db create") || exitCode(err) != 1 {
				t.Errorf("db %s on an empty database = %v (exit %d), want a message naming `insta485 db create`, exit 1\n%s", verb, err, exitCode(err), out)
			}
		}
		if backend == "sqlite" {
			if _, err := os.Stat(opts.DSN); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the verbs left an SQLite file behind: %v", err)
			}
		}
	})
}

// TestDBVerbsNamePrivilegeFixes: tables an administrator loaded belong to
// the administrator. The app role's serve, db create, random, destroy and
// reset answer with the GRANT or ALTER TABLE … OWNER statements, never a
// raw "permission denied" or "must be owner".
func TestDBVerbsNamePrivilegeFixes(t *testing.T) {
	c := testenv.NewCluster(t, testenv.ClusterOptions{Managed: true})
	c.Exec(t, "postgres", "CREATE DATABASE insta485")
	if err := dbadmin.Create(context.Background(), storage.Options{DSN: c.URL("postgres", c.SuperPassword, "insta485")}); err != nil {
		t.Fatal(err)
	}
	opts := storage.Options{DSN: c.AppURL("insta485")}
	uploads := filepath.Join(t.TempDir(), "uploads")
	role := c.AppRole
	expect := func(err error, out string, what string, wants ...string) {
		t.Helper()
		if err == nil || exitCode(err) != 1 {
			t.Errorf("%s = %v (exit %d), want a failure\n%s", what, err, exitCode(err), out)
			return
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s said %q\nwant it to name %q", what, err, w)
			}
		}
		for _, raw := range []string{"SQLSTATE", "permission denied", "must be owner"} {
			if strings.Contains(err.Error(), raw) {
				t.Errorf("%s gave a raw driver error: %v", what, err)
			}
		}
	}
	grants := "GRANT SELECT, INSERT, UPDATE, DELETE ON public.users TO " + role + ";"
	out, err := dbTool(t, opts, uploads, "create")
	expect(err, out, "db create on tables it may not read", "GRANT SELECT ON public.schema_migrations TO "+role+";")
	err = run(context.Background(), []string{"serve", "--database", opts.DSN, "--uploads", uploads,
		"--addr", "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)), "--secret-key-file", filepath.Join(t.TempDir(), "k")}, io.Discard, io.Discard)
	expect(err, "", "serve without table privileges", grants)

	c.Exec(t, "insta485", "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "+role)
	out, err = dbTool(t, opts, uploads, "create")
	if !errors.Is(err, dbadmin.ErrExists) {
		t.Errorf("db create with the grants = %v, want database already exists\n%s", err, out)
	}
	owner := "ALTER TABLE public.posts OWNER TO " + role + ";"
	for _, verb := range []string{"random", "destroy", "reset"} {
		out, err := dbTool(t, opts, uploads, verb)
		expect(err, out, "db "+verb+" on tables postgres owns", owner)
	}
	if n, err := os.ReadDir(uploads); err == nil && len(n) != 0 {
		t.Errorf("refused verbs left %d files in the upload store", len(n))
	}

	// PostgreSQL 15: a database the role does not own, without the grant.
	c.Exec(t, "postgres", "CREATE DATABASE bare")
	out, err = dbTool(t, storage.Options{DSN: c.AppURL("bare")}, uploads, "create")
	expect(err, out, "db create without CREATE on schema public", "GRANT CREATE ON SCHEMA public TO "+role+";", "CREATE DATABASE bare OWNER "+role)
	if n, err := os.ReadDir(uploads); err == nil && len(n) != 0 {
		t.Errorf("a refused db create left %d files in the upload store", len(n))
	}
}
