package dbadmin

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/insta485/insta485/internal/storage"
)

// Backups (`insta485 db backup`): the rows of copyTables, read in one
// consistent snapshot of either backend, written into a plain SQLite file
// that CopyFrom (db copy's verified path) restores into either backend.
// Sessions, login failures and the feed (derived from the other tables)
// are left out. The lease that keeps deleted pictures until the backup has
// them is storage.Store.HoldBackupLease.

// SnapshotFile is the name of the database file inside a backup.
const SnapshotFile = "database.sqlite3"

// SnapshotReport is what Snapshot wrote.
type SnapshotReport struct {
	Backend       string
	SchemaVersion int
	// Tables has each table's row count, checksum (the same CopyFrom
	// computes when it restores the file) and next id.
	Tables []CopyTableReport
	// Files are the upload names the rows name, each once, sorted.
	Files []string
}

// SnapshotOptions adjusts Snapshot.
type SnapshotOptions struct {
	Progress func(CopyProgress)
	// Leased runs once the snapshot file is written, with the lease still
	// held: the caller copies the pictures rep.Files names here, and
	// removes those whose rows s no longer has (their deletes were
	// deferred). An error fails the backup.
	Leased func(ctx context.Context, rep SnapshotReport, s *storage.Store) error
}

// Snapshot takes the lease, then writes the rows of the database opts
// names, as of one moment, into a new SQLite file at path.
func Snapshot(ctx context.Context, opts storage.Options, path string, o SnapshotOptions) (rep SnapshotReport, err error) {
	if o.Progress == nil {
		o.Progress = func(CopyProgress) {}
	}
	s, err := Open(ctx, opts)
	if err != nil {
		return rep, err
	}
	defer s.Close()
	rep.Backend = s.Backend()
	release, err := s.HoldBackupLease(ctx)
	if err != nil {
		return rep, err
	}
	defer func() {
		if rerr := release(); rerr != nil && err == nil {
			err = rerr
		}
	}()

	var src snapshotSource
	if s.Backend() == "postgres" {
		src, err = openPGSnapshot(ctx, s)
	} else {
		var cs *copySource
		cs, err = openCopySource(ctx, opts.DSN)
		src = cs
	}
	if err != nil {
		return rep, err
	}
	rep, err = writeSnapshot(ctx, src, path, o.Progress)
	src.close()
	rep.Backend = s.Backend()
	if err != nil {
		return rep, err
	}
	if o.Leased != nil {
		if err := o.Leased(ctx, rep, s); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// snapshotSource reads the rows of one consistent snapshot.
type snapshotSource interface {
	versions(ctx context.Context) ([]int, error)
	has(ctx context.Context, t copyTable) (bool, error)
	count(ctx context.Context, t copyTable) (int64, error)
	query(ctx context.Context, t copyTable) (*sql.Rows, error)
	sequences(ctx context.Context) (map[string]int64, error)
	close()
}

func (src *copySource) versions(ctx context.Context) ([]int, error) {
	return scanVersions(ctx, src.conn)
}

func scanVersions(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]int, error) {
	rows, err := q.QueryContext(ctx, "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("read the schema version: %w", err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

// pgSnapshot is one REPEATABLE READ, READ ONLY transaction: every query
// in it sees the database as of its first.
type pgSnapshot struct {
	conn *sql.Conn
	tx   *sql.Tx
}

func openPGSnapshot(ctx context.Context, s *storage.Store) (*pgSnapshot, error) {
	conn, err := s.Primary().Conn(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("begin the snapshot transaction: %w", err)
	}
	return &pgSnapshot{conn: conn, tx: tx}, nil
}

func (p *pgSnapshot) close() {
	_ = p.tx.Rollback()
	p.conn.Close()
}

func (p *pgSnapshot) versions(ctx context.Context) ([]int, error) { return scanVersions(ctx, p.tx) }

func (p *pgSnapshot) has(ctx context.Context, t copyTable) (bool, error) {
	var ok bool
	if err := p.tx.QueryRowContext(ctx, "SELECT to_regclass($1) IS NOT NULL", t.name).Scan(&ok); err != nil {
		return false, fmt.Errorf("look for table %s: %w", t.name, err)
	}
	return ok, nil
}

func (p *pgSnapshot) count(ctx context.Context, t copyTable) (int64, error) {
	var n int64
	if err := p.tx.QueryRowContext(ctx, "SELECT count(*) FROM "+t.name).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", t.name, err)
	}
	return n, nil
}

func (p *pgSnapshot) query(ctx context.Context, t copyTable) (*sql.Rows, error) {
	rows, err := p.tx.QueryContext(ctx, "SELECT "+joinCols(t.cols)+" FROM "+t.name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", t.name, err)
	}
	return rows, nil
}

// sequences are the last ids the sequences handed out. Sequences are not
// transactional: they may be past the snapshot's rows, which only makes
// the restored site skip a few ids.
func (p *pgSnapshot) sequences(ctx context.Context) (map[string]int64, error) {
	seqs := map[string]int64{}
	for _, t := range copyTables {
		if t.id == "" {
			continue
		}
		var last sql.NullInt64
		if err := p.tx.QueryRowContext(ctx, "SELECT pg_sequence_last_value(pg_get_serial_sequence($1, $2)::regclass)", t.name, t.id).Scan(&last); err != nil {
			return nil, fmt.Errorf("read the %s id sequence: %w", t.name, err)
		}
		seqs[t.name] = last.Int64
	}
	return seqs, nil
}

// writeSnapshot writes src's rows into a new SQLite file at path: one
// table per copyTables entry with the same columns and no indexes or
// constraints (CopyFrom checks the rows when it restores them), the
// source's schema versions, and sqlite_sequence past every id handed out.
func writeSnapshot(ctx context.Context, src snapshotSource, path string, progress func(CopyProgress)) (rep SnapshotReport, err error) {
	if _, err := os.Stat(path); err == nil {
		return rep, fmt.Errorf("%s already exists", path)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)")
	if err != nil {
		return rep, err
	}
	db.SetMaxOpenConns(1)
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return rep, fmt.Errorf("create the backup's database file %s: %w", path, err)
	}
	defer tx.Rollback()

	versions, err := src.versions(ctx)
	if err != nil {
		return rep, err
	}
	if len(versions) > 0 {
		rep.SchemaVersion = versions[len(versions)-1]
	}
	if _, err := tx.ExecContext(ctx, storage.CreateSchemaMigrations); err != nil {
		return rep, err
	}
	for _, v := range versions {
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", v); err != nil {
			return rep, err
		}
	}
	tables, err := presentTables(ctx, src.has)
	if err != nil {
		return rep, err
	}
	files := map[string]struct{}{}
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, snapshotTableDDL(t)); err != nil {
			return rep, fmt.Errorf("create %s in the backup: %w", t.name, err)
		}
		total, err := src.count(ctx, t)
		if err != nil {
			return rep, err
		}
		rows, err := src.query(ctx, t)
		if err != nil {
			return rep, err
		}
		r := &copyReader{t: t, rows: rows, files: files, total: total, progress: progress}
		err = insertSQLite(ctx, tx, t, r)
		rows.Close()
		if err != nil {
			return rep, err
		}
		progress(CopyProgress{Stage: "copy", Table: t.name, Done: r.n, Total: total})
		rep.Tables = append(rep.Tables, CopyTableReport{Table: t.name, SourceRows: r.sum.n, SourceCheck: r.sum.String(), NextID: r.maxID + 1})
	}
	seqs, err := src.sequences(ctx)
	if err != nil {
		return rep, err
	}
	for i, t := range tables {
		if t.id == "" {
			rep.Tables[i].NextID = 0
			continue
		}
		last := max(rep.Tables[i].NextID-1, seqs[t.name])
		rep.Tables[i].NextID = last + 1
		if err := (sqliteEngine{}).setNextID(ctx, tx, t.name, t.id, last); err != nil {
			return rep, fmt.Errorf("record the %s id sequence: %w", t.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return rep, fmt.Errorf("write the backup's database file: %w", err)
	}
	for f := range files {
		rep.Files = append(rep.Files, f)
	}
	slices.Sort(rep.Files)
	return rep, nil
}

// snapshotTableDDL is t as a bare table: its id an AUTOINCREMENT key so
// that sqlite_sequence keeps the next id, as in an insta485 database.
func snapshotTableDDL(t copyTable) string {
	defs := make([]string, len(t.cols))
	for i, c := range t.cols {
		switch {
		case c == t.id:
			defs[i] = c + " INTEGER PRIMARY KEY AUTOINCREMENT"
		case t.kinds[i] == kindInt:
			defs[i] = c + " INTEGER NOT NULL"
		case t.kinds[i] == kindTime:
			defs[i] = c + " DATETIME NOT NULL"
		default:
			defs[i] = c + " TEXT NOT NULL"
		}
	}
	return "CREATE TABLE " + t.name + " (" + strings.Join(defs, ", ") + ")"
}

// insertSQLite writes r's rows into t, timestamps as the text
// CURRENT_TIMESTAMP writes (with microseconds), insertBatch rows to a
// statement: one INSERT per row costs more in database/sql than in SQLite.
func insertSQLite(ctx context.Context, tx *sql.Tx, t copyTable, r *copyReader) error {
	insert := func(rows int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", t.name, joinCols(t.cols))
		for i := range rows {
			if i > 0 {
				b.WriteString(", ")
			}
			// "?", not "$n": the driver looks each "$n" up by name, which
			// costs time in the number of parameters.
			b.WriteString("(" + strings.Repeat("?, ", len(t.cols)-1) + "?)")
		}
		return b.String()
	}
	stmt, err := tx.PrepareContext(ctx, insert(insertBatch))
	if err != nil {
		return err
	}
	defer stmt.Close()
	// Without a deadline or cancel of its own, each statement runs without
	// the driver's watcher goroutine; ctx is checked between batches.
	run := context.WithoutCancel(ctx)
	args := make([]any, 0, insertBatch*len(t.cols))
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		if len(args) == insertBatch*len(t.cols) {
			_, err = stmt.ExecContext(run, args...)
		} else {
			_, err = tx.ExecContext(run, insert(len(args)/len(t.cols)), args...)
		}
		args = args[:0]
		if err != nil {
			return fmt.Errorf("write %s into the backup: %w", t.name, err)
		}
		return nil
	}
	for r.Next() {
		vals, _ := r.Values()
		for _, v := range vals {
			if tm, ok := v.(time.Time); ok {
				v = tm.Format("2006-01-02 15:04:05.999999")
			}
			args = append(args, v)
		}
		if len(args) == cap(args) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := r.Err(); err != nil {
		return err
	}
	return flush()
}

// insertBatch is how many rows one INSERT into a backup writes.
const insertBatch = 200

// ChecksumSnapshot reads the backup database file at path as a restore
// would and returns each table's row count and checksum, and the upload
// names its rows name.
func ChecksumSnapshot(ctx context.Context, path string) (SnapshotReport, error) {
	var rep SnapshotReport
	src, err := openCopySource(ctx, path)
	if err != nil {
		return rep, err
	}
	defer src.close()
	vs, err := src.versions(ctx)
	if err != nil {
		return rep, err
	}
	if len(vs) > 0 {
		rep.SchemaVersion = vs[len(vs)-1]
	}
	tables, err := presentTables(ctx, src.has)
	if err != nil {
		return rep, err
	}
	files := map[string]struct{}{}
	for _, t := range tables {
		rows, err := src.query(ctx, t)
		if err != nil {
			return rep, err
		}
		r := &copyReader{t: t, rows: rows, files: files, progress: func(CopyProgress) {}}
		for r.Next() {
		}
		rows.Close()
		if err := r.Err(); err != nil {
			return rep, err
		}
		rep.Tables = append(rep.Tables, CopyTableReport{Table: t.name, SourceRows: r.sum.n, SourceCheck: r.sum.String()})
	}
	for f := range files {
		rep.Files = append(rep.Files, f)
	}
	slices.Sort(rep.Files)
	return rep, nil
}
