// Package chromium owns finding and launching a headless Chromium the same
// way everywhere: the browser tests and the screenshots command.
package chromium

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/chromedp/chromedp"
)

// Candidates are the executables Find tries, in order, after the
// INSTA485_CHROMIUM environment variable.
var Candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "headless-shell"}

// Find returns the path of a Chromium-family browser: the one
// INSTA485_CHROMIUM names, or the first of Candidates on PATH.
func Find() (string, error) {
	if p := os.Getenv("INSTA485_CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range Candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium found (tried %s): install Debian's chromium or set INSTA485_CHROMIUM", strings.Join(Candidates, ", "))
}

// Options are the allocator options for a headless Chromium at execPath
// keeping its profile in userDataDir. Beyond chromedp's defaults: no sandbox
// (Chromium refuses to start sandboxed as root, as in CI and containers),
// no GPU, and none of the background traffic (updates, sync, QUIC probes)
// that fails noisily on a closed network and would show up as console
// errors that are not the page's.
func Options(execPath, userDataDir string) []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(userDataDir),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
	)
}
