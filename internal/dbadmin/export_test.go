package dbadmin

import (
	"context"
	"database/sql"
)

// FailCreateAfterSampleForTest makes Create fail after it has loaded the
// sample data, until the returned function is called.
func FailCreateAfterSampleForTest(err error) (restore func()) {
	createFault = func() error { return err }
	return func() { createFault = nil }
}

// CopyFaultForTest runs fault inside CopyFrom's target transaction after
// each table is written, until the returned function is called: a test can
// fail the copy there, or change the rows behind the verification's back.
func CopyFaultForTest(fault func(ctx context.Context, tx *sql.Tx, table string) error) (restore func()) {
	copyFault = fault
	return func() { copyFault = nil }
}
