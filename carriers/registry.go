// Package carriers is the registry of carrier modules by their Kazoo module name
// (knm_local, knm_voxbone, …). cmd/knm registers a factory per module at start-up; the
// number manager asks it for the modules that system_config or a reseller names.
package carriers

import (
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"sync"

	"github.com/knmproject/knm"
)

// Factory returns the carrier of one module. It is called every time the module is named,
// so a factory that holds no per-call state should return one shared instance.
type Factory func() (knm.Carrier, error)

// Registry maps module names to factories. The zero value is empty and ready to use; a
// Registry is safe for concurrent use.
type Registry struct {
	mu        sync.RWMutex
	factories map[string]Factory
}

// Register adds a module. It panics when name is empty, factory is nil or name is already
// registered, because those are wiring mistakes that must fail at start-up.
func (r *Registry) Register(name string, factory Factory) {
	if name == "" || factory == nil {
		panic("carriers: Register needs a module name and a factory")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.factories[name]; dup {
		panic(fmt.Sprintf("carriers: module %q registered twice", name))
	}
	if r.factories == nil {
		r.factories = make(map[string]Factory)
	}
	r.factories[name] = factory
}

// Names returns the registered module names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.factories))
	for n := range r.factories {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Lookup returns the carrier of one module, or false when it is not registered or its
// factory fails (the failure is logged; a nil logger uses slog.Default()).
func (r *Registry) Lookup(name string, logger *slog.Logger) (knm.Carrier, bool) {
	if logger == nil {
		logger = slog.Default()
	}
	r.mu.RLock()
	f, ok := r.factories[name]
	r.mu.RUnlock()
	if !ok {
		return nil, false
	}
	c, err := f()
	if err != nil || c == nil {
		logger.Warn("carrier module unusable; dropped", "module", name, "error", err)
		return nil, false
	}
	return c, true
}

// New returns the carriers of the named modules in the order given, skipping repeats.
// Unknown modules are dropped, as Kazoo's keep_only_reachable drops them (kazoo-knm §2.1),
// but with a logged warning: a typo in carrier_modules should not silently empty a search.
// A nil logger uses slog.Default().
func (r *Registry) New(names []string, logger *slog.Logger) []knm.Carrier {
	if logger == nil {
		logger = slog.Default()
	}
	out := make([]knm.Carrier, 0, len(names))
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		c, ok := r.Lookup(name, logger)
		if !ok {
			if !r.has(name) {
				logger.Warn("unknown carrier module; dropped", "module", name)
			}
			continue
		}
		out = append(out, c)
	}
	return out
}

// Recoverers yields, in module-name order, each registered module whose carrier can settle
// unfinished work, so that serve recovers every such module without naming any.
func (r *Registry) Recoverers(logger *slog.Logger) iter.Seq2[string, knm.Recoverer] {
	return func(yield func(string, knm.Recoverer) bool) {
		for _, name := range r.Names() {
			c, ok := r.Lookup(name, logger)
			if !ok {
				continue
			}
			if rec, ok := c.(knm.Recoverer); ok && !yield(name, rec) {
				return
			}
		}
	}
}

func (r *Registry) has(name string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.factories[name]
	return ok
}
