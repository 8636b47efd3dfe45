package storage

import (
	"context"
	"fmt"
	"strings"
)

// SafeUsername reports whether name can be one segment of a URL path as
// it is: not "." or "..", which every client resolves to another page
// (/users/../ is /), and without a slash or backslash, which some proxies
// and clients take for a separator even when escaped. Sign-up refuses the
// others; an older database may hold some (UnsafeUsernames).
func SafeUsername(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`)
}

// UnsafeUsernames lists the usernames SafeUsername refuses, for db migrate
// to name them: links to those accounts lead elsewhere.
func (s *Store) UnsafeUsernames(ctx context.Context) ([]string, error) {
	names, err := queryStrings(ctx, s.latestDB, `SELECT username FROM users
		WHERE username IN ('', '.', '..') OR replace(username, $1, '') <> username OR replace(username, $2, '') <> username
		ORDER BY username`, "/", `\`)
	if err != nil {
		return nil, fmt.Errorf("look for usernames that are not safe in links: %w", err)
	}
	return names, nil
}
