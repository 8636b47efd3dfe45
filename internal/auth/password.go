// Package auth owns who a request is: password hashing (argon2id, and the
// legacy sha512 strings of older Insta485 databases), the signed `login`
// session cookie every app instance accepts, and CSRF tokens bound to it.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes), a
// few tens of milliseconds per hash on this class of machine.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

var b64 = base64.RawStdEncoding

// HashPassword returns password hashed with argon2id in the PHC string
// format: $argon2id$v=19$m=…,t=…,p=…$salt$hash. It waits for one of the
// argon2id slots (see argonSlots).
func HashPassword(password string) string {
	argonSlots <- struct{}{}
	defer releaseArgon()
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		panic("auth: no randomness: " + err.Error())
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// CheckPassword reports whether password matches the stored hash, and
// whether the hash should be replaced by a fresh HashPassword (it is in the
// legacy format or uses weaker parameters). It waits for one of the
// argon2id slots.
func CheckPassword(stored, password string) (ok, rehash bool) {
	argonSlots <- struct{}{}
	defer releaseArgon()
	return checkPassword(stored, password)
}

// checkPassword is CheckPassword for a caller holding an argon2id slot. It
// takes the time of one current argon2id check whatever is stored: a
// legacy sha512 hash, a weaker argon2id one or garbage costs a dummy check
// on top, so timing tells an attacker neither which accounts have cheap
// hashes nor which names exist.
func checkPassword(stored, password string) (ok, rehash bool) {
	current := false
	switch {
	case strings.HasPrefix(stored, "sha512$"):
		ok, rehash = checkLegacy(stored, password), true
	case strings.HasPrefix(stored, "$argon2id$"):
		ok, rehash, current = checkArgon2id(stored, password)
	}
	if !current {
		spendArgon2id(password)
	}
	return ok, rehash
}

// spendArgon2id spends the time and memory of one current argon2id check.
func spendArgon2id(password string) {
	argon2.IDKey([]byte(password), dummySalt, argonTime, argonMemory, argonThreads, argonKeyLen)
}

var dummySalt = []byte("insta485 timing.")

// argonSlots bounds the argon2id computations running at once. Each takes
// 19 MiB and a core for tens of milliseconds, so a burst of logins (honest
// or not) would otherwise take memory without bound and gain nothing: more
// at once than there are cores only makes each slower. Callers beyond the
// bound wait; Login waits only briefly and then answers ErrBusy.
var argonSlots = make(chan struct{}, argonConcurrency())

// PasswordMemory is the most memory the argon2id computations take at
// once: each slot's 19 MiB.
func PasswordMemory() int64 {
	return int64(cap(argonSlots)) * argonMemory * 1024
}

func argonConcurrency() int {
	return max(2, min(runtime.GOMAXPROCS(0), 4))
}

// acquireArgon takes an argon2id slot, waiting at most wait (or until ctx
// ends because the client went away); false when none came free. A
// deadline on ctx (the request's wait budget, which bounds waiting for the
// database) does not cut it short: waiting for the CPU is bounded by wait.
func acquireArgon(ctx context.Context, wait time.Duration) bool {
	select {
	case argonSlots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	done := ctx.Done()
	for {
		select {
		case argonSlots <- struct{}{}:
			return true
		case <-t.C:
			return false
		case <-done:
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return false
			}
			done = nil
		}
	}
}

// releaseArgon collects the 19 MiB the check left behind and gives the
// slot back. Left to the garbage collector's pacing, that garbage piles up
// to twice the live heap before a collection: 64 concurrent wrong logins
// took the process to 122 MB resident, against 61 MB with this collection
// (measured with the binary on SQLite). Collecting a heap this small costs
// a few percent of one argon2id check, and only password checks pay it.
func releaseArgon() {
	runtime.GC() // before the next check in this slot allocates its own
	<-argonSlots
}

// checkLegacy verifies sha512$<salt>$<hex of SHA-512(salt+password)>.
func checkLegacy(stored, password string) bool {
	parts := strings.Split(stored, "$")
	if len(parts) != 3 {
		return false
	}
	sum := sha512.Sum512([]byte(parts[1] + password))
	want, err := hex.DecodeString(parts[2])
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(sum[:], want) == 1
}

// checkArgon2id checks an argon2id hash; current says whether the check
// cost what one with the current parameters does.
func checkArgon2id(stored, password string) (ok, rehash, current bool) {
	parts := strings.Split(stored, "$")
	if len(parts) != 6 {
		return false, false, false
	}
	var version int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, false, false
	}
	// m is bounded by what one check may take: 4 GiB would be a memory
	// bomb planted in a database row.
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 64*1024 || t > 16 {
		return false, false, false
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, false, false
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 64 {
		return false, false, false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	ok = subtle.ConstantTimeCompare(got, want) == 1
	weaker := m < argonMemory || t < argonTime
	return ok, ok && weaker, !weaker
}
