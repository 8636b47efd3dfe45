package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"sync/atomic"
)

// basicCache remembers HTTP Basic credentials that were checked recently, so
// an API client sending the same password on every request pays for argon2id
// once, not on every call (tens of milliseconds and 19 MiB each).
//
// An entry is a MAC, under a key that lives only in this process, of the
// username, the password AND the stored hash it was checked against. The
// caller reads the user's row on every request anyway and passes the hash it
// finds: a changed password (new hash) or a deleted account (no row) misses
// the cache at once, on every instance, because nothing but the database
// decides what the stored hash is. Wrong passwords are never cached. The
// password itself is not kept, only the MAC.
type basicCache struct {
	once    sync.Once
	key     []byte
	mu      sync.Mutex
	entries map[string][sha256.Size]byte
	// misses counts full password checks, so tests can see the cache work.
	misses atomic.Int64
}

// basicCacheMax bounds the cache (about 100 bytes an entry); when full it
// starts over, which only costs the next request of each client one check.
const basicCacheMax = 10_000

func (c *basicCache) mac(username, password, stored string) [sha256.Size]byte {
	c.once.Do(func() {
		c.key = make([]byte, 32)
		if _, err := rand.Read(c.key); err != nil {
			panic("auth: no randomness: " + err.Error())
		}
	})
	m := hmac.New(sha256.New, c.key)
	for _, s := range []string{username, password, stored} {
		// Length-prefixed, so no two triples share an encoding.
		_ = binary.Write(m, binary.BigEndian, uint32(len(s)))
		m.Write([]byte(s))
	}
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
}

// ok reports whether password was accepted for username while its stored
// hash was stored.
func (c *basicCache) ok(username, password, stored string) bool {
	want := c.mac(username, password, stored)
	c.mu.Lock()
	got, found := c.entries[username]
	c.mu.Unlock()
	return found && hmac.Equal(got[:], want[:])
}

// put records that password is right for username with hash stored.
func (c *basicCache) put(username, password, stored string) {
	m := c.mac(username, password, stored)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= basicCacheMax {
		c.entries = make(map[string][sha256.Size]byte)
	}
	c.entries[username] = m
}
