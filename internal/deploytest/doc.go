// Package deploytest runs insta485 the way it is deployed on several
// machines, and checks that it holds up: the real binary (built by the
// tests) as several app server processes sharing one PostgreSQL database,
// one secret key and one upload store, behind a real nginx configured from
// deploy/nginx.conf. The tests sign up, post, like, comment and follow
// with consecutive requests on different instances, drive the live feed in
// Chromium through nginx, stop instances with SIGTERM and SIGKILL under
// load, and scrape each instance's Prometheus metrics.
//
// The package has no code of its own: everything is in its tests.
package deploytest
