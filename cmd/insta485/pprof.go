//go:build pprof

package main

import (
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
)

// Built with -tags pprof (insta485-bench --profile does), the server serves
// Go's profiler on INSTA485_PPROF_ADDR. Release builds have no such code.
func init() {
	if addr := os.Getenv("INSTA485_PPROF_ADDR"); addr != "" {
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
}
