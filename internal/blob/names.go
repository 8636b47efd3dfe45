package blob

import (
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"strings"
)

// NewName returns a fresh upload name: 32 lowercase hex characters (a UUID4
// without dashes) and ext.
func NewName(ext string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("blob: no randomness: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return hex.EncodeToString(b[:]) + ext
}

// VariantName returns the name of upload name's copy at width w:
// "<hex>-w<w>.<ext>" beside "<hex>.<ext>".
func VariantName(name string, w int) string {
	ext := filepath.Ext(name)
	return strings.TrimSuffix(name, ext) + "-w" + strconv.Itoa(w) + ext
}

// MainName returns the upload a variant name belongs to and the variant's
// width; for a main name, the name itself and 0.
func MainName(name string) (string, int) {
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	i := strings.LastIndex(base, "-w")
	if i < 0 {
		return name, 0
	}
	w, err := strconv.Atoi(base[i+2:])
	if err != nil {
		return name, 0
	}
	return base[:i] + ext, w
}
