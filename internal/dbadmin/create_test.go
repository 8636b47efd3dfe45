package dbadmin_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/testenv"
)

// TestFailedCreateLeavesNoSchema: Create is all or nothing. A failure after
// the schema is in (an interrupted sample load) must not leave a database
// that Open accepts without its sample data and that the next Create calls
// "already exists". Not parallel: it sets a package-wide fault.
func TestFailedCreateLeavesNoSchema(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		opts := testenv.NewDatabase(t, backend)
		ctx := context.Background()
		boom := errors.New("interrupted")
		restore := dbadmin.FailCreateAfterSampleForTest(boom)
		err := dbadmin.Create(ctx, opts)
		restore()
		if !errors.Is(err, boom) {
			t.Fatalf("Create with a fault = %v, want %v", err, boom)
		}
		if ok, err := dbadmin.Exists(ctx, opts); ok || err != nil {
			t.Errorf("after a failed Create Exists = %v, %v; want false, nil", ok, err)
		}
		if err := dbadmin.Create(ctx, opts); err != nil {
			t.Fatalf("Create after a failed one = %v", err)
		}
		s, err := dbadmin.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var buf strings.Builder
		if err := dbadmin.Dump(ctx, s, &buf); err != nil || !strings.Contains(buf.String(), "(7 rows)") {
			t.Errorf("after Create: %v\n%s", err, buf.String())
		}
	})
}

// TestFailedCreateLeavesNoSchemaWithReplica runs the same with a delayed
// streaming replica configured, as the storage conformance suite runs.
func TestFailedCreateLeavesNoSchemaWithReplica(t *testing.T) {
	pair := testenv.NewReplicaPair(t, time.Second)
	testenv.UseReplicaBackend(t, pair)
	TestFailedCreateLeavesNoSchema(t)
}
