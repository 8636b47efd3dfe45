package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/insta485/insta485/internal/auth"
)

// TestServeSetsASoftMemoryLimit: without GOMEMLIMIT the server limits
// itself to its own needs plus the password hashing slots; an operator's
// GOMEMLIMIT is left alone.
func TestServeSetsASoftMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })

	t.Setenv("GOMEMLIMIT", "")
	debug.SetMemoryLimit(math.MaxInt64)
	setMemoryLimit()
	want := int64(serverBaseMemory) + auth.PasswordMemory()
	if got := debug.SetMemoryLimit(-1); got != want {
		t.Errorf("memory limit %d MiB, want %d MiB", got>>20, want>>20)
	}
	if want < 48<<20+2*19<<20 {
		t.Errorf("memory limit %d MiB leaves no room for two argon2id checks", want>>20)
	}

	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(1 << 30)
	setMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Errorf("with GOMEMLIMIT=1GiB the limit became %d MiB", got>>20)
	}
}
