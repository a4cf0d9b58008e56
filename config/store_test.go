package config

import (
	"context"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/sqlite"
)

// memStore is a minimal knm.ConfigStore with the revision rules of the real stores.
type memStore struct {
	mu   sync.Mutex
	docs map[[2]string]knm.ConfigDoc
	// beforePut, when set, runs before each PutConfig, outside the lock; tests use it to
	// make another writer win a race.
	beforePut  func(d *knm.ConfigDoc)
	puts       int
	failImport error
}

func newMemStore() *memStore { return &memStore{docs: map[[2]string]knm.ConfigDoc{}} }

func (m *memStore) GetConfig(_ context.Context, scope, id string) (*knm.ConfigDoc, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[[2]string{scope, id}]
	if !ok {
		return nil, knm.Errorf(knm.ErrNotFound, "config %s not found", id)
	}
	d.Body = append([]byte(nil), d.Body...)
	return &d, nil
}

func (m *memStore) PutConfig(_ context.Context, d *knm.ConfigDoc) error {
	if hook := m.beforePut; hook != nil {
		m.beforePut = nil
		hook(d)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts++
	k := [2]string{d.Scope, d.ID}
	cur, ok := m.docs[k]
	switch {
	case d.Rev == 0 && ok, d.Rev != 0 && (!ok || cur.Rev != d.Rev):
		return knm.Conflict("config " + d.ID)
	}
	d.Rev++
	d.Modified = time.Now()
	cp := *d
	cp.Body = append([]byte(nil), d.Body...)
	m.docs[k] = cp
	return nil
}

func (m *memStore) ImportConfigs(_ context.Context, docs []*knm.ConfigDoc) error {
	if m.failImport != nil {
		return m.failImport
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range docs {
		k := [2]string{d.Scope, d.ID}
		cp := *d
		cp.Rev = m.docs[k].Rev + 1
		m.docs[k] = cp
	}
	return nil
}

func (m *memStore) ListConfigs(_ context.Context, scope string) ([]*knm.ConfigDoc, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*knm.ConfigDoc
	for k, d := range m.docs {
		if k[0] == scope {
			d := d
			out = append(out, &d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// backends runs f against the in-memory store and the real SQLite store.
func backends(t *testing.T, f func(t *testing.T, s knm.ConfigStore)) {
	t.Helper()
	t.Run("mem", func(t *testing.T) { f(t, newMemStore()) })
	t.Run("sqlite", func(t *testing.T) {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "knm.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		f(t, s)
	})
}

// put stores a system document body, failing the test on error.
func put(t *testing.T, s knm.ConfigStore, scope, id, body string) {
	t.Helper()
	if err := s.PutConfig(context.Background(), &knm.ConfigDoc{Scope: scope, ID: id, Body: []byte(body)}); err != nil {
		t.Fatal(err)
	}
}

// body returns a stored document's body, or "" when there is none.
func body(t *testing.T, s knm.ConfigStore, scope, id string) string {
	t.Helper()
	d, err := s.GetConfig(context.Background(), scope, id)
	if knm.IsErrorName(err, knm.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(d.Body)
}

func rev(t *testing.T, s knm.ConfigStore, id string) int64 {
	t.Helper()
	d, err := s.GetConfig(context.Background(), "", id)
	if err != nil {
		t.Fatal(err)
	}
	return d.Rev
}
