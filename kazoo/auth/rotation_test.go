package kazooauth_test

import (
	"context"
	"crypto/rsa"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kazooauth "github.com/knmproject/knm/kazoo/auth"
	"github.com/knmproject/knm/kazoo/auth/kazootest"
)

func TestKeyRotationWithoutRestart(t *testing.T) {
	e := newEnv(t, kazooauth.Options{})
	e.set("refresh_interval_s", 60)
	first := e.token(e.key, nil)
	e.wantAccepted(first, "first key")

	second := kazootest.NewKey(t)
	e.setKeys(e.key, second)
	e.wantAccepted(e.token(second, nil), "a key added under a new kid, same Verifier")

	e.setKeys(second)
	e.clock.Add(59 * time.Second)
	e.wantAccepted(first, "a removed key inside the refresh interval (cached)")
	e.clock.Add(time.Second)
	if r := e.wantRefused(first, "a removed key after the refresh interval"); r.Reason != "unknown kid" {
		t.Fatalf("reason %q", r.Reason)
	}
	e.wantAccepted(e.token(second, nil), "the remaining key")
}

// countingKeys is a KeySource that counts its reads.
type countingKeys struct {
	mu    sync.Mutex
	keys  map[string]*rsa.PublicKey
	reads atomic.Int64
}

func (c *countingKeys) PublicKeys(context.Context) (map[string]*rsa.PublicKey, error) {
	c.reads.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.keys), nil
}

func (c *countingKeys) add(k kazootest.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys[k.ID] = &k.Priv.PublicKey
}

// newSourceEnv is an env whose keys all come from a countingKeys source.
func newSourceEnv(t *testing.T, refresh int) (*env, *countingKeys) {
	src := &countingKeys{keys: map[string]*rsa.PublicKey{}}
	e := newEnv(t, kazooauth.Options{Keys: src})
	e.set("refresh_interval_s", refresh)
	e.setKeys()
	return e, src
}

func TestForgedKIDsCannotFloodTheKeySource(t *testing.T) {
	e, src := newSourceEnv(t, 60)
	fromSource := kazootest.NewKey(t)
	src.add(fromSource)
	e.wantAccepted(e.token(fromSource, nil), "a key the source holds")
	if n := src.reads.Load(); n != 1 {
		t.Fatalf("first token: %d reads, want 1", n)
	}

	forger := kazootest.NewKey(t)
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.wantRefused(e.token(kazootest.Key{ID: kazootest.RandHex(16), Priv: forger.Priv}, nil), "forged kid")
		}()
	}
	wg.Wait()
	if n := src.reads.Load(); n != 2 {
		t.Fatalf("40 forged kids in one interval: %d reads of the source, want 2 (one more)", n)
	}

	// A PEM the operator adds to kazoo_auth works at once, read from knm's own database.
	configured := kazootest.NewKey(t)
	e.setKeys(configured)
	e.wantAccepted(e.token(configured, nil), "a PEM added after the budget was spent")
	e.wantAccepted(e.token(fromSource, nil), "the source's key, kept")
	if n := src.reads.Load(); n != 2 {
		t.Fatalf("%d reads of the source, want still 2", n)
	}

	// A key Kazoo adds now waits for the next interval: the budget is spent.
	added := kazootest.NewKey(t)
	src.add(added)
	e.clock.Add(30 * time.Second)
	e.wantRefused(e.token(added, nil), "new kid while the budget is spent")
	if n := src.reads.Load(); n != 2 {
		t.Fatalf("%d reads, want still 2", n)
	}
	e.clock.Add(30 * time.Second)
	e.wantAccepted(e.token(added, nil), "new kid after the interval")
	if n := src.reads.Load(); n != 3 {
		t.Fatalf("%d reads, want 3 (the scheduled refresh finds the key)", n)
	}
}

func TestKeyReplacedUnderTheSameKID(t *testing.T) {
	// Kazoo's reset_private_key deletes the key document; the next sign-in makes a new key
	// under the same kid. A token of the new key refreshes at once (within the budget).
	e, src := newSourceEnv(t, 600)
	old := kazootest.NewKey(t)
	src.add(old)
	oldToken := e.token(old, nil)
	e.wantAccepted(oldToken, "old key")
	replaced := kazootest.Key{ID: old.ID, Priv: kazootest.NewKey(t).Priv}
	src.add(replaced)
	e.wantAccepted(e.token(replaced, nil), "new key, same kid")
	e.wantRefused(oldToken, "the replaced key")
}

func TestRefreshOutlivesACancelledRequest(t *testing.T) {
	e := newEnv(t, kazooauth.Options{})
	e.set("refresh_interval_s", 60)
	first := e.token(e.key, nil)
	e.wantAccepted(first, "first key")
	e.setKeys(kazootest.NewKey(t))
	e.clock.Add(time.Minute)
	// The request that finds the snapshot stale hangs up; the refresh it starts must finish.
	gone, cancel := context.WithCancel(e.ctx)
	cancel()
	e.v.Verify(gone, first)
	e.wantRefused(first, "a removed key, after a refresh started by a cancelled request")
}
