package auth

import (
	"encoding/base64"
	"time"

	"golang.org/x/crypto/argon2"
)

// NewSessionsAt returns Sessions whose clock is now, to test expiry.
func NewSessionsAt(secret []byte, now func() time.Time) *Sessions {
	return &Sessions{key: secret, now: now}
}

// ArgonB64 is a raw argon2id key, to build hashes with other parameters.
func ArgonB64(pw, salt string, t, m uint32, p uint8) string {
	return base64.RawStdEncoding.EncodeToString(argon2.IDKey([]byte(pw), []byte(salt), t, m, p, 32))
}

// HoldArgonSlotsForTest takes every argon2id slot, as a burst of password
// checks would, until release is called.
func HoldArgonSlotsForTest() (release func()) {
	for range cap(argonSlots) {
		argonSlots <- struct{}{}
	}
	return func() {
		for range cap(argonSlots) {
			<-argonSlots
		}
	}
}
