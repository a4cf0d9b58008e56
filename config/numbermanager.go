package config

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/e164"
	"github.com/knmproject/knm/manager"
)

// NumberManagerCategory is the system_config category of the number manager.
const NumberManagerCategory = "number_manager"

// NumberManagerConfig is every number_manager setting knm reads (DESIGN §3): the number
// manager's policy, and the settings of its E.164 normaliser as raw JSON, whose key order
// matters.
type NumberManagerConfig struct {
	manager.Policy
	E164Converters json.RawMessage
	ReconcileRegex json.RawMessage // a JSON string
	Classifiers    json.RawMessage
}

// Normalizer builds the e164.Normalizer these settings describe.
func (nm NumberManagerConfig) Normalizer() (*e164.Normalizer, error) {
	return e164.New(e164.Config{Converters: nm.E164Converters, ReconcileRegex: nm.ReconcileRegex,
		Classifiers: nm.Classifiers})
}

// problems collects every validation failure of a settings struct, so an operator fixes
// them in one round rather than one per restart. A failure that is not a validation one (the
// store refused a write-back, say) is no problem of the settings: the first is kept as it is.
type problems struct {
	category string
	list     []string
	failed   error
}

func (p *problems) add(err error) {
	switch {
	case err == nil:
	case !knm.IsErrorName(err, knm.ErrInvalid):
		if p.failed == nil {
			p.failed = err
		}
	default:
		p.list = append(p.list, err.Error())
	}
}

func (p *problems) check(ok bool, key, rule string) {
	if !ok {
		p.list = append(p.list, key+" "+rule)
	}
}

func (p *problems) err() error {
	if p.failed != nil {
		return p.failed
	}
	if len(p.list) == 0 {
		return nil
	}
	items := make([]string, len(p.list))
	for i, msg := range p.list {
		// The getters' messages start "config: <category> …": say it once, up front.
		items[i] = strings.TrimPrefix(strings.TrimPrefix(msg, "config: "), p.category+" ")
	}
	return knm.Errorf(knm.ErrInvalid, "invalid %s: %s", p.category, strings.Join(items, "; "))
}

// NumberManager reads the number_manager category, writing back every missing default as
// Kazoo does, and validates it: wrong types, a non-positive timeout or quantity, an
// unknown released_state or a regex that does not compile are knm.ErrInvalid errors.
func (c *Config) NumberManager(ctx context.Context) (NumberManagerConfig, error) {
	const cat = NumberManagerCategory
	var nm NumberManagerConfig
	p := &problems{category: cat}
	var err error
	nm.AvailableModuleName, err = c.GetString(ctx, cat, "available_module_name", "knm_local")
	p.add(err)
	def := nm.AvailableModuleName
	if def == "" {
		def = "knm_local"
	}
	nm.PortInModuleName, err = c.GetString(ctx, cat, "port_in_module_name", "knm_local")
	p.add(err)
	p.check(err != nil || nm.PortInModuleName != "", "port_in_module_name", "must not be empty")
	nm.CarrierModules, err = c.GetStrings(ctx, cat, "carrier_modules", []string{def})
	p.add(err)
	ms, err := c.GetInt(ctx, cat, "number_search_timeout_ms", 5000)
	p.add(err)
	p.check(err != nil || ms >= 1, "number_search_timeout_ms", "must be at least 1")
	nm.SearchTimeout = time.Duration(ms) * time.Millisecond
	settle, err := c.GetInt(ctx, cat, "number_search_settle_ms", 30000)
	p.add(err)
	p.check(err != nil || settle >= 1, "number_search_settle_ms", "must be at least 1")
	nm.SearchSettleTimeout = time.Duration(settle) * time.Millisecond
	nm.MaxSearchQuantity, err = c.GetInt(ctx, cat, "maximum_search_quantity", 500)
	p.add(err)
	p.check(err != nil || nm.MaxSearchQuantity >= 1, "maximum_search_quantity", "must be at least 1")
	released, err := c.GetString(ctx, cat, "released_state", string(knm.StateAvailable))
	p.add(err)
	nm.ReleasedState = knm.State(released)
	p.check(err != nil || nm.ReleasedState.Valid(), "released_state", "must be a number state, got "+released)
	nm.ShouldPermanentlyDelete, err = c.GetBool(ctx, cat, "should_permanently_delete", false)
	p.add(err)
	nm.ShouldAge, err = c.GetBool(ctx, cat, "should_age", false)
	p.add(err)
	ttl, err := c.GetInt(ctx, cat, "search_cache_ttl_s", 300)
	p.add(err)
	p.check(err != nil || ttl >= 1, "search_cache_ttl_s", "must be at least 1")
	nm.SearchCacheTTL = time.Duration(ttl) * time.Second
	nm.E164Converters, err = c.GetObject(ctx, cat, "e164_converters", e164.DefaultConvertersJSON())
	p.add(err)
	nm.ReconcileRegex, err = c.GetRaw(ctx, cat, "reconcile_regex", mustMarshal(e164.DefaultReconcileRegex))
	p.add(err)
	nm.Classifiers, err = c.GetObject(ctx, cat, "classifiers", e164.DefaultClassifiersJSON())
	p.add(err)
	if len(p.list) == 0 {
		_, err := nm.Normalizer()
		p.add(err)
	}
	return nm, p.err()
}

// ResellerCarrierModules returns carrier_modules from a reseller's own
// configs_number_manager document, which alone counts for its accounts (kazoo-knm §2.1). ok
// is false when the document or the key is missing, or the key is not a list of strings:
// the number manager then uses the system list.
func (c *Config) ResellerCarrierModules(ctx context.Context, resellerID string) (modules []string, ok bool, err error) {
	raw, found, err := c.accountValue(ctx, resellerID, NumberManagerCategory, []string{"carrier_modules"})
	if err != nil || !found {
		return nil, false, err
	}
	if json.Unmarshal(raw, &modules) != nil {
		return nil, false, nil
	}
	return modules, true, nil
}
