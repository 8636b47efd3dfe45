package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesADeliveryTheStoreCannotDo: `serve` stops at once, before
// opening the database or listening, with a message naming the fix.
func TestServeRefusesADeliveryTheStoreCannotDo(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--uploads-delivery", "redirect"}, "needs an object store"},
		{[]string{"--uploads-delivery", "x-accel"}, "use proxy, redirect or x-accel-redirect"},
		{[]string{"--uploads-delivery", "x-accel-redirect", "--uploads-url-ttl", "2h"}, "between 10s and 1h"},
	} {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--database", filepath.Join(dir, "db.sqlite3"),
			"--uploads", filepath.Join(dir, "uploads"), "--secret-key-file", filepath.Join(dir, "key")}, tc.args...)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var out, errOut bytes.Buffer
		err := run(ctx, args, &out, &errOut)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %v: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
}
