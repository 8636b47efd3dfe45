package deploytest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestShippedHAConfigsAreValid checks deploy/haproxy.cfg with HAProxy
// and deploy/patroni.yml with Patroni's own validator, so the files the
// high-availability guide tells operators to copy stay loadable. Patroni
// also checks that the ports are free: the copy it checks listens on free
// loopback ports instead.
func TestShippedHAConfigsAreValid(t *testing.T) {
	haproxy := need(t, "haproxy", "haproxy")
	if out, err := exec.Command(haproxy, "-c", "-f", filepath.Join(repoRoot, "deploy", "haproxy.cfg")).CombinedOutput(); err != nil {
		t.Errorf("haproxy -c -f deploy/haproxy.cfg: %v\n%s", err, out)
	}

	patroni := need(t, "patroni", "patroni")
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "patroni.yml"))
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer(
		"0.0.0.0:8008", freeAddr(t),
		"0.0.0.0:5432", freeAddr(t),
	).Replace(string(b))
	if conf == string(b) {
		t.Fatal("deploy/patroni.yml no longer listens on 0.0.0.0:8008 and 0.0.0.0:5432: update this test")
	}
	path := filepath.Join(t.TempDir(), "patroni.yml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(patroni, "--validate-config", path).CombinedOutput(); err != nil {
		t.Errorf("patroni --validate-config deploy/patroni.yml: %v\n%s", err, out)
	} else if len(out) > 0 {
		fmt.Printf("%s", out)
	}
}
