package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/testenv"
)

// The commands end to end, through the classic wrapper too: back up a
// site made by db create, check the backup, restore it into the other
// backend, and refuse usage mistakes with a message.
func TestBackupAndRestoreCommands(t *testing.T) {
	ctx := context.Background()
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		dir := t.TempDir()
		site := testenv.NewDatabase(t, backend)
		uploads := filepath.Join(dir, "uploads")
		db := func(args ...string) (string, error) {
			var out, errOut bytes.Buffer
			err := run(ctx, append([]string{"db"}, args...), &out, &errOut)
			return out.String() + errOut.String(), err
		}
		if out, err := db("create", "--database", site.DSN, "--uploads", uploads); err != nil {
			t.Fatalf("db create: %v\n%s", err, out)
		}
		backup := filepath.Join(dir, "backup")
		// The wrapper passes the verb and its flags through.
		wrapper := exec.Command("../../bin/insta485db", "backup", "--to", backup)
		wrapper.Env = append(os.Environ(), "INSTA485_DATABASE="+site.DSN, "INSTA485_UPLOADS="+uploads)
		if out, err := wrapper.CombinedOutput(); err != nil || !strings.Contains(string(out), "backed up in") {
			t.Fatalf("bin/insta485db backup: %v\n%s", err, out)
		}
		out, err := db("restore", "--verify", "--from", backup)
		if err != nil || !strings.Contains(out, "verified") || !strings.Contains(out, "posts      4") {
			t.Fatalf("db restore --verify: %v\n%s", err, out)
		}
		other := "postgres"
		if backend == "postgres" {
			other = "sqlite"
		}
		target := testenv.NewDatabase(t, other)
		out, err = db("restore", "--from", backup, "--database", target.DSN, "--uploads", filepath.Join(dir, "restored"))
		if err != nil || !strings.Contains(out, "restored in") {
			t.Fatalf("db restore: %v\n%s", err, out)
		}
		// Again into the same place: refused, with what to do.
		out, err = db("restore", "--from", backup, "--database", target.DSN, "--uploads", filepath.Join(dir, "restored"))
		if err == nil || !strings.Contains(out, "db destroy") && !strings.Contains(err.Error(), "db destroy") {
			t.Errorf("restore over a restored site: %v\n%s", err, out)
		}
		for _, args := range [][]string{{"backup"}, {"restore"}, {"restore", "--verify"}} {
			if _, err := db(args...); err == nil || !strings.Contains(err.Error(), "needs --") {
				t.Errorf("db %q: %v, want a usage error naming the flag", args, err)
			}
		}
		if _, err := db("restore", "--verify", "--from", filepath.Join(dir, "nowhere")); err == nil || !strings.Contains(err.Error(), "no backup at") {
			t.Errorf("verify a missing backup: %v", err)
		}
	})
}
