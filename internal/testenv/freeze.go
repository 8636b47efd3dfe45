package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Freeze stops every process of the cluster with SIGSTOP: the server keeps
// its connections and its port but answers nothing, as a hung machine or a
// network that drops packets does. The returned thaw (also run when t
// ends) lets it go on with SIGCONT.
func (c *Cluster) Freeze(t testing.TB) (thaw func()) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.DataDir, "postmaster.pid"))
	if err != nil {
		t.Fatalf("freeze the cluster: %v", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("freeze the cluster: postmaster.pid: %v", err)
	}
	// The postmaster first, so that it starts no new process meanwhile.
	return freeze(t, append([]int{pid}, childrenOf(pid)...))
}

// Freeze stops the S3 server with SIGSTOP (see Cluster.Freeze). Only a
// server of the test's own (StartS3) may be frozen.
func (s *S3Server) Freeze(t testing.TB) (thaw func()) {
	t.Helper()
	if s.shared {
		t.Fatal("S3Server.Freeze on a shared server: use StartS3")
	}
	return freeze(t, []int{s.proc.cmd.Process.Pid})
}

func freeze(t testing.TB, pids []int) (thaw func()) {
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatalf("SIGSTOP %d: %v", pid, err)
		}
	}
	thawed := false
	thaw = func() {
		if thawed {
			return
		}
		thawed = true
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	t.Cleanup(thaw)
	return thaw
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var kids []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			kids = append(kids, child)
		}
	}
	return kids
}
