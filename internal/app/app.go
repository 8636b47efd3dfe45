// Package app assembles insta485 from its parts (storage, media, auth, the
// site and the API) into one http.Handler. The binary and the tests build
// the application the same way, through New.
package app

import (
	"log/slog"
	"net/http"

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
	Media     media.Store
	Secret    []byte
	MaxUpload int64
	Log       *slog.Logger
	// Metrics, when set, records the app's requests, database pools and
	// upload store operations; serve its Handler on a listener of its own.
	// One Metrics belongs to one app.
	Metrics *metrics.Metrics
}

// New returns the whole application as one handler.
func New(d Deps) http.Handler {
	var obs server.Observer
	if d.Metrics != nil {
		d.Media = d.Metrics.Media(d.Media)
		d.Metrics.WatchDB(d.Store.Pools())
		if d.Store.HasReplicas() {
			d.Metrics.WatchReplicas(d.Store.ReplicaStats)
		}
		obs = d.Metrics
	}
	authn := &auth.Authenticator{Sessions: auth.NewSessions(d.Secret), Store: d.Store}
	site := &web.Handler{Store: d.Store, Media: d.Media, Auth: authn, MaxUpload: d.MaxUpload, Log: d.Log}
	rest := &api.Handler{Store: d.Store, Auth: authn, Log: d.Log}
	return authn.ReadYourWrites(d.Log, server.New(d.Store, d.Log, obs, rest, site))
}
