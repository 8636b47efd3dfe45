package testenv

import "os"

// chownToPostgres is what pgcluster.go (copied unchanged from the pgprod
// branch) needs from pgprod's pgbouncer.go, which this branch does not
// have. MERGE NOTE: delete this file when pgprod's pgbouncer.go arrives.
func chownToPostgres(path string) error {
	cred := postgresCredential()
	if cred == nil {
		return nil
	}
	return os.Chown(path, int(cred.Uid), int(cred.Gid))
}
