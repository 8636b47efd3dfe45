package deploytest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/insta485/insta485/internal/testenv"
)

// haproxy is HAProxy running deploy/haproxy.cfg in front of a Patroni
// cluster of the test's own.
type haproxy struct {
	Primary, Replicas string // host:port of the two listeners
}

var (
	haproxyBind   = regexp.MustCompile(`(?m)^(\s*bind )\*:(5000|5001)$`)
	haproxyServer = regexp.MustCompile(`(?m)^\s*server db\d .*\n`)
)

// startHAProxy runs deploy/haproxy.cfg with its listeners on free loopback
// ports and its servers replaced by the cluster's nodes (PostgreSQL port,
// checked on Patroni's REST port), stopped when t ends.
func startHAProxy(t *testing.T, pc *testenv.PatroniCluster) *haproxy {
	t.Helper()
	bin := need(t, "haproxy", "haproxy")
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	h := &haproxy{Primary: freeAddr(t), Replicas: freeAddr(t)}
	conf := haproxyBind.ReplaceAllStringFunc(string(b), func(line string) string {
		m := haproxyBind.FindStringSubmatch(line)
		if m[2] == "5000" {
			return m[1] + h.Primary
		}
		return m[1] + h.Replicas
	})
	var servers strings.Builder
	for _, n := range pc.Nodes {
		fmt.Fprintf(&servers, "    server %s 127.0.0.1:%d check port %d\n", n.Name, n.Port, n.APIPort)
	}
	replaced := 0
	conf = haproxyServer.ReplaceAllStringFunc(conf, func(string) string {
		// Each listener's first server line becomes the cluster's nodes,
		// the others go.
		replaced++
		if replaced%3 == 1 {
			return servers.String()
		}
		return ""
	})
	if replaced != 6 || strings.Count(conf, h.Primary)+strings.Count(conf, h.Replicas) != 2 {
		t.Fatalf("deploy/haproxy.cfg no longer has the two listeners (bind *:5000, *:5001) of three servers each this test rewrites")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "haproxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "-db", "-f", path)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start haproxy: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "haproxy.log")); err == nil {
				t.Logf("HAProxy log:\n%s", b)
			}
		}
	})
	// HAProxy starts with every server up until its checks say
	// otherwise: wait until the primary listener leads only to the
	// leader, ten connections in a row.
	dsn := "postgres://" + url.UserPassword("postgres", pc.SuperPassword).String() + "@" + h.Primary + "/postgres?sslmode=disable&target_session_attrs=read-write"
	inARow := 0
	deadline := time.Now().Add(30 * time.Second)
	for inARow < 10 {
		if time.Now().After(deadline) {
			t.Fatal("HAProxy's primary listener did not settle on the Patroni leader within 30s")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, dsn)
		cancel()
		if err != nil {
			inARow = 0
			time.Sleep(100 * time.Millisecond)
			continue
		}
		conn.Close(context.Background())
		inARow++
	}
	return h
}
