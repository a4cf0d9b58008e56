package config

import (
	"context"
	"encoding/json"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/features"
)

// FeatureSettings reads the feature settings of number_manager for a number: resellerID is the
// reseller of the account the number is assigned to ("" for an unassigned number, which
// then gets the system's settings) and module its carrier module. Admin and Carriers are
// left for the caller.
//
// features.allow and features.deny are read from the reseller's configs_number_manager,
// then from system_config (Kazoo's get_from_reseller); when neither sets features.allow,
// the system's providers list, else every feature, is the default (written back into
// system_config, as Kazoo does). sms and mms come from the carrier's own category,
// number_manager.<carrier without knm_>, read without writing anything back.
func FeatureSettings(ctx context.Context, cfg *Config, resellerID, module string) (features.Settings, error) {
	const cat = NumberManagerCategory
	var s features.Settings
	var err error
	if s.Allow, err = loadFeatureAllow(ctx, cfg, resellerID); err != nil {
		return features.Settings{}, err
	}
	raw, err := cfg.AccountGetHierarchy(ctx, resellerID, "", cat, "features.deny", nil)
	if err != nil {
		return features.Settings{}, err
	}
	if raw != nil {
		if err := json.Unmarshal(raw, &s.Deny); err != nil {
			return features.Settings{}, knm.Errorf(knm.ErrInvalid,
				"config: %s features.deny must be a list of feature names", cat)
		}
		s.DenySet = true
	}
	if s.LocalFeatureOverride, err = cfg.GetBool(ctx, cat, "local_feature_override", false); err != nil {
		return features.Settings{}, err
	}
	if s.Messaging, err = loadMessaging(ctx, cfg, module); err != nil {
		return features.Settings{}, err
	}
	return s, nil
}

// loadFeatureAllow reads features.allow for the reseller, falling back to the system's providers
// list and then to every feature.
func loadFeatureAllow(ctx context.Context, cfg *Config, resellerID string) ([]string, error) {
	const cat = NumberManagerCategory
	if resellerID != "" {
		raw, err := cfg.AccountGetHierarchy(ctx, resellerID, "", cat, "features.allow", nil)
		if err != nil || raw != nil {
			return featureList(raw, err, "features.allow")
		}
	}
	def := features.All()
	raw, err := cfg.GetRaw(ctx, cat, "providers", nil)
	providers, err := featureList(raw, err, "providers")
	if err != nil {
		return nil, err
	}
	if len(providers) > 0 {
		def = providers
	}
	return cfg.GetStrings(ctx, cat, "features.allow", def)
}

// featureList decodes a list of strings read from number_manager; key names it in errors.
func featureList(raw json.RawMessage, err error, key string) ([]string, error) {
	if err != nil || raw == nil {
		return nil, err
	}
	var out []string
	if json.Unmarshal(raw, &out) != nil {
		return nil, knm.Errorf(knm.ErrInvalid, "config: %s %s must be a list of feature names",
			NumberManagerCategory, key)
	}
	return out, nil
}

// loadMessaging reads features.sms and features.mms of the carrier's category.
func loadMessaging(ctx context.Context, cfg *Config, module string) (map[string]features.Messaging, error) {
	if module == "" {
		return nil, nil
	}
	cat := NumberManagerCategory + "." + knm.CarrierModuleShortName(module)
	ro := cfg.WithoutWriteBack()
	out := map[string]features.Messaging{}
	for _, kind := range []string{features.SMS, features.MMS} {
		enabled, err := ro.GetBool(ctx, cat, "features."+kind+".enabled", false)
		if err != nil {
			return nil, err
		}
		activation, err := ro.GetString(ctx, cat, "features."+kind+".activation", "auto")
		if err != nil {
			return nil, err
		}
		out[kind] = features.Messaging{Enabled: enabled, Activation: activation}
	}
	return out, nil
}
