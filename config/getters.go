package config

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/knmproject/knm"
)

// Typed getters. Each takes a dotted key and a code default, returns the stored value
// converted to its Go type, and fails with knm.ErrInvalid, naming category and key, when
// the stored value has the wrong type: a wrong setting is an operator's mistake to fix,
// and silently using the default instead would hide it.

// GetRaw returns the value of key as raw JSON, key order kept (nil when absent and def is
// nil).
func (c *Config) GetRaw(ctx context.Context, category, key string, def json.RawMessage) (json.RawMessage, error) {
	return c.Lookup(ctx, category, SplitKey(key), def)
}

// GetObject returns the value of key, which must be a JSON object, as raw JSON with its
// key order kept.
func (c *Config) GetObject(ctx context.Context, category, key string, def json.RawMessage) (json.RawMessage, error) {
	raw, err := c.GetRaw(ctx, category, key, def)
	if err != nil || raw == nil {
		return raw, err
	}
	return asObject(raw, category, key)
}

// GetString returns the value of key as a string. A JSON number is accepted and returned
// as written, as Kazoo's get_binary casts it.
func (c *Config) GetString(ctx context.Context, category, key, def string) (string, error) {
	raw, err := c.GetRaw(ctx, category, key, mustMarshal(def))
	if err != nil {
		return "", err
	}
	return asString(raw, category, key)
}

// GetInt returns the value of key as an int. A JSON string holding an integer ("5000") is
// accepted, as Kazoo's get_integer accepts it; so is an integral number written 5000.0.
func (c *Config) GetInt(ctx context.Context, category, key string, def int) (int, error) {
	raw, err := c.GetRaw(ctx, category, key, mustMarshal(def))
	if err != nil {
		return 0, err
	}
	return asInt(raw, category, key)
}

// GetFloat returns the value of key as a float64; a JSON string holding a number is
// accepted.
func (c *Config) GetFloat(ctx context.Context, category, key string, def float64) (float64, error) {
	raw, err := c.GetRaw(ctx, category, key, mustMarshal(def))
	if err != nil {
		return 0, err
	}
	return asFloat(raw, category, key)
}

// GetBool returns the value of key as a bool. The strings "true" and "false" (any case)
// are accepted, as Kazoo's is_true accepts them.
func (c *Config) GetBool(ctx context.Context, category, key string, def bool) (bool, error) {
	raw, err := c.GetRaw(ctx, category, key, mustMarshal(def))
	if err != nil {
		return false, err
	}
	return asBool(raw, category, key)
}

// GetStrings returns the value of key, which must be an array of strings.
func (c *Config) GetStrings(ctx context.Context, category, key string, def []string) ([]string, error) {
	if def == nil {
		def = []string{}
	}
	raw, err := c.GetRaw(ctx, category, key, mustMarshal(def))
	if err != nil {
		return nil, err
	}
	return asStrings(raw, category, key)
}

// GetStringAlias returns a string setting that has several spellings, e.g.
// []string{"username", "api_username"}. Sections take precedence over spellings: the node
// section under any spelling beats the zone section, which beats default. When one section
// holds several spellings, the first in keys wins. A needed default is written back under
// keys[0].
func (c *Config) GetStringAlias(ctx context.Context, category string, keys []string, def string) (string, error) {
	raw, key, err := c.lookupAny(ctx, category, splitKeys(keys), mustMarshal(def))
	if err != nil {
		return "", err
	}
	return asString(raw, category, strings.Join(key, "."))
}

// GetIntAlias is GetStringAlias for an integer setting, e.g. page_size / max_page_size.
func (c *Config) GetIntAlias(ctx context.Context, category string, keys []string, def int) (int, error) {
	raw, key, err := c.lookupAny(ctx, category, splitKeys(keys), mustMarshal(def))
	if err != nil {
		return 0, err
	}
	return asInt(raw, category, strings.Join(key, "."))
}

func splitKeys(keys []string) [][]string {
	if len(keys) == 0 {
		keys = []string{""}
	}
	paths := make([][]string, len(keys))
	for i, k := range keys {
		paths[i] = SplitKey(k)
	}
	return paths
}

// mustMarshal encodes a code default; the Go types used here always encode.
func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("config: code default does not encode: " + err.Error())
	}
	return b
}

// wrongType is the error of a stored value that is not of the wanted type.
func wrongType(category, key, want string, raw json.RawMessage) error {
	shown := string(raw)
	if len(shown) > 60 {
		shown = shown[:60] + "…"
	}
	return knm.Errorf(knm.ErrInvalid, "config: %s %s must be %s, got %s", category, key, want, shown)
}

func asObject(raw json.RawMessage, category, key string) (json.RawMessage, error) {
	if !isObject(raw) {
		return nil, wrongType(category, key, "a JSON object", raw)
	}
	return raw, nil
}

func asString(raw json.RawMessage, category, key string) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), nil
	}
	return "", wrongType(category, key, "a string", raw)
}

func asFloat(raw json.RawMessage, category, key string) (float64, error) {
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		return f, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f, nil
		}
	}
	return 0, wrongType(category, key, "a number", raw)
}

func asInt(raw json.RawMessage, category, key string) (int, error) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, wrongType(category, key, "an integer", raw)
		}
		n = json.Number(strings.TrimSpace(s))
	}
	if i, err := strconv.ParseInt(string(n), 10, strconv.IntSize); err == nil {
		return int(i), nil
	}
	if f, err := strconv.ParseFloat(string(n), 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int(f), nil
	}
	return 0, wrongType(category, key, "an integer", raw)
}

func asBool(raw json.RawMessage, category, key string) (bool, error) {
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return b, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, wrongType(category, key, "a boolean", raw)
}

func asStrings(raw json.RawMessage, category, key string) ([]string, error) {
	var ss []string
	if err := json.Unmarshal(raw, &ss); err != nil {
		return nil, wrongType(category, key, "an array of strings", raw)
	}
	return ss, nil
}
