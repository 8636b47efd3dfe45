package deploytest

import (
	"bytes"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/testenv"
)

// lossBound is how old an acknowledged write may be and still be lost when
// the machine dies: deploy/litestream.yml syncs every second, and a busy
// machine may take a few more to upload.
const lossBound = 5 * time.Second

// The embedded database replicated by Litestream (deploy/litestream.yml)
// to the uploads' bucket on a real S3 server: under a stream of comments,
// the server and Litestream are killed with SIGKILL, the database files
// are deleted, `litestream restore` brings the database back, and the
// server starts on it. Every comment acknowledged more than lossBound
// before the kill must be there; the test logs how far back the lost
// writes go (the figure docs/backups.md gives).
func TestLitestreamRestoreAfterTheMachineDies(t *testing.T) {
	litestream := testenv.Litestream(t)
	s3 := testenv.NewS3Bucket(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "var", "insta485.sqlite3")
	env := append(baseEnv(),
		"INSTA485_DATABASE="+dbPath,
		"INSTA485_UPLOADS="+s3.Spec,
		"INSTA485_SECRET_KEY="+testenv.RandomName("litestream-secret-0123456789abcdef-"),
		"INSTA485_LOG_FORMAT=json",
		"LITESTREAM_BUCKET="+s3.Bucket,
	)
	for k, v := range s3.Env() {
		env = append(env, k+"="+v)
	}
	createDB(t, env)
	conf := filepath.Join(dir, "litestream.yml")
	if err := os.WriteFile(conf, renderLitestream(t, dbPath), 0o644); err != nil {
		t.Fatal(err)
	}

	replicate := startLitestream(t, litestream, conf, env)
	waitForReplica(t, s3)
	app := startInstance(t, "app", binary, env)
	c := newClient(t, "http://"+app.Addr)
	c.login("awdeorio", "chickens")
	cookie := c.cookie(auth.CookieName)

	// Comments as fast as one client can post them, each recorded with
	// the moment its 201 arrived, until the machine dies.
	type ack struct {
		text string
		at   time.Time
	}
	acks := make(chan []ack, 1)
	go func() {
		var got []ack
		client := &http.Client{Timeout: 10 * time.Second}
		for i := 0; ; i++ {
			text := fmt.Sprintf("litestream comment %d", i)
			req, _ := http.NewRequest(http.MethodPost, "http://"+app.Addr+"/api/v1/comments/?postid=3",
				strings.NewReader(fmt.Sprintf(`{"text": %q}`, text)))
			req.Header.Set("Content-Type", "application/json")
			req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: cookie})
			res, err := client.Do(req)
			if err != nil {
				acks <- got // the server is gone
				return
			}
			res.Body.Close()
			if res.StatusCode == http.StatusCreated {
				got = append(got, ack{text, time.Now()})
			}
		}
	}()
	time.Sleep(8 * time.Second)
	killed := time.Now()
	app.signal(t, syscall.SIGKILL)
	_ = syscall.Kill(-replicate.Process.Pid, syscall.SIGKILL)
	_ = app.wait(t, 10*time.Second)
	_ = replicate.Wait()
	written := <-acks
	if len(written) < 20 {
		t.Fatalf("only %d comments acknowledged in 8 s: the test did not load the server", len(written))
	}

	// The machine is gone: so are the database, its WAL and Litestream's
	// own state beside it.
	if err := os.RemoveAll(filepath.Dir(dbPath)); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o755); err != nil {
		t.Fatal(err)
	}
	restore := exec.Command(litestream, "restore", "-config", conf, dbPath)
	restore.Env = env
	if out, err := restore.CombinedOutput(); err != nil {
		t.Fatalf("litestream restore: %v\n%s", err, out)
	}
	startLitestream(t, litestream, conf, env)
	again := startInstance(t, "app-restored", binary, env)
	// The session came back with the database.
	req, _ := http.NewRequest(http.MethodGet, "http://"+again.Addr+"/api/v1/posts/3/", nil)
	req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: cookie})
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET post 3 on the restored site: %v %v", res, err)
	} else {
		res.Body.Close()
	}

	have := restoredComments(t, dbPath)
	var lost []ack
	for _, a := range written {
		if !have[a.text] {
			lost = append(lost, a)
		}
	}
	window := time.Duration(0)
	if len(lost) > 0 {
		window = killed.Sub(lost[0].at)
	}
	t.Logf("Litestream loss window: %d of %d acknowledged comments lost, the oldest acknowledged %.1f s before the kill (sync-interval 1s; bound %s)",
		len(lost), len(written), window.Seconds(), lossBound)
	if window > lossBound {
		t.Errorf("lost %d comments acknowledged up to %.1f s before the kill (first lost: %q)", len(lost), window.Seconds(), lost[0].text)
	}
}

// renderLitestream is deploy/litestream.yml for a database at dbPath
// instead of the systemd unit's.
func renderLitestream(t *testing.T, dbPath string) []byte {
	t.Helper()
	conf, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "litestream.yml"))
	if err != nil {
		t.Fatal(err)
	}
	const unitPath = "/var/lib/insta485/var/insta485.sqlite3"
	if !bytes.Contains(conf, []byte("path: "+unitPath)) {
		t.Fatalf("deploy/litestream.yml does not replicate %s", unitPath)
	}
	return bytes.ReplaceAll(conf, []byte("path: "+unitPath), []byte("path: "+dbPath))
}

// startLitestream runs `litestream replicate` in a process group of its
// own, killed when t ends.
func startLitestream(t *testing.T, bin, conf string, env []string) *exec.Cmd {
	t.Helper()
	var out testenv.LockedBuffer
	cmd := exec.Command(bin, "replicate", "-config", conf)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start litestream: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("litestream output:\n%s", out.String())
		}
	})
	return cmd
}

// waitForReplica waits until Litestream has written the database's first
// snapshot to the bucket.
func waitForReplica(t *testing.T, s3 *testenv.S3Server) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !slices.ContainsFunc(s3.Keys(t), func(k string) bool { return strings.HasPrefix(k, "litestream/") }) {
		if time.Now().After(deadline) {
			t.Fatalf("litestream wrote nothing to the bucket in 30 s; it has %v", s3.Keys(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// restoredComments reads the comments' texts from the restored database.
func restoredComments(t *testing.T, dbPath string) map[string]bool {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT text FROM comments")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		have[s] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return have
}
