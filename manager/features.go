package manager

import (
	"context"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/features"
)

// FeatureSettingsFunc returns number_manager's feature settings for a number whose owner's
// reseller is resellerID ("" for an unowned number) on the carrier module
// (config.FeatureSettings, with Carriers filled in). Admin is set by the manager.
type FeatureSettingsFunc func(ctx context.Context, resellerID, module string) (features.Settings, error)

// defaultFeatureSettings allows every feature and denies none by configuration: what
// Kazoo does with an empty number_manager.
func defaultFeatureSettings(context.Context, string, string) (features.Settings, error) {
	return features.Settings{Allow: features.All()}, nil
}

// featureSettings returns the settings that decide n's features when auth writes or reads
// it: those of the reseller of n's owner, and auth's admin rights.
func (m *Manager) featureSettings(ctx context.Context, a *authz, n *knm.Number) (features.Settings, error) {
	reseller, err := a.resellerOf(n.AssignedTo)
	if err != nil {
		return features.Settings{}, err
	}
	s, err := m.features(ctx, reseller, n.ModuleName)
	if err != nil {
		return features.Settings{}, err
	}
	if s.Admin, err = a.isAdmin(a.authBy); err != nil {
		return features.Settings{}, err
	}
	return s, nil
}

// applyFeatures brings n's pvt_features in line with its public fields and state before
// it is written (Kazoo's knm_providers:save); see features.Apply for its errors.
func (m *Manager) applyFeatures(ctx context.Context, a *authz, n *knm.Number) error {
	s, err := m.featureSettings(ctx, a, n)
	if err != nil {
		return err
	}
	return features.Apply(n, s)
}

// resellerOf returns the reseller of an account: its pvt_reseller_id, else the root of its
// tree, else itself; "" for no account or one that is not stored.
func (a *authz) resellerOf(id string) (string, error) {
	acc, err := a.account(id)
	if err != nil || acc == nil {
		return "", err
	}
	return ResellerOf(acc), nil
}

// ReadOnlyFeatures returns the _read_only.features object of n as auth sees it: the
// features n may use (features_available) and the carrier's settings of those that have
// some.
func (m *Manager) ReadOnlyFeatures(ctx context.Context, auth string, n *knm.Number) (features.ReadOnly, error) {
	s, err := m.featureSettings(ctx, m.authz(ctx, auth), n)
	if err != nil {
		return features.ReadOnly{}, err
	}
	return features.ReadOnlyFeatures(n, s), nil
}

// FeaturesView answers features_available for many numbers read by one caller, loading
// the settings once per reseller and carrier module.
type FeaturesView struct {
	m     *Manager
	a     *authz
	cache map[[2]string]features.Settings
}

// FeaturesView returns a FeaturesView for auth.
func (m *Manager) FeaturesView(ctx context.Context, auth string) *FeaturesView {
	return &FeaturesView{m: m, a: m.authz(ctx, auth), cache: map[[2]string]features.Settings{}}
}

// Available returns the sorted features n may use.
func (v *FeaturesView) Available(ctx context.Context, n *knm.Number) ([]string, error) {
	reseller, err := v.a.resellerOf(n.AssignedTo)
	if err != nil {
		return nil, err
	}
	key := [2]string{reseller, n.ModuleName}
	s, ok := v.cache[key]
	if !ok {
		if s, err = v.m.featureSettings(ctx, v.a, n); err != nil {
			return nil, err
		}
		v.cache[key] = s
	}
	return features.Available(n, s), nil
}
