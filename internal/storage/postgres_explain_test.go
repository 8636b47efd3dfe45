package storage

import (
	"context"
	"fmt"
	"strings"
)

// pgExplain explains query as a prepared statement on one connection. EXPLAIN
// EXECUTE takes no bind parameters, so the server quotes the arguments into
// the statement itself (format's %L), never this code.
func (s *Store) pgExplain(ctx context.Context, query string, args []any, generic bool) (lines []string, err error) {
	return s.pgExplainTyped(ctx, query, nil, args, generic)
}

// pgExplainTyped is pgExplain with the parameters' types given, as a
// function's are (types nil: the server infers them).
func (s *Store) pgExplainTyped(ctx context.Context, query string, types []string, args []any, generic bool) (lines []string, err error) {
	conn, err := s.latestDB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	mode := "force_custom_plan"
	if generic {
		mode = "force_generic_plan"
	}
	if _, err := conn.ExecContext(ctx, "SET plan_cache_mode = "+mode); err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DEALLOCATE insta485_explain")
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "RESET plan_cache_mode")
	}()
	prepare := "PREPARE insta485_explain"
	if len(types) > 0 {
		prepare += "(" + strings.Join(types, ", ") + ")"
	}
	if _, err := conn.ExecContext(ctx, prepare+" AS "+query); err != nil {
		return nil, fmt.Errorf("explain: prepare: %w", err)
	}
	format := "EXPLAIN EXECUTE insta485_explain(" + strings.TrimSuffix(strings.Repeat("%L, ", len(args)), ", ") + ")"
	var stmt string
	fargs := []any{format}
	casts := make([]string, len(args))
	for i, a := range args {
		fargs = append(fargs, fmt.Sprint(a))
		casts[i] = fmt.Sprintf("$%d::text", i+2)
	}
	q := "SELECT format($1" + strings.Join(append([]string{""}, casts...), ", ") + ")"
	if err := conn.QueryRowContext(ctx, q, fargs...).Scan(&stmt); err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	rows, err := conn.QueryContext(ctx, stmt)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		lines = append(lines, line)
	}
	return lines, rows.Err()
}
