package main

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
)

// counts are the server's own counters, read from its metrics.
type counts struct {
	requests, statements, roundTrips float64
}

// scrape reads the counters at addr's /metrics; zero when there is none
// (SQLite counts no statements).
func scrape(addr string) counts {
	var c counts
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return c
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(name, '{'); i >= 0 {
			// A labelled series: its value follows the closing brace.
			name = line[:i]
			rest = line[strings.LastIndexByte(line, '}')+1:]
		}
		v, err := strconv.ParseFloat(strings.Fields(rest + " 0")[0], 64)
		if err != nil {
			continue
		}
		switch name {
		case "insta485_http_requests_total":
			c.requests += v
		case "insta485_db_statements_total":
			c.statements += v
		case "insta485_db_round_trips_total":
			c.roundTrips += v
		}
	}
	return c
}
