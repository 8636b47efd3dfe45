package storage

import "context"

func queryInts(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	return queryColumn[int64](ctx, q, query, args...)
}

// QueryColumn runs a query returning one column on q (a pool, connection
// or transaction) and collects its values, for the operator tools.
func QueryColumn[T any](ctx context.Context, q querier, query string, args ...any) ([]T, error) {
	return queryColumn[T](ctx, q, query, args...)
}
