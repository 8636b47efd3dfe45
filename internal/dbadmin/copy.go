package dbadmin

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/insta485/insta485/internal/storage"
)

// Copying a whole SQLite database (ours, or one made by another Insta485
// with the classic five tables) into the configured database: `insta485 db
// copy --from PATH`. The source is read in one read transaction (one
// consistent snapshot) over a read-only connection; the target is written in
// one transaction that also creates its schema, so a failure or an interrupt
// leaves it as it was. Both sides are checksummed row by row before commit.

// ErrTargetNotEmpty is returned by CopyFrom when the target holds rows.
var ErrTargetNotEmpty = errors.New("the target database already holds rows: copy only into an empty database (run `insta485 db destroy` on the target to start over)")

// CopyProgress says how far a copy is.
type CopyProgress struct {
	// Stage is "copy" (rows are being written), "index" (indexes and foreign
	// keys are being rebuilt) or "verify" (the target is being read back).
	Stage string
	Table string
	// Done and Total count the rows of Table in this stage.
	Done, Total int64
}

// CopyOptions adjusts CopyFrom.
type CopyOptions struct {
	// Progress, when set, is called now and then during the copy.
	Progress func(CopyProgress)
	// BeforeCommit, when set, is called with the upload files the copied
	// rows name once every row is written and verified, just before the
	// commit; an error rolls the whole copy back. The db command copies the
	// uploads here, so the rows are never committed without their files.
	BeforeCommit func(ctx context.Context, files []string) error
	// CheckSource, when set, is called with what was read from the source
	// (row counts and checksums) once the target verifies, before
	// BeforeCommit; an error rolls the copy back. Restore compares a
	// backup's manifest here.
	CheckSource func(tables []CopyTableReport) error
}

// CopyTableReport is what CopyFrom found for one table.
type CopyTableReport struct {
	Table                    string
	SourceRows, TargetRows   int64
	SourceCheck, TargetCheck string
	// NextID is the id the target hands out next ("" for tables without one).
	NextID int64
}

// CopyReport is what CopyFrom did.
type CopyReport struct {
	Tables []CopyTableReport
	// Files are the upload files the copied rows name (users' and posts'
	// filename), each once, sorted.
	Files []string
	// Classic is true when the source is a classic Insta485 database
	// (following(username1, username2)) rather than one of ours.
	Classic bool
}

type colKind int

const (
	kindInt colKind = iota
	kindText
	kindTime
)

// copyTable is one table to copy, in the order parents before children.
type copyTable struct {
	name  string
	cols  []string
	kinds []colKind
	// id is the identity column the target's sequence serves ("" if none).
	id string
	// files is the column naming an upload file ("" if none).
	files string
	// alt maps a target column to what another Insta485 calls it.
	alt map[string]string
	// rowid: the column may be missing from an older Insta485's table, and
	// then SQLite's rowid takes its place.
	rowid string
	// optional: a source made before the table existed (a classic
	// Insta485, or ours before its migration) lacks it; it is then left
	// out of the copy and its report, and the target keeps it empty.
	optional bool
}

var copyTables = []copyTable{
	{name: "users", cols: []string{"username", "fullname", "email", "filename", "password", "created"},
		kinds: []colKind{kindText, kindText, kindText, kindText, kindText, kindTime}, files: "filename"},
	{name: "posts", cols: []string{"postid", "filename", "owner", "created"},
		kinds: []colKind{kindInt, kindText, kindText, kindTime}, id: "postid", files: "filename"},
	{name: "following", cols: []string{"follower", "followee", "created"},
		kinds: []colKind{kindText, kindText, kindTime},
		alt:   map[string]string{"follower": "username1", "followee": "username2"}},
	{name: "comments", cols: []string{"commentid", "owner", "postid", "text", "created"},
		kinds: []colKind{kindInt, kindText, kindInt, kindText, kindTime}, id: "commentid"},
	{name: "likes", cols: []string{"likeid", "owner", "postid", "created"},
		kinds: []colKind{kindInt, kindText, kindInt, kindTime}, id: "likeid", rowid: "likeid"},
	// What is known of each upload (migration 0004): its size and
	// placeholder colour, which let pages lay a picture out before it
	// arrives. Derived from the files, but carried so a copied or restored
	// site needs no `uploads reprocess`. Its filename is not a "files"
	// column: a row never makes a picture required.
	{name: "pictures", cols: []string{"filename", "width", "height", "color"},
		kinds: []colKind{kindText, kindInt, kindInt, kindText}, optional: true},
}

// presentTables returns the copyTables has says the source holds, in
// order: an optional table may be missing.
func presentTables(ctx context.Context, has func(context.Context, copyTable) (bool, error)) ([]copyTable, error) {
	var out []copyTable
	for _, t := range copyTables {
		ok, err := has(ctx, t)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// copyFault, set by tests, runs inside the target transaction after each
// table is written; an error fails the copy there.
var copyFault func(ctx context.Context, tx *sql.Tx, table string) error

// CopyFrom copies the SQLite database at sourcePath into the (empty)
// database target names and returns what it copied and verified.
func CopyFrom(ctx context.Context, sourcePath string, target storage.Options, o CopyOptions) (rep CopyReport, err error) {
	src, err := openCopySource(ctx, sourcePath)
	if err != nil {
		return rep, err
	}
	defer src.close()
	if !storage.IsPostgres(target.DSN) {
		if same, _ := sameFile(sourcePath, target.DSN); same {
			return rep, fmt.Errorf("the source and the target are the same file (%s): set --database to the new database", sourcePath)
		}
	}
	rep.Classic = src.classic

	// A database the copy makes, it takes away again if the copy fails.
	existed := storage.IsPostgres(target.DSN) || storage.SQLiteExists(target.DSN)
	if storage.IsPostgres(target.DSN) {
		created, err := pgCreateDatabase(ctx, target)
		if err != nil {
			return rep, err
		}
		existed = !created
	}
	dropCreated := func() {
		if !existed {
			if storage.IsPostgres(target.DSN) {
				_ = pgDropCreated(context.WithoutCancel(ctx), target)
			} else {
				_ = sqliteDestroy(target.DSN)
			}
		}
	}
	s, err := storage.Connect(ctx, target)
	if err != nil {
		dropCreated()
		return rep, err
	}
	defer func() {
		s.Close()
		if err != nil {
			dropCreated()
		}
	}()
	haveSchema, err := copyTargetReady(ctx, s)
	if err != nil {
		return rep, err
	}

	conn, err := s.Primary().Conn(ctx)
	if err != nil {
		return rep, err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return rep, fmt.Errorf("begin the target transaction: %w", err)
	}
	defer tx.Rollback()

	if !haveSchema {
		if err := s.ApplySchema(ctx, tx); err != nil {
			return rep, fmt.Errorf("create the schema in the target, which must be empty (run `insta485 db destroy` on it to start over): %w", err)
		}
	}
	if err := engineOf(s).bulkPrepare(ctx, tx); err != nil {
		return rep, fmt.Errorf("prepare the target: %w", err)
	}
	// As in a bulk load: the feed triggers would fan out every copied post
	// and follow one row at a time; feed is filled in one statement after.
	resumeFeed, err := engineOf(s).pauseFeed(ctx, tx)
	if err != nil {
		return rep, fmt.Errorf("pause the feed triggers: %w", err)
	}
	files := map[string]struct{}{}
	progress := func(p CopyProgress) {
		if o.Progress != nil {
			o.Progress(p)
		}
	}
	tables, err := presentTables(ctx, src.has)
	if err != nil {
		return rep, err
	}
	var sums []rowSum
	var maxIDs []int64
	for _, t := range tables {
		total, err := src.count(ctx, t)
		if err != nil {
			return rep, err
		}
		rows, err := src.query(ctx, t)
		if err != nil {
			return rep, err
		}
		r := &copyReader{t: t, rows: rows, files: files, total: total, progress: progress}
		err = engineOf(s).copyWrite(ctx, conn, tx, t, r)
		rows.Close()
		if err == nil {
			err = r.err
		}
		if err != nil {
			return rep, err
		}
		progress(CopyProgress{Stage: "copy", Table: t.name, Done: r.n, Total: total})
		sums = append(sums, r.sum)
		maxIDs = append(maxIDs, r.maxID)
		if copyFault != nil {
			if err := copyFault(ctx, tx, t.name); err != nil {
				return rep, err
			}
		}
	}
	progress(CopyProgress{Stage: "feed"})
	if err := rebuildFeed(ctx, s, tx); err != nil {
		return rep, err
	}
	if err := resumeFeed(); err != nil {
		return rep, fmt.Errorf("resume the feed triggers: %w", err)
	}
	progress(CopyProgress{Stage: "index"})
	if err := engineOf(s).bulkFinish(ctx, tx); err != nil {
		if e := explainCopyViolation("", err); e != nil {
			return rep, e
		}
		return rep, fmt.Errorf("rebuild the target's indexes and foreign keys: %w", err)
	}

	// Sequences: past the highest id and past what SQLite's AUTOINCREMENT
	// already handed out (the newest rows may have been deleted).
	counters, err := src.sequences(ctx)
	if err != nil {
		return rep, err
	}
	var bad []string
	for i, t := range tables {
		tr := CopyTableReport{Table: t.name, SourceRows: sums[i].n, SourceCheck: sums[i].String()}
		if t.id != "" {
			last := max(maxIDs[i], counters[t.name])
			if err := engineOf(s).setNextID(ctx, tx, t.name, t.id, last); err != nil {
				return rep, fmt.Errorf("continue the %s id sequence: %w", t.name, err)
			}
			tr.NextID = last + 1
		}
		got, err := engineOf(s).copyReadBack(ctx, conn, tx, t, sums[i].n, progress)
		if err != nil {
			return rep, fmt.Errorf("read back %s from the target: %w", t.name, err)
		}
		tr.TargetRows, tr.TargetCheck = got.n, got.String()
		progress(CopyProgress{Stage: "verify", Table: t.name, Done: got.n, Total: sums[i].n})
		if got != sums[i] {
			bad = append(bad, fmt.Sprintf("%s (source %d rows, checksum %s; target %d rows, checksum %s)",
				t.name, tr.SourceRows, tr.SourceCheck, tr.TargetRows, tr.TargetCheck))
		}
		rep.Tables = append(rep.Tables, tr)
	}
	if len(bad) > 0 {
		return rep, fmt.Errorf("verification failed, nothing was copied: the target's rows differ from the source's in %s", strings.Join(bad, ", "))
	}
	for f := range files {
		rep.Files = append(rep.Files, f)
	}
	slices.Sort(rep.Files)
	if o.CheckSource != nil {
		if err := o.CheckSource(rep.Tables); err != nil {
			return rep, err
		}
	}
	if o.BeforeCommit != nil {
		if err := o.BeforeCommit(ctx, rep.Files); err != nil {
			return rep, err
		}
	}
	if err := tx.Commit(); err != nil {
		return rep, fmt.Errorf("commit the copy: %w", err)
	}
	return rep, nil
}

// copyTargetReady refuses a target that holds rows or an older or newer
// schema, and reports whether the (empty) schema is already there.
func copyTargetReady(ctx context.Context, s *storage.Store) (haveSchema bool, err error) {
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return false, err
	}
	if v == 0 {
		// Ask before the copy reads millions of rows, not after.
		return false, CheckCreatePrivileges(ctx, s, "db copy")
	}
	empty := func(optional bool) error {
		for _, t := range copyTables {
			if t.optional != optional {
				continue
			}
			var one int
			err := s.Reader().QueryRowContext(ctx, "SELECT 1 FROM "+t.name+" LIMIT 1").Scan(&one)
			if err == nil {
				return ErrTargetNotEmpty
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("check that the target is empty: %w", err)
			}
		}
		return nil
	}
	if err := empty(false); err != nil {
		return false, err
	}
	if err := s.CheckSchema(ctx); err != nil {
		return false, fmt.Errorf("the target has an empty insta485 schema, but: %w (or run `insta485 db destroy` to start over)", err)
	}
	// The tables a later migration added exist only in a current schema.
	if err := empty(true); err != nil {
		return false, err
	}
	// The copy sets the constraints and indexes aside, as db random does.
	if err := CheckPrivileges(ctx, s, "db copy", AccessRebuild); err != nil {
		return false, err
	}
	return true, nil
}

// explainCopyViolation names the usual reason the source's rows break the
// target's rules: a row left behind by a delete made while SQLite's foreign
// keys were off (they are unless each connection turns them on). It returns
// nil for any other error.
func explainCopyViolation(table string, err error) error {
	if e := pgCopyViolation(err); e != nil {
		return e
	}
	return sqliteCopyViolation(table, err)
}

const copyViolationFix = "delete those rows from a copy of the source and copy that (see docs/moving-from-sqlite.md, \"Starting over\")"

// rowScanner is what both pgx's and database/sql's rows offer.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

func checksumRows(t copyTable, rows rowScanner, total int64, progress func(CopyProgress)) (rowSum, error) {
	var sum rowSum
	vals := make([]any, len(t.cols))
	ptrs := make([]any, len(t.cols))
	ints := make([]int64, len(t.cols))
	texts := make([]string, len(t.cols))
	times := make([]time.Time, len(t.cols))
	for i, k := range t.kinds {
		switch k {
		case kindInt:
			ptrs[i] = &ints[i]
		case kindText:
			ptrs[i] = &texts[i]
		case kindTime:
			ptrs[i] = &times[i]
		}
	}
	var buf []byte
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return sum, err
		}
		for i, k := range t.kinds {
			switch k {
			case kindInt:
				vals[i] = ints[i]
			case kindText:
				vals[i] = texts[i]
			case kindTime:
				vals[i] = times[i]
			}
		}
		buf = sum.add(buf[:0], vals)
		if sum.n%progressEvery == 0 {
			progress(CopyProgress{Stage: "verify", Table: t.name, Done: sum.n, Total: total})
		}
	}
	return sum, rows.Err()
}

const progressEvery = 100_000

// rowSum is an order-independent checksum of a table's rows: the count, and
// the sums (mod 2^64) of two halves of each row's SHA-256 over a canonical
// encoding (ints as 8 bytes, text length-prefixed, timestamps as UTC
// microseconds), so the same rows give the same sum in any order, on any
// engine, in any time zone.
type rowSum struct {
	n    int64
	a, b uint64
}

func (s rowSum) String() string { return fmt.Sprintf("%016x%016x", s.a, s.b) }

func (s *rowSum) add(buf []byte, vals []any) []byte {
	for _, v := range vals {
		switch x := v.(type) {
		case int64:
			buf = append(buf, 'i')
			buf = binary.BigEndian.AppendUint64(buf, uint64(x))
		case string:
			buf = append(buf, 's')
			buf = binary.AppendUvarint(buf, uint64(len(x)))
			buf = append(buf, x...)
		case time.Time:
			buf = append(buf, 't')
			buf = binary.BigEndian.AppendUint64(buf, uint64(x.UnixMicro()))
		}
	}
	h := sha256.Sum256(buf)
	s.n++
	s.a += binary.BigEndian.Uint64(h[0:8])
	s.b += binary.BigEndian.Uint64(h[8:16])
	return buf
}

// copyReader streams one source table's rows, converted to the target's
// types and checksummed on the way; it is the pgx.CopyFromSource of COPY.
type copyReader struct {
	t        copyTable
	rows     *sql.Rows
	files    map[string]struct{}
	total    int64
	progress func(CopyProgress)

	raw, ptrs, vals []any
	buf             []byte
	sum             rowSum
	n, maxID        int64
	err             error
}

func (r *copyReader) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	if r.raw == nil {
		r.raw = make([]any, len(r.t.cols))
		r.ptrs = make([]any, len(r.t.cols))
		r.vals = make([]any, len(r.t.cols))
		for i := range r.raw {
			r.ptrs[i] = &r.raw[i]
		}
	}
	if err := r.rows.Scan(r.ptrs...); err != nil {
		r.err = fmt.Errorf("read %s from the source: %w", r.t.name, err)
		return false
	}
	for i, raw := range r.raw {
		v, err := copyValue(r.t.kinds[i], raw)
		if err != nil {
			r.err = fmt.Errorf("the source's %s row %d has a bad %s: %w", r.t.name, r.n+1, r.t.cols[i], err)
			return false
		}
		r.vals[i] = v
		if r.t.cols[i] == r.t.id && v.(int64) > r.maxID {
			r.maxID = v.(int64)
		}
		if r.t.cols[i] == r.t.files {
			if _, ok := r.files[v.(string)]; !ok {
				r.files[v.(string)] = struct{}{}
			}
		}
	}
	r.buf = r.sum.add(r.buf[:0], r.vals)
	r.n++
	if r.n%progressEvery == 0 {
		r.progress(CopyProgress{Stage: "copy", Table: r.t.name, Done: r.n, Total: r.total})
	}
	return true
}

func (r *copyReader) Values() ([]any, error) { return r.vals, nil }

func (r *copyReader) Err() error {
	if r.err != nil {
		return r.err
	}
	if err := r.rows.Err(); err != nil {
		return fmt.Errorf("read %s from the source: %w", r.t.name, err)
	}
	return nil
}

// copyTimeFormats are the text forms of a timestamp SQLite's date functions
// and drivers write, for a column whose declared type does not make the
// driver parse it.
var copyTimeFormats = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
}

// copyValue converts a value read from SQLite to what the target column holds.
func copyValue(k colKind, v any) (any, error) {
	if v == nil {
		return nil, errors.New("NULL where a value is required")
	}
	switch k {
	case kindInt:
		if x, ok := v.(int64); ok {
			return x, nil
		}
	case kindText:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case int64:
			return fmt.Sprint(x), nil
		}
	case kindTime:
		switch x := v.(type) {
		case time.Time:
			// UTC whatever the host's zone; PostgreSQL keeps microseconds.
			return x.UTC().Round(time.Microsecond), nil
		case int64:
			return time.Unix(x, 0).UTC(), nil // SQLite's unixepoch()
		case string:
			if t, ok := parseDateTime(x); ok {
				return t, nil
			}
			for _, f := range copyTimeFormats {
				if t, err := time.Parse(f, x); err == nil {
					return t.UTC().Round(time.Microsecond), nil
				}
			}
			if n, err := strconv.ParseInt(x, 10, 64); err == nil {
				// Seconds since 1970 (SQLite's unixepoch()), or milliseconds
				// when that large, as Go's SQLite drivers read them.
				if n > 1e12 || n < -1e12 {
					return time.UnixMilli(n).UTC(), nil
				}
				return time.Unix(n, 0).UTC(), nil
			}
			return nil, fmt.Errorf("%q is not a timestamp (expected YYYY-MM-DD HH:MM:SS)", x)
		}
	}
	return nil, fmt.Errorf("unexpected value %v (%T)", v, v)
}

// parseDateTime parses "YYYY-MM-DD HH:MM:SS", the form CURRENT_TIMESTAMP
// writes, as UTC; ok is false for anything else.
func parseDateTime(s string) (t time.Time, ok bool) {
	if len(s) != 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return t, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				ok = false
				return 0
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	ok = true
	y, mo, d, h, mi, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	if !ok || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 {
		return t, false
	}
	t = time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	return t, t.Day() == d // not 2023-02-30
}

func sameFile(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		aa, _ := filepath.Abs(a)
		bb, _ := filepath.Abs(b)
		return aa == bb, nil
	}
	return os.SameFile(sa, sb), nil
}
