package testenv

import "time"

// WithDelivery has the App hand over pictures in mode (media.DeliverProxy,
// DeliverRedirect or DeliverXAccel), with presigned URLs living ttl (0:
// the default).
func WithDelivery(mode string, ttl time.Duration) AppOption {
	return func(c *appConfig) { c.delivery, c.urlTTL = mode, ttl }
}
