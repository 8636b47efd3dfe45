package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	sqlite3 "modernc.org/sqlite/lib"
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
}

// copyFault, set by tests, runs inside the target transaction after each
// table is written; an error fails the copy there.
var copyFault func(ctx context.Context, tx *sql.Tx, table string) error

// CopyFrom copies the SQLite database at sourcePath into the (empty)
// database target names and returns what it copied and verified.
func CopyFrom(ctx context.Context, sourcePath string, target Options, o CopyOptions) (rep CopyReport, err error) {
	src, err := openCopySource(ctx, sourcePath)
	if err != nil {
		return rep, err
	}
	defer src.close()
	if !IsPostgres(target.DSN) {
		if same, _ := sameFile(sourcePath, target.DSN); same {
			return rep, fmt.Errorf("the source and the target are the same file (%s): set --database to the new database", sourcePath)
		}
	}
	rep.Classic = src.classic

	existed := IsPostgres(target.DSN) || sqliteExists(target.DSN)
	if IsPostgres(target.DSN) {
		if err := pgCreateDatabase(ctx, target); err != nil {
			return rep, err
		}
	}
	s, err := Connect(ctx, target)
	if err != nil {
		return rep, err
	}
	defer func() {
		s.Close()
		if err != nil && !existed {
			_ = sqliteDestroy(target.DSN) // the copy made this file: take it away again
		}
	}()
	haveSchema, err := s.copyTargetReady(ctx)
	if err != nil {
		return rep, err
	}

	conn, err := s.primary.Conn(ctx)
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
		ms, err := s.migrations()
		if err != nil {
			return rep, err
		}
		if err := applySchema(ctx, tx, ms); err != nil {
			return rep, fmt.Errorf("create the schema in the target, which must be empty (run `insta485 db destroy` on it to start over): %w", err)
		}
	}
	if err := s.dialect.bulkPrepare(ctx, tx); err != nil {
		return rep, fmt.Errorf("prepare the target: %w", err)
	}
	// As in a bulk load: the feed triggers would fan out every copied post
	// and follow one row at a time; feed is filled in one statement after.
	resumeFeed, err := s.dialect.pauseFeed(ctx, tx)
	if err != nil {
		return rep, fmt.Errorf("pause the feed triggers: %w", err)
	}
	files := map[string]struct{}{}
	progress := func(p CopyProgress) {
		if o.Progress != nil {
			o.Progress(p)
		}
	}
	var sums []rowSum
	var maxIDs []int64
	for _, t := range copyTables {
		total, err := src.count(ctx, t)
		if err != nil {
			return rep, err
		}
		rows, err := src.query(ctx, t)
		if err != nil {
			return rep, err
		}
		r := &copyReader{t: t, rows: rows, files: files, total: total, progress: progress}
		err = s.copyWrite(ctx, conn, tx, t, r)
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
	if err := s.rebuildFeed(ctx, tx); err != nil {
		return rep, err
	}
	if err := resumeFeed(); err != nil {
		return rep, fmt.Errorf("resume the feed triggers: %w", err)
	}
	progress(CopyProgress{Stage: "index"})
	if err := s.dialect.bulkFinish(ctx, tx); err != nil {
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
	for i, t := range copyTables {
		tr := CopyTableReport{Table: t.name, SourceRows: sums[i].n, SourceCheck: sums[i].String()}
		if t.id != "" {
			last := max(maxIDs[i], counters[t.name])
			if err := s.dialect.setNextID(ctx, tx, t.name, t.id, last); err != nil {
				return rep, fmt.Errorf("continue the %s id sequence: %w", t.name, err)
			}
			tr.NextID = last + 1
		}
		got, err := s.copyReadBack(ctx, conn, tx, t, sums[i].n, progress)
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

// applySchema creates schema_migrations and applies every migration in tx.
func applySchema(ctx context.Context, tx *sql.Tx, ms []migration) error {
	if _, err := tx.ExecContext(ctx, createSchemaMigrations); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		if err := applyMigration(ctx, tx, m); err != nil {
			return err
		}
	}
	return nil
}

// copyTargetReady refuses a target that holds rows or an older or newer
// schema, and reports whether the (empty) schema is already there.
func (s *Store) copyTargetReady(ctx context.Context) (haveSchema bool, err error) {
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return false, err
	}
	if v == 0 {
		// Ask before the copy reads millions of rows, not after.
		return false, s.checkCreate(ctx, "db copy")
	}
	for _, t := range copyTables {
		var one int
		err := s.latestDB.QueryRowContext(ctx, "SELECT 1 FROM "+t.name+" LIMIT 1").Scan(&one)
		if err == nil {
			return false, ErrTargetNotEmpty
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("check that the target is empty: %w", err)
		}
	}
	if err := s.CheckSchema(ctx); err != nil {
		return false, fmt.Errorf("the target has an empty insta485 schema, but: %w (or run `insta485 db destroy` to start over)", err)
	}
	// The copy sets the constraints and indexes aside, as db random does.
	if err := s.checkPrivileges(ctx, "db copy", accessRebuild); err != nil {
		return false, err
	}
	return true, nil
}

// copyWrite writes one table's rows into the target inside tx.
func (s *Store) copyWrite(ctx context.Context, conn *sql.Conn, tx *sql.Tx, t copyTable, r *copyReader) error {
	if s.dialect.name() == "postgres" {
		return conn.Raw(func(dc any) error {
			pc := dc.(*stdlib.Conn).Conn()
			if _, err := pc.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, r); err != nil {
				if r.err != nil {
					return r.err
				}
				return fmt.Errorf("copy into %s: %w", t.name, err)
			}
			return nil
		})
	}
	// SQLite runs in-process: a prepared INSERT is as fast as it gets.
	stmt, err := tx.PrepareContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)",
		t.name, joinCols(t.cols), placeholders(1, len(t.cols))))
	if err != nil {
		return err
	}
	defer stmt.Close()
	args := make([]any, len(t.cols))
	for r.Next() {
		vals, _ := r.Values()
		for i, v := range vals {
			if tm, ok := v.(time.Time); ok {
				// The text CURRENT_TIMESTAMP writes, which sorts and
				// compares like every other row's.
				v = tm.Format("2006-01-02 15:04:05.999999")
			}
			args[i] = v
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			if e := explainCopyViolation(t.name, err); e != nil {
				return e
			}
			return fmt.Errorf("insert into %s: %w", t.name, err)
		}
	}
	return r.Err()
}

// explainCopyViolation names the usual reason the source's rows break the
// target's rules: a row left behind by a delete made while SQLite's foreign
// keys were off (they are unless each connection turns them on). It returns
// nil for any other error.
func explainCopyViolation(table string, err error) error {
	const fix = "delete those rows from a copy of the source and copy that (see docs/moving-from-sqlite.md, \"Starting over\")"
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23503":
			return fmt.Errorf("the source's %s has rows that refer to something that no longer exists (%s): %s", pgErr.TableName, pgErr.Detail, fix)
		case "23505":
			return fmt.Errorf("the source's %s has duplicate rows (%s): %s", pgErr.TableName, pgErr.Detail, fix)
		}
		return nil
	}
	switch c := sqliteCode(err); {
	case c == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("the source's %s has rows that refer to a user or post that no longer exists: %s", table, fix)
	case c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("the source's %s has duplicate rows: %s", table, fix)
	}
	return nil
}

// rowScanner is what both pgx's and database/sql's rows offer.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// copyReadBack checksums the target's rows of t as this transaction sees them.
func (s *Store) copyReadBack(ctx context.Context, conn *sql.Conn, tx *sql.Tx, t copyTable, total int64, progress func(CopyProgress)) (rowSum, error) {
	q := "SELECT " + joinCols(t.cols) + " FROM " + t.name
	if s.dialect.name() == "postgres" {
		var sum rowSum
		err := conn.Raw(func(dc any) error {
			rows, err := dc.(*stdlib.Conn).Conn().Query(ctx, q)
			if err != nil {
				return err
			}
			defer rows.Close()
			sum, err = checksumRows(t, rows, total, progress)
			return err
		})
		return sum, err
	}
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return rowSum{}, err
	}
	defer rows.Close()
	return checksumRows(t, rows, total, progress)
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

// setNextID makes the target hand out last+1 as t's next id.
func (postgresDialect) setNextID(ctx context.Context, tx *sql.Tx, table, col string, last int64) error {
	var err error
	if last > 0 {
		_, err = tx.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence($1, $2), $3, true)", table, col, last)
	} else {
		_, err = tx.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence($1, $2), 1, false)", table, col)
	}
	return err
}

func (sqliteDialect) setNextID(ctx context.Context, tx *sql.Tx, table, _ string, last int64) error {
	if _, err := tx.ExecContext(ctx, "UPDATE sqlite_sequence SET seq = $2 WHERE name = $1 AND seq < $2", table, last); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO sqlite_sequence (name, seq) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = $1)", table, last)
	return err
}

// copySource is the SQLite database being copied, read in one read
// transaction on one read-only connection.
type copySource struct {
	db      *sql.DB
	conn    *sql.Conn
	path    string
	classic bool
	// selects are the per-table SELECTs, in copyTables order.
	selects map[string]string
}

func openCopySource(ctx context.Context, path string) (*copySource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the source database: %w", err)
	}
	header := make([]byte, 16)
	_, err = io.ReadFull(f, header)
	f.Close()
	if err != nil || !bytes.Equal(header, []byte("SQLite format 3\x00")) {
		return nil, fmt.Errorf("%s is not an SQLite database (no SQLite header): give --from the path of the old site's database file", path)
	}
	// mode=ro: this process never writes the source, and query_only makes
	// sure of it. Not immutable: a server may still be writing to it, and
	// SQLite's locking must keep the snapshot consistent. No journal_mode
	// pragma: changing it would write.
	dsn := "file:" + path + "?mode=ro&_pragma=busy_timeout(10000)&_pragma=query_only(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	src := &copySource{db: db, path: path, selects: map[string]string{}}
	if src.conn, err = db.Conn(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open the source database %s: %w", path, err)
	}
	// One read transaction for everything: the snapshot starts with the
	// first read below and every later query sees the same database.
	if _, err := src.conn.ExecContext(ctx, "BEGIN DEFERRED"); err != nil {
		src.close()
		return nil, fmt.Errorf("begin a read transaction on the source: %w", err)
	}
	if err := src.inspect(ctx); err != nil {
		src.close()
		return nil, err
	}
	return src, nil
}

func (src *copySource) close() {
	_, _ = src.conn.ExecContext(context.Background(), "ROLLBACK")
	src.conn.Close()
	src.db.Close()
}

// inspect checks that the source is an insta485 database and builds the
// SELECT for each table.
func (src *copySource) inspect(ctx context.Context) error {
	notOurs := func(why string) error {
		return fmt.Errorf("%s is not an insta485 database: %s", src.path, why)
	}
	var version sql.NullInt64
	var migrations int
	if err := src.conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").Scan(&migrations); err != nil {
		return notOurs(err.Error())
	}
	if migrations > 0 {
		if err := src.conn.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&version); err != nil {
			return fmt.Errorf("read the source's schema version: %w", err)
		}
		latest := (&Store{dialect: sqliteDialect{}}).LatestVersion()
		if int(version.Int64) > latest {
			return fmt.Errorf("%s was made by a newer insta485 (schema version %d; this one knows %d): copy it with that version", src.path, version.Int64, latest)
		}
	}
	for _, t := range copyTables {
		have, err := queryStrings(ctx, src.conn, "SELECT name FROM pragma_table_info($1)", t.name)
		if err != nil {
			return notOurs(err.Error())
		}
		if len(have) == 0 {
			return notOurs(fmt.Sprintf("it has no %s table", t.name))
		}
		var exprs []string
		for _, c := range t.cols {
			switch {
			case slices.Contains(have, c) && t.kinds[slices.Index(t.cols, c)] == kindTime:
				// The stored text, parsed here: much cheaper than the
				// driver's general parse, which dominates a large copy.
				exprs = append(exprs, "CAST("+c+" AS TEXT)")
			case slices.Contains(have, c):
				exprs = append(exprs, c)
			case t.alt[c] != "" && slices.Contains(have, t.alt[c]):
				exprs = append(exprs, t.alt[c])
				src.classic = true
			case t.rowid == c:
				exprs = append(exprs, "rowid")
			default:
				name := c
				if t.alt[c] != "" {
					name += " (or " + t.alt[c] + ")"
				}
				return notOurs(fmt.Sprintf("table %s has no column %s (it has %s)", t.name, name, strings.Join(have, ", ")))
			}
		}
		src.selects[t.name] = "SELECT " + strings.Join(exprs, ", ") + " FROM " + t.name
	}
	return nil
}

func (src *copySource) count(ctx context.Context, t copyTable) (int64, error) {
	var n int64
	if err := src.conn.QueryRowContext(ctx, "SELECT count(*) FROM "+t.name).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the source's %s: %w", t.name, err)
	}
	return n, nil
}

func (src *copySource) query(ctx context.Context, t copyTable) (*sql.Rows, error) {
	rows, err := src.conn.QueryContext(ctx, src.selects[t.name])
	if err != nil {
		return nil, fmt.Errorf("read the source's %s: %w", t.name, err)
	}
	return rows, nil
}

// sequences returns SQLite's AUTOINCREMENT counters: the largest id each
// table ever handed out, even if that row is gone.
func (src *copySource) sequences(ctx context.Context) (map[string]int64, error) {
	seqs := map[string]int64{}
	var n int
	if err := src.conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'").Scan(&n); err != nil || n == 0 {
		return seqs, err
	}
	rows, err := src.conn.QueryContext(ctx, "SELECT name, seq FROM sqlite_sequence")
	if err != nil {
		return nil, fmt.Errorf("read the source's sqlite_sequence: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var seq sql.NullInt64
		if err := rows.Scan(&name, &seq); err != nil {
			return nil, err
		}
		seqs[name] = max(seqs[name], seq.Int64)
	}
	return seqs, rows.Err()
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
