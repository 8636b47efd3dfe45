package testenv

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
	"strings"
	"testing"
)

// procStatus reads field (VmHWM, VmRSS…) of process pid, in bytes.
func procStatus(pid int, field string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// PeakRSS is the most memory process pid has had resident (VmHWM) since
// it started or since ResetPeakRSS, in bytes.
func PeakRSS(t testing.TB, pid int) int64 {
	t.Helper()
	n, err := procStatus(pid, "VmHWM")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// RSS is the memory process pid has resident now (VmRSS), in bytes.
func RSS(t testing.TB, pid int) int64 {
	t.Helper()
	n, err := procStatus(pid, "VmRSS")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ResetPeakRSS starts PeakRSS over from the memory pid has resident now.
func ResetPeakRSS(t testing.TB, pid int) {
	t.Helper()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		t.Fatalf("reset the peak RSS of %d: %v", pid, err)
	}
}

// BlankPNG returns a valid w×h 8-bit RGBA PNG of one color: tiny to send
// (it compresses to a few hundred kilobytes even at 50 megapixels) and as
// costly as any other picture of its size to decode. It is written row by
// row, so making it takes no w×h picture in the test's memory.
func BlankPNG(t testing.TB, w, h uint32) []byte {
	t.Helper()
	var idat bytes.Buffer
	zw := zlib.NewWriter(&idat)
	row := make([]byte, 1+4*int(w)) // filter byte 0 (None), then pixels
	for i := 1; i < len(row); i += 4 {
		copy(row[i:], []byte{40, 90, 160, 255})
	}
	for range h {
		if _, err := zw.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	out := PNGHeader(w, h)
	// Replace PNGHeader's empty IDAT and IEND with the pixels.
	out = out[:8+12+13]
	out = appendChunk(out, "IDAT", idat.Bytes())
	return appendChunk(out, "IEND", nil)
}

func appendChunk(out []byte, typ string, data []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}
