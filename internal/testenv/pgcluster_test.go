package testenv

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestClusterManaged: a managed-like cluster takes verified TLS with a
// password, refuses plain TCP, and survives Stop and Start.
func TestClusterManaged(t *testing.T) {
	c := NewCluster(t, ClusterOptions{Managed: true, Conf: []string{"application_name = 'from_conf'"}})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.AppURL("postgres"))
	if err != nil {
		t.Fatalf("app role over verify-full: %v", err)
	}
	var ssl bool
	var super string
	if err := conn.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
		t.Errorf("connection not over TLS: ssl=%v err=%v", ssl, err)
	}
	if err := conn.QueryRow(ctx, "SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil || super != "false" {
		t.Errorf("app role superuser = %q, %v", super, err)
	}
	conn.Close(ctx)

	plain := strings.Replace(c.AppURL("postgres"), "sslmode=verify-full", "sslmode=disable", 1)
	if _, err := pgx.Connect(ctx, plain); err == nil || !strings.Contains(err.Error(), "pg_hba.conf") {
		t.Errorf("plain TCP to a hostssl-only cluster: got %v, want a pg_hba.conf refusal", err)
	}

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(ctx, c.AdminURL()); err == nil {
		t.Fatal("connected to a stopped cluster")
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	c.Exec(t, "postgres", "SELECT 1")
}

// TestReplica: a replica made with pg_basebackup -R is read-only, streams
// from the primary, and replays a commit only after its apply delay.
func TestReplica(t *testing.T) {
	pair := NewReplicaPair(t, 1500*time.Millisecond)
	pair.Primary.Exec(t, "postgres", "CREATE TABLE marks (n int)", "INSERT INTO marks VALUES (1)")
	var inRecovery bool
	pair.Replica.QueryRow(t, "postgres", "SELECT pg_is_in_recovery()", &inRecovery)
	if !inRecovery {
		t.Fatal("the replica is not in recovery")
	}
	var exists bool
	pair.Replica.QueryRow(t, "postgres", "SELECT to_regclass('marks') IS NOT NULL", &exists)
	if exists {
		t.Error("the replica replayed a commit before its apply delay")
	}
	deadline := time.Now().Add(30 * time.Second)
	for !exists && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		pair.Replica.QueryRow(t, "postgres", "SELECT to_regclass('marks') IS NOT NULL", &exists)
	}
	if !exists {
		t.Fatal("the replica never replayed the primary's commit")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pair.Replica.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "INSERT INTO marks VALUES (2)"); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("write on the replica: %v, want a read-only error", err)
	}
}
