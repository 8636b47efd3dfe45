package dbadmin

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/insta485/insta485/internal/storage"
)

// dumpTables are the tables Dump prints, each ordered by its key.
var dumpTables = []struct{ name, order string }{
	{"users", "created, username"},
	{"posts", "postid"},
	{"following", "follower, followee"},
	{"comments", "commentid"},
	{"likes", "likeid"},
}

// Dump writes every table's rows to w as aligned text, one table after the
// other, for operators to read.
func Dump(ctx context.Context, s *storage.Store, w io.Writer) error {
	for i, t := range dumpTables {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := dumpTable(ctx, s, w, t.name, t.order); err != nil {
			return err
		}
	}
	return nil
}

func dumpTable(ctx context.Context, s *storage.Store, w io.Writer, table, order string) error {
	rows, err := s.Reader().QueryContext(ctx, "SELECT * FROM "+table+" ORDER BY "+order)
	if err != nil {
		return fmt.Errorf("dump %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s\n", table)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		cells := make([]string, len(cols))
		for i, v := range vals {
			cells[i] = dumpCell(v)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "(%d rows)\n", n)
	return nil
}

func dumpCell(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.DateTime)
	case sql.RawBytes:
		return string(x)
	}
	return fmt.Sprint(v)
}
