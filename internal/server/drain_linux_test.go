package server

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestShutdownServesQueuedConnections connects clients and sends their
// requests before the server has accepted them, then shuts it down at
// once: every one of them must get its response, none a reset (which is
// what closing a listener does to connections still in its queue, and
// what makes a load balancer answer 502 for a POST).
func TestShutdownServesQueuedConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const clients = 20
	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "POST /comment HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // stop as soon as it starts
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "stored")
	})}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, "test", srv, ln, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Errorf("client %d, connected before the shutdown: %v", i, err)
			continue
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("client %d: status %d", i, res.StatusCode)
		}
	}
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("the server still accepts connections after shutting down")
	}
}
