package kazoo

import (
	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
)

// NewProjectorFromSettings dials the CouchDB that kazoo_sync names and returns a projector
// with its batch size, poll interval and backoff; o supplies the store, feed, cursor store,
// logger and clock. It refuses settings that are not enabled.
func NewProjectorFromSettings(k config.KazooSyncConfig, o Options) (*Projector, error) {
	if !k.Enabled {
		return nil, knm.Errorf(knm.ErrInvalid, "kazoo: %s is not enabled", config.KazooSyncCategory)
	}
	base, user, pass := k.Endpoint()
	c, err := Dial(base, user, pass, k.RequestTimeout)
	if err != nil {
		return nil, err
	}
	o.Couch, o.BatchSize, o.PollInterval, o.MaxBackoff = c, k.BatchSize, k.PollInterval, k.MaxBackoff
	return NewProjector(o)
}
