package server

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// closeDrained closes ln (by calling closeFn) at a moment when its accept queue is empty,
// waiting up to max for one.
//
// Closing a listening socket resets every connection still in its accept
// queue: connections the kernel completed but the server has not accepted
// yet. A load balancer that connected a moment before and already sent its
// request then sees that request fail after it was sent, and may not retry
// it elsewhere: nginx does not resend a POST, and answers 502. The server
// keeps accepting while this waits, so the queue empties within
// milliseconds; closing right after seeing it empty leaves only a
// microseconds-wide window instead of the accept loop's whole lag.
// (A socket filter that stops new SYNs first would close the window
// entirely, but not every kernel or sandbox allows one.)
func closeDrained(ln net.Listener, closeFn func() error, max time.Duration) {
	defer closeFn()
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return
	}
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		queued := uint32(1)
		cerr := rc.Control(func(fd uintptr) {
			// On a listener, tcpi_unacked is the accept queue's length.
			if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
				queued = info.Unacked
			} else {
				queued = 0 // cannot tell: close now, as without this
			}
		})
		if cerr != nil || queued == 0 {
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
}
