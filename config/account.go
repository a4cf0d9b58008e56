package config

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/knmproject/knm"
)

// accountDocPrefix is Kazoo's id prefix of account config documents (configs_<category>).
const accountDocPrefix = "configs_"

// AccountDocID returns Kazoo's document id of an account's settings for a category:
// "configs_number_manager" for "number_manager". knm stores the document with the account
// id as scope and the bare category as id; the _id inside the body keeps Kazoo's spelling.
func AccountDocID(category string) string { return accountDocPrefix + category }

// accountValue returns key from the flat account document of category, if the account has
// one and it holds the key.
func (c *Config) accountValue(ctx context.Context, accountID, category string,
	path []string) (json.RawMessage, bool, error) {
	if accountID == "" {
		return nil, false, nil
	}
	doc, err := c.getDoc(ctx, accountID, category)
	if err != nil || doc == nil {
		return nil, false, err
	}
	v, ok := getPath(doc.Body, path)
	return v, ok, nil
}

// AccountGet returns key (a dotted path) of category for an account: from the account's
// own configs_<category> document, else from system_config (node, zone, default, code
// default with write-back). It is Kazoo's kapps_account_config:get_global for an account
// that is its own reseller, or when the reseller is not known.
func (c *Config) AccountGet(ctx context.Context, accountID, category, key string,
	def json.RawMessage) (json.RawMessage, error) {
	return c.AccountGetHierarchy(ctx, accountID, "", category, key, def)
}

// AccountGetHierarchy returns key of category for an account whose reseller is
// resellerID: the account's document, then the reseller's, then system_config, then def
// (written back into system_config's default section). resellerID may be "" or the
// account itself, and then only the account is consulted before the system.
//
// Kazoo's get_global falls through by document, not by key: when the account has a
// configs_<category> document that lacks the key, Kazoo goes straight to system_config
// and never reads the reseller's. knm falls through by key, so a reseller's setting
// applies to every sub-account that does not set the key itself, whatever else the
// sub-account configures. When the account has no document at all, or has the key, both
// give the same answer. For Kazoo's get_from_reseller (reseller, then system), pass the
// reseller id as accountID.
func (c *Config) AccountGetHierarchy(ctx context.Context, accountID, resellerID, category, key string,
	def json.RawMessage) (json.RawMessage, error) {
	path := SplitKey(key)
	owners := []string{accountID}
	if resellerID != "" && resellerID != accountID {
		owners = append(owners, resellerID)
	}
	for _, id := range owners {
		v, ok, err := c.accountValue(ctx, id, category, path)
		if err != nil {
			return nil, err
		}
		if ok {
			return v, nil
		}
	}
	return c.Lookup(ctx, category, path, def)
}

// AccountGetStrings is AccountGetHierarchy for an array of strings, e.g. a reseller's
// number_manager.carrier_modules.
func (c *Config) AccountGetStrings(ctx context.Context, accountID, resellerID, category, key string,
	def []string) ([]string, error) {
	if def == nil {
		def = []string{}
	}
	raw, err := c.AccountGetHierarchy(ctx, accountID, resellerID, category, key, mustMarshal(def))
	if err != nil {
		return nil, err
	}
	return asStrings(raw, accountScoped(accountID, category), key)
}

// AccountGetBool is AccountGetHierarchy for a boolean, e.g. unauthorized_numbers_lookup.
func (c *Config) AccountGetBool(ctx context.Context, accountID, resellerID, category, key string,
	def bool) (bool, error) {
	raw, err := c.AccountGetHierarchy(ctx, accountID, resellerID, category, key, mustMarshal(def))
	if err != nil {
		return false, err
	}
	return asBool(raw, accountScoped(accountID, category), key)
}

// AccountGetString is AccountGetHierarchy for a string, e.g. reconcile_regex.
func (c *Config) AccountGetString(ctx context.Context, accountID, resellerID, category, key,
	def string) (string, error) {
	raw, err := c.AccountGetHierarchy(ctx, accountID, resellerID, category, key, mustMarshal(def))
	if err != nil {
		return "", err
	}
	return asString(raw, accountScoped(accountID, category), key)
}

func accountScoped(accountID, category string) string {
	return category + " (account " + accountID + " or above)"
}

// AccountSet stores value at key (a dotted path) in the account's configs_<category>
// document, creating the document if needed.
func (c *Config) AccountSet(ctx context.Context, accountID, category, key string, value json.RawMessage) error {
	if accountID == "" || category == "" || key == "" {
		return knm.Errorf(knm.ErrInvalid, "config: an account, a category and a key are required")
	}
	if strings.HasPrefix(category, accountDocPrefix) {
		return knm.Errorf(knm.ErrInvalid, "config: category %q: give the category without %q", category,
			accountDocPrefix)
	}
	if !json.Valid(value) {
		return knm.Errorf(knm.ErrInvalid, "config: value for %s %s is not valid JSON", category, key)
	}
	return c.update(ctx, accountID, category, true, func(body json.RawMessage) (json.RawMessage, bool, error) {
		nb, err := setPath(body, SplitKey(key), compact(value))
		return nb, true, err
	})
}
