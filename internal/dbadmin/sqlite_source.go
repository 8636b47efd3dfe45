package dbadmin

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/insta485/insta485/internal/storage"
)

// copySource is the SQLite database being copied, read in one read
// transaction on one read-only connection.
type copySource struct {
	db      *sql.DB
	conn    *sql.Conn
	path    string
	classic bool
	// selects are the per-table SELECTs, in copyTables order.
	selects map[string]string
	// missing are the optional tables the source lacks.
	missing map[string]bool
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
	src := &copySource{db: db, path: path, selects: map[string]string{}, missing: map[string]bool{}}
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
		latest := storage.LatestSchemaVersion("sqlite")
		if int(version.Int64) > latest {
			return fmt.Errorf("%s was made by a newer insta485 (schema version %d; this one knows %d): copy it with that version", src.path, version.Int64, latest)
		}
	}
	for _, t := range copyTables {
		have, err := storage.QueryColumn[string](ctx, src.conn, "SELECT name FROM pragma_table_info($1)", t.name)
		if err != nil {
			return notOurs(err.Error())
		}
		if len(have) == 0 && t.optional {
			src.missing[t.name] = true
			continue
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

func (src *copySource) has(_ context.Context, t copyTable) (bool, error) {
	return !src.missing[t.name], nil
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
