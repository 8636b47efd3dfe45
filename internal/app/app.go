// Package app assembles insta485 from its parts (storage, media, auth, the
// site and the API) into one http.Handler. The binary and the tests build
// the application the same way, through New.
package app

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/api"
	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/metrics"
	"github.com/insta485/insta485/internal/server"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/web"
)

// Deps are what the application runs on.
type Deps struct {
	Store     *storage.Store
	Media     blob.Store
	Secret    []byte
	MaxUpload int64
	Log       *slog.Logger
	// Metrics, when set, records the app's requests, database pools and
	// upload store operations; serve its Handler on a listener of its own.
	// One Metrics belongs to one app.
	Metrics *metrics.Metrics
	// TrustedProxies are the reverse proxies whose forwarding headers are
	// believed; none when empty.
	TrustedProxies []netip.Prefix
	// Throttle limits wrong passwords; nil uses insta485's limits.
	Throttle *auth.Throttle
	// Delivery says how /uploads/ hands over pictures (made from Media
	// by media.NewDelivery); nil: the app sends them.
	Delivery *media.Delivery
	// ArgonWait is how long a login waits for a password-check slot
	// before answering 503 (0: auth.DefaultArgonWait).
	ArgonWait time.Duration
	// WaitBudget bounds how long a request waits for the database and
	// the upload store (0: server.DefaultWaitBudget; negative: no bound).
	WaitBudget time.Duration
}

// New returns the whole application as one handler.
func New(d Deps) http.Handler {
	var obs server.Observer
	if d.Metrics != nil {
		d.Media = d.Metrics.Media(d.Media)
		d.Metrics.WatchDB(d.Store.Pools())
		if calls := d.Store.Calls(); calls != nil {
			d.Metrics.WatchCalls(calls)
		}
		if d.Store.HasReplicas() {
			d.Metrics.WatchReplicas(d.Store.ReplicaStats)
		}
		obs = d.Metrics
	}
	authn := &auth.Authenticator{Sessions: auth.NewSessions(d.Secret), Store: d.Store, Throttle: d.Throttle, ArgonWait: d.ArgonWait}
	site := &web.Handler{Store: d.Store, Media: d.Media, Auth: authn, MaxUpload: d.MaxUpload, Log: d.Log, Delivery: d.Delivery}
	rest := &api.Handler{Store: d.Store, Auth: authn, Log: d.Log}
	budget := d.WaitBudget
	if budget == 0 {
		budget = server.DefaultWaitBudget
	}
	h := server.SecurityHeaders(server.New(d.Store, d.Log, obs, rest, site))
	// Outermost, so that logs, metrics and throttling see the client's
	// address rather than the load balancer's.
	return server.TrustProxies(d.TrustedProxies, server.WithWaitBudget(budget, authn.ReadYourWrites(d.Log, h)))
}
