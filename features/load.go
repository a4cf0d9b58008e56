package features

import (
	"context"
	"encoding/json"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
)

// Load reads the feature settings of number_manager for a number: resellerID is the
// reseller of the account the number is assigned to ("" for an unassigned number, which
// then gets the system's settings) and module its carrier module. Admin and Carriers are
// left for the caller.
//
// features.allow and features.deny are read from the reseller's configs_number_manager,
// then from system_config (Kazoo's get_from_reseller); when neither sets features.allow,
// the system's providers list, else every feature, is the default (written back into
// system_config, as Kazoo does). sms and mms come from the carrier's own category,
// number_manager.<carrier without knm_>, read without writing anything back.
func Load(ctx context.Context, cfg *config.Config, resellerID, module string) (Settings, error) {
	const cat = config.NumberManagerCategory
	var s Settings
	var err error
	if s.Allow, err = loadAllow(ctx, cfg, resellerID); err != nil {
		return Settings{}, err
	}
	raw, err := cfg.AccountGetHierarchy(ctx, resellerID, "", cat, "features.deny", nil)
	if err != nil {
		return Settings{}, err
	}
	if raw != nil {
		if err := json.Unmarshal(raw, &s.Deny); err != nil {
			return Settings{}, knm.Errorf(knm.ErrInvalid, "config: %s features.deny must be a list of feature names", cat)
		}
		s.DenySet = true
	}
	if s.LocalFeatureOverride, err = cfg.GetBool(ctx, cat, "local_feature_override", false); err != nil {
		return Settings{}, err
	}
	if s.Messaging, err = loadMessaging(ctx, cfg, module); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// loadAllow reads features.allow for the reseller, falling back to the system's providers
// list and then to every feature.
func loadAllow(ctx context.Context, cfg *config.Config, resellerID string) ([]string, error) {
	const cat = config.NumberManagerCategory
	if resellerID != "" {
		raw, err := cfg.AccountGetHierarchy(ctx, resellerID, "", cat, "features.allow", nil)
		if err != nil || raw != nil {
			return stringList(raw, err, "features.allow")
		}
	}
	def := All()
	raw, err := cfg.GetRaw(ctx, cat, "providers", nil)
	providers, err := stringList(raw, err, "providers")
	if err != nil {
		return nil, err
	}
	if len(providers) > 0 {
		def = providers
	}
	return cfg.GetStrings(ctx, cat, "features.allow", def)
}

// stringList decodes a list of strings read from number_manager; key names it in errors.
func stringList(raw json.RawMessage, err error, key string) ([]string, error) {
	if err != nil || raw == nil {
		return nil, err
	}
	var out []string
	if json.Unmarshal(raw, &out) != nil {
		return nil, knm.Errorf(knm.ErrInvalid, "config: %s %s must be a list of feature names",
			config.NumberManagerCategory, key)
	}
	return out, nil
}

// loadMessaging reads features.sms and features.mms of the carrier's category.
func loadMessaging(ctx context.Context, cfg *config.Config, module string) (map[string]Messaging, error) {
	if module == "" {
		return nil, nil
	}
	cat := config.NumberManagerCategory + "." + knm.CarrierModuleShortName(module)
	ro := cfg.WithoutWriteBack()
	out := map[string]Messaging{}
	for _, kind := range []string{SMS, MMS} {
		enabled, err := ro.GetBool(ctx, cat, "features."+kind+".enabled", false)
		if err != nil {
			return nil, err
		}
		activation, err := ro.GetString(ctx, cat, "features."+kind+".activation", "auto")
		if err != nil {
			return nil, err
		}
		out[kind] = Messaging{Enabled: enabled, Activation: activation}
	}
	return out, nil
}
