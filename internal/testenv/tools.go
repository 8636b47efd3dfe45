package testenv

import (
	"os"
	"os/exec"
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
