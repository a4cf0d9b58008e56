package config

import (
	"context"
	"sync"
)

// CategoryCheck reads a category through c as start-up does and returns why it is
// unusable; Validate runs it on each section of a document before the document is stored.
type CategoryCheck func(ctx context.Context, c *Config) error

var (
	checksMu sync.RWMutex
	checks   = map[string]CategoryCheck{}
)

func init() {
	// Set here, not in the declaration: the checks reach Validate, which reads checks.
	checks[NumberManagerCategory] = func(ctx context.Context, c *Config) error {
		_, err := c.NumberManager(ctx)
		return err
	}
	checks[VoxboneCategory] = func(ctx context.Context, c *Config) error {
		_, err := c.Voxbone(ctx)
		return err
	}
}

// RegisterCategory makes Validate check the category with check, so a package that owns a
// category (kazoo/auth owns kazoo_auth) gets its settings refused where they are written,
// as number_manager's are. Registering a category twice panics: two owners are a bug.
func RegisterCategory(category string, check CategoryCheck) {
	checksMu.Lock()
	defer checksMu.Unlock()
	if _, dup := checks[category]; dup {
		panic("config: category " + category + " registered twice")
	}
	checks[category] = check
}

// categoryCheck returns the check of a category, nil when knm does not read it.
func categoryCheck(category string) CategoryCheck {
	checksMu.RLock()
	defer checksMu.RUnlock()
	return checks[category]
}
