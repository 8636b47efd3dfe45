package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// startPgBouncer runs PgBouncer in transaction mode in front of the server
// dsn names, with a pool of poolSize server connections, and returns the
// URL that reaches dsn's database through it. PgBouncer refuses to run as
// root, so under root it runs as the postgres OS user. pid is PgBouncer's
// process, whose CPU time the benchmark reports.
func startPgBouncer(dir, dsn string, poolSize int) (pooled string, pid int, stop func(), err error) {
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		bin = "/usr/sbin/pgbouncer"
		if _, serr := os.Stat(bin); serr != nil {
			return "", 0, nil, fmt.Errorf("--pgbouncer needs pgbouncer installed (apt-get install pgbouncer): %w", err)
		}
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", 0, nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return "", 0, nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	// Absolute: PgBouncer runs in pdir and reads the paths in its
	// configuration from there.
	pdir, err := filepath.Abs(filepath.Join(dir, "pgbouncer"))
	if err != nil {
		return "", 0, nil, err
	}
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		return "", 0, nil, err
	}
	host, pgPort := u.Hostname(), u.Port()
	if pgPort == "" {
		pgPort = "5432"
	}
	pw, _ := u.User.Password()
	conf := strings.Join([]string{
		"[databases]",
		fmt.Sprintf("* = host=%s port=%s", host, pgPort),
		"[pgbouncer]",
		"listen_addr = 127.0.0.1",
		"listen_port = " + port,
		"unix_socket_dir =",
		"auth_type = trust",
		"auth_file = " + filepath.Join(pdir, "userlist.txt"),
		"pool_mode = transaction",
		fmt.Sprintf("default_pool_size = %d", poolSize),
		"max_client_conn = 500",
		"logfile = " + filepath.Join(pdir, "pgbouncer.log"),
	}, "\n") + "\n"
	users := fmt.Sprintf("%q %q\n", u.User.Username(), pw)
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		if pu, err := user.Lookup("postgres"); err == nil {
			uid, _ := strconv.Atoi(pu.Uid)
			gid, _ := strconv.Atoi(pu.Gid)
			cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		}
	}
	for name, content := range map[string]string{"pgbouncer.ini": conf, "userlist.txt": users} {
		p := filepath.Join(pdir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			return "", 0, nil, err
		}
	}
	for _, p := range []string{pdir, filepath.Join(pdir, "pgbouncer.ini"), filepath.Join(pdir, "userlist.txt")} {
		if cred != nil {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return "", 0, nil, err
			}
		}
	}
	_ = os.Remove(filepath.Join(pdir, "pgbouncer.log"))
	cmd := exec.Command(bin, filepath.Join(pdir, "pgbouncer.ini"))
	cmd.Dir = pdir
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	if err := cmd.Start(); err != nil {
		return "", 0, nil, fmt.Errorf("start pgbouncer: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		select {
		case <-exited:
			return "", 0, nil, fmt.Errorf("pgbouncer exited at start: see %s", filepath.Join(pdir, "pgbouncer.log"))
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return "", 0, nil, fmt.Errorf("pgbouncer never listened on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	pu := *u
	pu.Host = addr
	logf("PgBouncer (transaction mode, pool of %d) on %s", poolSize, addr)
	return pu.String(), cmd.Process.Pid, stop, nil
}
