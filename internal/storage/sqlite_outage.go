package storage

import sqlite3 "modernc.org/sqlite/lib"

// sqliteUnavailable reports whether SQLite could not serve right now: a
// lock held past the busy timeout, a file it cannot open or read.
func sqliteUnavailable(err error) bool {
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR:
		return true
	}
	return false
}
