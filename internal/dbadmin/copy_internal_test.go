package dbadmin

import (
	"testing"
	"time"
)

// TestCopyValueTimestamps: every text form of a timestamp an SQLite
// database may hold becomes the same instant in UTC; anything else is an
// error, never a silently wrong time.
func TestCopyValueTimestamps(t *testing.T) {
	want := time.Date(2017, 9, 28, 4, 33, 28, 0, time.UTC)
	for _, in := range []any{
		"2017-09-28 04:33:28", "2017-09-28T04:33:28", "2017-09-28 04:33:28.000",
		"2017-09-28 06:33:28+02:00", "2017-09-28T04:33:28Z", "1506573208", int64(1506573208),
		time.Date(2017, 9, 27, 18, 33, 28, 0, time.FixedZone("HST", -10*3600)),
	} {
		got, err := copyValue(kindTime, in)
		if err != nil || !got.(time.Time).Equal(want) || got.(time.Time).Location() != time.UTC {
			t.Errorf("copyValue(%v) = %v, %v; want %v", in, got, err, want)
		}
	}
	if got, err := copyValue(kindTime, "2017-09-28 04:33:28.1234567"); err != nil || got.(time.Time).Nanosecond() != 123457000 {
		t.Errorf("fractional seconds: %v, %v; want them kept to the microsecond", got, err)
	}
	for _, in := range []any{"2023-02-30 00:00:00", "2017-13-01 00:00:00", "yesterday", "", nil, 2.5} {
		if got, err := copyValue(kindTime, in); err == nil {
			t.Errorf("copyValue(%v) = %v, want an error", in, got)
		}
	}
}
