package storage_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/testenv"
)

// TestSQLiteTwoProcessesWriteAtOnce opens the file twice, as the server and
// `insta485 db random` would, and writes through both at once: the busy
// timeout and IMMEDIATE transactions must make every write succeed.
func TestSQLiteTwoProcessesWriteAtOnce(t *testing.T) {
	opts := testenv.NewDatabase(t, "sqlite")
	ctx := context.Background()
	if err := dbadmin.Create(ctx, opts); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for p := range 2 {
		s, err := dbadmin.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 20 {
					if _, err := s.CreatePost(ctx, "jag", fmt.Sprintf("%032x.jpg", p*10000+g*100+i)); err != nil {
						errs <- err
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("write failed: %v", err)
	}
}

func TestSQLiteCorruptFileGivesAClearErrorAndResets(t *testing.T) {
	opts := testenv.NewDatabase(t, "sqlite")
	ctx := context.Background()
	if err := os.WriteFile(opts.DSN, []byte(strings.Repeat("this is not a database ", 400)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := dbadmin.Open(ctx, opts)
	if err == nil || !strings.Contains(err.Error(), "db reset") {
		t.Errorf("Open on a corrupt file = %v, want advice to run db reset", err)
	}
	if err := dbadmin.Destroy(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if err := dbadmin.Create(ctx, opts); err != nil {
		t.Fatalf("Create after Destroy of a corrupt file = %v", err)
	}
}

func TestSQLitePragmasAreOnForEveryConnection(t *testing.T) {
	s := testenv.NewStore(t, "sqlite")
	ctx := context.Background()
	got, err := s.PragmasForTest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := "journal_mode=wal foreign_keys=1 busy_timeout=10000"
	if got != want {
		t.Errorf("pragmas = %q, want %q", got, want)
	}
}
