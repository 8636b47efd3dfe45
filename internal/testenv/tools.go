package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// LookTool returns the path of the command-line tool name. When it is not
// installed the test is skipped, except under CI (CI set), where that fails
// it: .ci/run installs every tool a test needs.
func LookTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required under CI: %v", name, err)
		}
		t.Skipf("skipping: %s is not installed", name)
	}
	return p
}

// cachedTool returns the path of a tool .ci/run builds with `go install
// module` into ${XDG_CACHE_HOME:-$HOME/.cache}/insta485/bin: $envVar when
// set, else name on PATH, else the cached build. Without one the test is
// skipped, except under CI, where it fails.
func cachedTool(t testing.TB, name, envVar, module string) string {
	t.Helper()
	if p := os.Getenv(envVar); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", envVar, p, err)
		}
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(home, ".cache")
		}
	}
	p := filepath.Join(cache, "insta485", "bin", name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	hint := fmt.Sprintf("%s not found (set %s, or: go install %s)", name, envVar, module)
	if os.Getenv("CI") != "" {
		t.Fatal(hint + "; it is required under CI")
	}
	t.Skip(hint)
	return ""
}

// Litestream returns the path of the litestream binary: $INSTA485_LITESTREAM,
// else litestream on PATH, else the one .ci/run builds (see cachedTool).
func Litestream(t testing.TB) string {
	t.Helper()
	return cachedTool(t, "litestream", "INSTA485_LITESTREAM", "github.com/benbjohnson/litestream/cmd/litestream@v0.5.18")
}
