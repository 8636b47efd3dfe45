//go:build !linux

package server

import (
	"net"
	"time"
)

// closeDrained closes ln; see drain_linux.go for what it does on Linux.
func closeDrained(_ net.Listener, closeFn func() error, _ time.Duration) { closeFn() }
