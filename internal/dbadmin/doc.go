// Package dbadmin holds the operator tools behind `insta485 db …`, on top of
// internal/storage: create and destroy a database (create.go), load the
// sample data of SPEC §2 (sample.go), bulk-load generated data (bulk.go),
// dump the tables (dump.go), copy a whole SQLite database into the
// configured one, verified (copy.go), and rebuild the feed table
// (engine.go). It also checks, before a task changes anything, that a
// PostgreSQL role may do it (postgres_privileges.go), and opens the store
// for serving with that check (Open, open.go). Requests never call it.
//
// What differs between the engines for these tools (COPY and constraints
// set aside on PostgreSQL, trigger handling, sequences, the SQLite copy
// source and files) lives in files named for the engine: postgres_*.go and
// sqlite_*.go, behind the small engine interface in engine.go.
package dbadmin
