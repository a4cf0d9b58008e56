package kazooauth

import (
	"context"
	"crypto/rsa"
	"log/slog"
	"maps"
	"time"
)

// KeySource returns the public keys Kazoo signs tokens with, by kid.
type KeySource interface {
	// PublicKeys returns every key the source holds now; a key missing from the answer
	// is no longer trusted.
	PublicKeys(ctx context.Context) (map[string]*rsa.PublicKey, error)
}

// snapshot is what one refresh read: the settings, the trusted keys and where identity
// secrets come from. It is never changed once published.
type snapshot struct {
	settings Settings
	keys     map[string]*rsa.PublicKey
	// sourceKeys are the keys each key source gave, by source name, kept when a later
	// read of that source fails.
	sourceKeys map[string]map[string]*rsa.PublicKey
	secrets    SecretSource // nil: no secrets can be read
	loaded     time.Time
}

// current returns the snapshot to verify with, refreshing it when it is older than the
// refresh interval.
func (v *Verifier) current(ctx context.Context) *snapshot {
	if s := v.state.Load(); s != nil && !v.stale(s) {
		return s
	}
	v.refreshMu.Lock()
	defer v.refreshMu.Unlock()
	if s := v.state.Load(); s != nil && !v.stale(s) {
		return s // another request refreshed while this one waited
	}
	return v.refresh(ctx)
}

func (v *Verifier) stale(s *snapshot) bool {
	age := v.now().Sub(s.loaded)
	return age >= s.settings.RefreshInterval || age < 0
}

// refreshForUnknown refreshes for a kid the snapshot does not know (or whose key did not
// match), at most once per refresh interval: forged kids cannot make knm read CouchDB on
// every request. It returns the snapshot to use, which is seen unchanged when the budget
// is spent.
func (v *Verifier) refreshForUnknown(ctx context.Context, seen *snapshot) *snapshot {
	v.refreshMu.Lock()
	defer v.refreshMu.Unlock()
	if s := v.state.Load(); s != seen {
		return s // refreshed meanwhile: use that
	}
	now := v.now()
	if !v.lastForced.IsZero() && now.Sub(v.lastForced) < seen.settings.RefreshInterval && !now.Before(v.lastForced) {
		return seen
	}
	v.lastForced = now
	return v.refresh(ctx)
}

// refresh reads settings and keys again and publishes them; the caller holds refreshMu.
// When the settings cannot be read, the previous snapshot stays for another interval; a
// key source that fails keeps its previous keys. Either is logged.
func (v *Verifier) refresh(ctx context.Context) *snapshot {
	prev := v.state.Load()
	now := v.now()
	v.refreshes.Add(1)
	settings, err := Load(ctx, v.cfg)
	if err != nil {
		v.logger.WarnContext(ctx, "kazoo_auth settings unreadable; Kazoo tokens are checked with the previous ones",
			slog.String("error", err.Error()))
		if prev == nil {
			// Nothing to fall back on: trust no key until the next attempt.
			prev = &snapshot{settings: Settings{RefreshInterval: MinRefreshInterval, Identity: IdentityRequired}}
		}
		next := *prev
		next.loaded = now
		v.state.Store(&next)
		return &next
	}
	next := &snapshot{settings: settings, loaded: now, secrets: v.opts.Secrets}
	sources := map[string]KeySource{}
	if v.opts.Keys != nil {
		sources["option"] = v.opts.Keys
	}
	if settings.CouchDBURL != "" {
		couch, err := NewCouchDB(settings.CouchDBURL, v.opts.HTTPClient)
		if err == nil {
			sources["couchdb"] = couch
			if next.secrets == nil {
				next.secrets = couch
			}
		}
	}
	next.sourceKeys = v.readSources(ctx, sources, prev)
	next.keys = map[string]*rsa.PublicKey{}
	for _, keys := range next.sourceKeys {
		maps.Copy(next.keys, keys)
	}
	maps.Copy(next.keys, settings.PublicKeys) // a configured PEM wins over a source
	if settings.Identity == IdentityRequired && next.secrets == nil {
		v.logger.WarnContext(ctx, "kazoo_auth identity_signature is required but no identity secrets can be read"+
			" (set couchdb_url): every Kazoo token is refused")
	}
	v.state.Store(next)
	return next
}

// readSources reads the keys of every source; a source that fails keeps the keys it gave
// before, so a CouchDB outage does not sign every Kazoo user out.
func (v *Verifier) readSources(ctx context.Context, sources map[string]KeySource, prev *snapshot) map[string]map[string]*rsa.PublicKey {
	out := map[string]map[string]*rsa.PublicKey{}
	for name, src := range sources {
		keys, err := src.PublicKeys(ctx)
		if err != nil {
			v.logger.WarnContext(ctx, "Kazoo signing keys unreadable; the keys read before stay trusted",
				slog.String("source", name), slog.String("error", err.Error()))
			if prev != nil {
				out[name] = prev.sourceKeys[name]
			}
			continue
		}
		out[name] = keys
	}
	return out
}
