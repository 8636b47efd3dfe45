package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Patroni timings of the test cluster. Patroni's defaults (ttl 30,
// loop_wait 10, retry_timeout 10) would make a failover take about half a
// minute; these keep it near ten seconds. The leader lock lives ttl seconds
// after the leader's last refresh, so a dead leader's standby takes over
// within ttl + loop_wait.
const (
	PatroniTTL          = 10
	PatroniLoopWait     = 1
	PatroniRetryTimeout = 4
)

// PatroniCluster is a highly available PostgreSQL on loopback the way
// operators run one: etcd (one member) holding the leader lock, and
// PostgreSQL nodes each managed by its own Patroni, which elects the
// leader, promotes a standby when the leader is lost, and rejoins an old
// leader as a standby. Synchronous mode is on: a commit returns only once
// the synchronous standby has it, so a failover loses no acknowledged
// write. Everything is stopped and removed when the test ends.
type PatroniCluster struct {
	t     testing.TB
	base  string // owned by the postgres OS user
	Scope string
	Nodes []*PatroniNode
	// SuperPassword is the password of the superuser postgres; AppRole and
	// AppPassword an ordinary login role the site connects as.
	SuperPassword        string
	AppRole, AppPassword string

	etcd     *exec.Cmd
	etcdDone chan struct{}
	etcdURL  string
}

// PatroniNode is one PostgreSQL server and its Patroni.
type PatroniNode struct {
	c          *PatroniCluster
	Name       string
	Port       int // PostgreSQL
	APIPort    int // Patroni's REST API
	DataDir    string
	ConfigFile string
	LogFile    string

	cmd  *exec.Cmd
	done chan struct{}
}

// NewPatroniCluster starts etcd and n nodes under Patroni, waits until the
// first is the leader and every other one streams from it, and creates
// AppRole. It needs Debian's patroni and etcd-server (skipped without them,
// failed under CI).
func NewPatroniCluster(t testing.TB, n int) *PatroniCluster {
	t.Helper()
	for _, tool := range []string{"patroni", "patronictl", "etcd"} {
		LookTool(t, tool)
	}
	bin := PostgresBinDir()
	if bin == "" {
		NeedTool(t, "PostgreSQL server binaries (initdb, pg_ctl)", "apt-get install postgresql")
	}
	base, err := os.MkdirTemp("", "insta485-patroni-")
	if err != nil {
		t.Fatal(err)
	}
	c := &PatroniCluster{
		t: t, base: base, Scope: RandomName("insta485-"),
		SuperPassword: RandomName("su"),
		AppRole:       "insta485_app", AppPassword: RandomName("app"),
	}
	t.Cleanup(func() { c.stop(t) })
	if err := chownToPostgres(base); err != nil {
		t.Fatal(err)
	}
	c.startEtcd(t)
	for i := range n {
		node := &PatroniNode{
			c: c, Name: fmt.Sprintf("node%d", i+1),
			Port: FreePort(t), APIPort: FreePort(t),
		}
		node.DataDir = filepath.Join(base, node.Name)
		node.ConfigFile = filepath.Join(base, node.Name+".yml")
		node.LogFile = filepath.Join(base, node.Name+".log")
		if err := c.writeConfig(node, bin); err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, node)
	}
	// The first node bootstraps the cluster (initdb) and takes the lock;
	// the others then copy it with pg_basebackup.
	c.Nodes[0].Start(t)
	c.WaitLeader(t, 60*time.Second, nil)
	for _, node := range c.Nodes[1:] {
		node.Start(t)
	}
	c.WaitStreaming(t, 60*time.Second)
	c.Exec(t, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '%s'", c.AppRole, c.AppPassword))
	return c
}

func (c *PatroniCluster) startEtcd(t testing.TB) {
	t.Helper()
	client, peer := FreePort(t), FreePort(t)
	c.etcdURL = fmt.Sprintf("http://127.0.0.1:%d", client)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	logf, err := os.Create(filepath.Join(c.base, "etcd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	c.etcd = exec.Command("etcd", "--name", "etcd1", "--data-dir", filepath.Join(c.base, "etcd"),
		"--listen-client-urls", c.etcdURL, "--advertise-client-urls", c.etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "etcd1="+peerURL, "--unsafe-no-fsync")
	c.etcd.Stdout, c.etcd.Stderr = logf, logf
	c.etcd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.etcd.Start(); err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	c.etcdDone = make(chan struct{})
	go func() { _ = c.etcd.Wait(); close(c.etcdDone) }()
	waitUntil(t, 30*time.Second, "etcd to answer", func() bool {
		res, err := http.Get(c.etcdURL + "/health")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
}

// writeConfig writes node's Patroni configuration. The bootstrap section
// is read only by the node that initialises the cluster.
func (c *PatroniCluster) writeConfig(node *PatroniNode, bin string) error {
	q := func(s string) string { return strconv.Quote(s) }
	conf := fmt.Sprintf(`scope: %s
name: %s
log: {level: INFO, format: "%%(asctime)s %%(levelname)s: %%(message)s"}
restapi:
  listen: 127.0.0.1:%d
  connect_address: 127.0.0.1:%d
etcd3:
  hosts: [%s]
bootstrap:
  dcs:
    ttl: %d
    loop_wait: %d
    retry_timeout: %d
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_log_hints: "on"
        fsync: "off"
        max_connections: 100
  initdb: [{encoding: UTF8}, {locale: C.UTF-8}, {auth: scram-sha-256}]
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 scram-sha-256
    - host replication all 127.0.0.1/32 scram-sha-256
postgresql:
  listen: 127.0.0.1:%d
  connect_address: 127.0.0.1:%d
  data_dir: %s
  bin_dir: %s
  pgpass: %s
  authentication:
    superuser: {username: postgres, password: %s}
    replication: {username: replicator, password: %s}
    rewind: {username: postgres, password: %s}
  parameters:
    unix_socket_directories: %s
`, c.Scope, node.Name, node.APIPort, node.APIPort, q(strings.TrimPrefix(c.etcdURL, "http://")),
		PatroniTTL, PatroniLoopWait, PatroniRetryTimeout,
		node.Port, node.Port, q(node.DataDir), q(bin), q(filepath.Join(c.base, node.Name+".pgpass")),
		q(c.SuperPassword), q(c.SuperPassword+"r"), q(c.SuperPassword), q(c.base))
	if err := os.WriteFile(node.ConfigFile, []byte(conf), 0o600); err != nil {
		return err
	}
	return chownToPostgres(node.ConfigFile)
}

// Start runs the node's Patroni (as the postgres OS user when the test
// runs as root: PostgreSQL refuses root), which starts its PostgreSQL.
func (n *PatroniNode) Start(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(n.LogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	n.cmd = exec.Command("patroni", n.ConfigFile)
	n.cmd.Dir = n.c.base
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: postgresCredential()}
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start patroni for %s: %v", n.Name, err)
	}
	n.done = make(chan struct{})
	cmd, done := n.cmd, n.done
	go func() { _ = cmd.Wait(); close(done) }()
}

// KillPostmaster kills the node's PostgreSQL with SIGKILL, the way a
// crashed machine loses it: no shutdown checkpoint, connections cut.
func (n *PatroniNode) KillPostmaster(t testing.TB) {
	t.Helper()
	pid := n.postmasterPID()
	if pid <= 0 {
		t.Fatalf("%s: no postmaster.pid in %s", n.Name, n.DataDir)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 the postmaster of %s: %v", n.Name, err)
	}
}

// KillPatroni kills the node's Patroni with SIGKILL: it neither releases
// the leader lock nor restarts PostgreSQL.
func (n *PatroniNode) KillPatroni(t testing.TB) {
	t.Helper()
	if n.cmd == nil {
		return
	}
	_ = syscall.Kill(n.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("patroni of %s did not die", n.Name)
	}
}

// postmasterPID is the pid in the node's postmaster.pid, when that process
// is still this node's PostgreSQL (a stale file's pid may have been reused).
func (n *PatroniNode) postmasterPID() int {
	b, err := os.ReadFile(filepath.Join(n.DataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if pid <= 0 || err != nil || !strings.Contains(string(cmdline), n.DataDir) {
		return 0
	}
	return pid
}

// Role asks the node's Patroni REST API what it is: "primary" (it holds
// the leader lock and writes), "replica", or "" when it does not answer.
// HAProxy asks the same /primary endpoint.
func (n *PatroniNode) Role() string {
	client := &http.Client{Timeout: time.Second}
	for _, role := range []string{"primary", "replica"} {
		res, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/%s", n.APIPort, role))
		if err != nil {
			return ""
		}
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			return role
		}
	}
	return ""
}

// Leader returns the node whose Patroni says it is the primary, or nil.
func (c *PatroniCluster) Leader() *PatroniNode {
	for _, n := range c.Nodes {
		if n.Role() == "primary" {
			return n
		}
	}
	return nil
}

// WaitLeader waits until a node other than not is the primary and returns
// it.
func (c *PatroniCluster) WaitLeader(t testing.TB, timeout time.Duration, not *PatroniNode) *PatroniNode {
	t.Helper()
	var leader *PatroniNode
	waitUntil(t, timeout, "a Patroni leader", func() bool {
		leader = c.Leader()
		return leader != nil && leader != not
	})
	return leader
}

// WaitStreaming waits until every node is up and every standby streams
// from the leader, one of them as its synchronous standby.
func (c *PatroniCluster) WaitStreaming(t testing.TB, timeout time.Duration) {
	t.Helper()
	waitUntil(t, timeout, "every standby to stream from the leader", func() bool {
		leader := c.Leader()
		if leader == nil {
			return false
		}
		for _, n := range c.Nodes {
			if n != leader && n.Role() != "replica" {
				return false
			}
		}
		conn, err := pgx.Connect(context.Background(), leader.URL("postgres", c.SuperPassword, "postgres"))
		if err != nil {
			return false
		}
		defer conn.Close(context.Background())
		var streaming, sync int
		err = conn.QueryRow(context.Background(),
			"SELECT count(*), count(*) FILTER (WHERE sync_state = 'sync') FROM pg_stat_replication WHERE state = 'streaming'").Scan(&streaming, &sync)
		return err == nil && streaming == len(c.Nodes)-1 && sync >= 1
	})
}

// Patronictl runs patronictl against the cluster.
func (c *PatroniCluster) Patronictl(args ...string) ([]byte, error) {
	cmd := exec.Command("patronictl", append([]string{"-c", c.Nodes[0].ConfigFile}, args...)...)
	if cred := postgresCredential(); cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	cmd.Dir = c.base
	return cmd.CombinedOutput()
}

// URL connects to database on this node only.
func (n *PatroniNode) URL(user, password, database string) string {
	u := &url.URL{Scheme: "postgres", User: url.UserPassword(user, password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port)), Path: "/" + database,
		RawQuery: "sslmode=disable"}
	return u.String()
}

// MultiHostURL connects as AppRole to database on whichever node is the
// primary: every node's address, and target_session_attrs=read-write, so
// the client tries them in turn and keeps the one that takes writes.
func (c *PatroniCluster) MultiHostURL(database string) string {
	var hosts []string
	for _, n := range c.Nodes {
		hosts = append(hosts, net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port)))
	}
	u := &url.URL{Scheme: "postgres", User: url.UserPassword(c.AppRole, c.AppPassword),
		Host: strings.Join(hosts, ","), Path: "/" + database,
		RawQuery: "sslmode=disable&target_session_attrs=read-write"}
	return u.String()
}

// NewDatabase creates an empty database owned by AppRole on the leader
// (it reaches the standbys through replication) and returns its name.
func (c *PatroniCluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := RandomName("insta485_test_")
	c.Exec(t, "postgres", fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, c.AppRole))
	return name
}

// Exec runs statements as the superuser on database on the leader.
func (c *PatroniCluster) Exec(t testing.TB, database string, statements ...string) {
	t.Helper()
	leader := c.WaitLeader(t, 30*time.Second, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, leader.URL("postgres", c.SuperPassword, database))
	if err != nil {
		t.Fatalf("connect to %s on the Patroni leader %s: %v", database, leader.Name, err)
	}
	defer conn.Close(context.Background())
	for _, q := range statements {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// stop kills every Patroni, PostgreSQL and etcd the cluster started and
// removes its files, printing the logs' ends when t failed.
func (c *PatroniCluster) stop(t testing.TB) {
	for _, n := range c.Nodes {
		if n.cmd != nil {
			_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
			<-n.done
		}
		// PostgreSQL may have outlived its Patroni (killed on purpose).
		if pid := n.postmasterPID(); pid > 0 {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				waitGone(pid)
			}
		}
		if t.Failed() {
			if b, err := os.ReadFile(n.LogFile); err == nil {
				t.Logf("Patroni log of %s:\n%s", n.Name, lastLines(string(b), 30))
			}
		}
	}
	if c.etcd != nil {
		_ = syscall.Kill(-c.etcd.Process.Pid, syscall.SIGKILL)
		<-c.etcdDone
	}
	os.RemoveAll(c.base)
}

// waitGone waits (briefly) until process pid has exited.
func waitGone(pid int) {
	for range 100 {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitUntil polls ok every 100ms and fails t when it has not held within
// timeout.
func waitUntil(t testing.TB, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
