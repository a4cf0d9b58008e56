package kazooauth

import (
	"context"
	"crypto/rsa"
	"log/slog"
	"maps"
	"time"

	"github.com/knmproject/knm"
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
	rev        int64        // revision of the kazoo_auth document read
	loaded     time.Time    // time of the last full refresh
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
	return v.refresh(ctx, true)
}

func (v *Verifier) stale(s *snapshot) bool {
	age := v.now().Sub(s.loaded)
	return age >= s.settings.RefreshInterval || age < 0
}

// refreshForUnknown refreshes for a kid the snapshot does not know (or whose key did not
// match), at most once per refresh interval: forged kids cannot make knm read CouchDB on
// every request. With that budget spent, a kazoo_auth document changed since the snapshot
// (a PEM just added) is still read at once, from knm's own database only. It returns the
// snapshot to use, seen itself when nothing was read.
func (v *Verifier) refreshForUnknown(ctx context.Context, seen *snapshot) *snapshot {
	v.refreshMu.Lock()
	defer v.refreshMu.Unlock()
	if s := v.state.Load(); s != seen {
		return s // refreshed meanwhile: use that
	}
	now := v.now()
	if v.lastForced.IsZero() || now.Sub(v.lastForced) >= seen.settings.RefreshInterval || now.Before(v.lastForced) {
		v.lastForced = now
		return v.refresh(ctx, true)
	}
	if rev, ok := v.settingsRev(ctx); ok && rev != seen.rev {
		return v.refresh(ctx, false)
	}
	return seen
}

// settingsRev returns the revision of the kazoo_auth document, when Options.Store is set.
func (v *Verifier) settingsRev(ctx context.Context) (int64, bool) {
	if v.opts.Store == nil {
		return 0, false
	}
	doc, err := v.opts.Store.GetConfig(ctx, "", Category)
	if knm.IsErrorName(err, knm.ErrNotFound) {
		return 0, true
	}
	if err != nil {
		return 0, false
	}
	return doc.Rev, true
}

// refreshTimeout bounds one refresh.
const refreshTimeout = 20 * time.Second

// refresh reads the settings again, and the key sources too when withSources (else the
// keys they gave before stay, and so does the time of the last full refresh), and
// publishes the result; the caller holds refreshMu. When the settings cannot be read, the
// previous snapshot stays for another interval; a key source that fails keeps its previous
// keys. Either is logged.
//
// The refresh outlives the request that started it: a client hanging up at that moment
// must not keep a removed key trusted for another interval.
func (v *Verifier) refresh(ctx context.Context, withSources bool) *snapshot {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer cancel()
	prev := v.state.Load()
	if prev == nil {
		prev = &snapshot{}
		withSources = true
	}
	now := v.now()
	rev, _ := v.settingsRev(ctx) // before Load: a change in between is seen next time
	settings, err := Load(ctx, v.cfg)
	if err != nil {
		v.logger.WarnContext(ctx, "kazoo_auth settings unreadable; Kazoo tokens are checked with the previous ones",
			slog.String("error", err.Error()))
		next := *prev
		if next.keys == nil {
			// Nothing to fall back on: trust no key until the next attempt.
			next.settings = Settings{RefreshInterval: MinRefreshInterval, Identity: IdentityRequired}
		}
		next.loaded = now
		v.state.Store(&next)
		return &next
	}
	next := &snapshot{settings: settings, rev: rev, loaded: now, secrets: v.opts.Secrets, sourceKeys: prev.sourceKeys}
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
	if withSources {
		next.sourceKeys = v.readSources(ctx, sources, prev)
	} else {
		next.loaded = prev.loaded
	}
	next.keys = map[string]*rsa.PublicKey{}
	for name, keys := range next.sourceKeys {
		if sources[name] != nil { // a source no longer configured gives nothing
			maps.Copy(next.keys, keys)
		}
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
func (v *Verifier) readSources(ctx context.Context, sources map[string]KeySource,
	prev *snapshot) map[string]map[string]*rsa.PublicKey {
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
