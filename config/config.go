// Package config implements Kazoo's system_config semantics on top of knm.ConfigStore.
//
// A category is one document, {"_id": CATEGORY, "default": {...}, "<node>": {...},
// "<zone>": {...}}, stored with scope "" (system). A key is looked up in the node's
// section, then the zone's, then "default", then the code default the caller passes; a
// code default that was needed is written back into "default" (Kazoo's kapps_config does
// the same), so operators see every setting knm uses in the stored document.
//
// Account-level settings (Kazoo's kapps_account_config) are flat documents stored with
// the account id as scope and the category as id; see AccountGet.
//
// Documents are never decoded into Go maps: JSON key order is kept through every read and
// write, because number_manager's e164_converters and classifiers depend on it.
package config

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/knmproject/knm"
)

// DefaultSection is the section every node and zone falls back to.
const DefaultSection = "default"

// maxWriteAttempts bounds the read-modify-write loop of a write that keeps losing the
// revision race; a loser re-reads the document and tries again.
const maxWriteAttempts = 8

// Config reads and writes system_config documents for one node in one zone.
// It is safe for concurrent use; every lookup reads the store (no cache), so a change
// made by another knm instance is seen at once.
type Config struct {
	store     knm.ConfigStore
	node      string
	zone      string
	writeBack bool
	looked    func(category string, path []string) // KnownKeys records every key read
}

// New returns a Config for the given node and zone; either may be "" to skip its section.
func New(store knm.ConfigStore, node, zone string) *Config {
	return &Config{store: store, node: node, zone: zone, writeBack: true}
}

// WithoutWriteBack returns a copy of c that never writes code defaults back, like Kazoo
// with lock_system_config set; reads from a read-only replica or a dry run want this.
func (c *Config) WithoutWriteBack() *Config {
	cp := *c
	cp.writeBack = false
	return &cp
}

// sections returns the sections a lookup visits, most specific first.
func (c *Config) sections() []string {
	var s []string
	for _, name := range []string{c.node, c.zone} {
		if name != "" && name != DefaultSection && !contains(s, name) {
			s = append(s, name)
		}
	}
	return append(s, DefaultSection)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// getDoc returns the system document of a category, or nil when there is none.
func (c *Config) getDoc(ctx context.Context, scope, category string) (*knm.ConfigDoc, error) {
	d, err := c.store.GetConfig(ctx, scope, category)
	if knm.IsErrorName(err, knm.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Lookup returns the value of the key at path in category: from the node section, the
// zone section or the default section, whichever has it first. A JSON null counts as
// absent. When no section has it and def is not nil, def is written back into the default
// section (creating the document if needed) and returned; when def is nil, Lookup returns
// nil and no error.
func (c *Config) Lookup(ctx context.Context, category string, path []string,
	def json.RawMessage) (json.RawMessage, error) {
	raw, _, err := c.lookupAny(ctx, category, [][]string{path}, def)
	return raw, err
}

// lookupAny is Lookup over several spellings of one key. Sections take precedence over
// spellings: a node value under any spelling beats a default value; within one section the
// first spelling present wins. A needed default is written under the first spelling.
func (c *Config) lookupAny(ctx context.Context, category string, paths [][]string,
	def json.RawMessage) (json.RawMessage, []string, error) {
	if c.looked != nil {
		for _, p := range paths {
			c.looked(category, p)
		}
	}
	doc, err := c.getDoc(ctx, "", category)
	if err != nil {
		return nil, nil, err
	}
	if doc != nil {
		for _, section := range c.sections() {
			for _, p := range paths {
				if v, ok := getPath(doc.Body, append([]string{section}, p...)); ok {
					return v, p, nil
				}
			}
		}
	}
	if def == nil {
		return nil, paths[0], nil
	}
	if c.writeBack {
		if err := c.writeDefault(ctx, category, paths, def); err != nil {
			return nil, nil, err
		}
	}
	return def, paths[0], nil
}

// writeDefault stores def under default.<first spelling> unless some spelling appeared in
// the default section meanwhile (another instance wrote it first: keep theirs).
func (c *Config) writeDefault(ctx context.Context, category string, paths [][]string, def json.RawMessage) error {
	return c.update(ctx, "", category, false, func(body json.RawMessage) (json.RawMessage, bool, error) {
		for _, p := range paths {
			if _, ok := getPath(body, append([]string{DefaultSection}, p...)); ok {
				return nil, false, nil
			}
		}
		nb, err := setPath(body, append([]string{DefaultSection}, paths[0]...), def)
		return nb, true, err
	})
}

// update applies change to the document (scope, id) under its revision, creating the
// document with only its _id when missing, and retries when another writer got in first.
// change returns the new body, or false to write nothing.
//
// validate runs Validate on the new body: explicit writes are checked; a default written
// back is a code default and needs no check (and must not fail because of another key).
func (c *Config) update(ctx context.Context, scope, id string, validate bool,
	change func(json.RawMessage) (json.RawMessage, bool, error)) error {
	for attempt := 0; attempt < maxWriteAttempts; attempt++ {
		doc, err := c.getDoc(ctx, scope, id)
		if err != nil {
			return err
		}
		if doc == nil {
			docID := id
			if scope != "" {
				docID = AccountDocID(id)
			}
			doc = &knm.ConfigDoc{Scope: scope, ID: id, Body: encodeMembers([]member{{Key: "_id", Value: quote(docID)}})}
		}
		body, write, err := change(doc.Body)
		if err != nil {
			return knm.Errorf(knm.ErrInvalid, "config: cannot update %s", docName(scope, id)).Wrap(err)
		}
		if !write {
			return nil
		}
		next := *doc
		next.Body = body
		if validate {
			if err := Validate(ctx, &next); err != nil {
				return err
			}
		}
		err = c.store.PutConfig(ctx, &next)
		if knm.IsErrorName(err, knm.ErrConflict) {
			continue
		}
		return err
	}
	return knm.Conflict("config document " + docName(scope, id))
}

// docName names a document in messages.
func docName(scope, id string) string {
	if scope == "" {
		return "system_config/" + id
	}
	return "account " + scope + " " + AccountDocID(id)
}

// Set stores value (any JSON) at key (a dotted path) in the given node's section of
// category, or in "default" when node is "". The document is created if missing; other
// keys keep their place and spelling.
func (c *Config) Set(ctx context.Context, category, key string, value json.RawMessage, node string) error {
	if !json.Valid(value) {
		return knm.Errorf(knm.ErrInvalid, "config: value for %s %s is not valid JSON", category, key)
	}
	if category == "" || key == "" {
		return knm.Errorf(knm.ErrInvalid, "config: a category and a key are required")
	}
	if node == "" {
		node = DefaultSection
	}
	path := append([]string{node}, SplitKey(key)...)
	return c.update(ctx, "", category, true, func(body json.RawMessage) (json.RawMessage, bool, error) {
		nb, err := setPath(body, path, compact(value))
		return nb, true, err
	})
}

// compact removes insignificant whitespace from a valid JSON value, keeping key order.
func compact(v json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return v
	}
	return buf.Bytes()
}
