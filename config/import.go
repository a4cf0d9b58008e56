package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/jsonpos"
)

// Import loads Kazoo-exported configuration documents from r, as they are: one JSON
// object or an array of objects, each with a string "_id". CouchDB's own keys (_rev,
// _attachments, …: every key starting with "_" except "_id") are dropped; everything
// else, pvt_ keys included, is kept with its key order.
//
// A document whose _id is configs_<category> and which names its account in a string
// pvt_account_id (other than "system_config") is an account document, stored with that
// account as scope and <category> as id, as kapps_account_config writes them. Every other
// document is a system_config category.
//
// Import writes all documents or none (ConfigStore.ImportConfigs), replacing documents
// with the same scope and id. Malformed JSON is refused with its line and column; a
// document without a string _id, or an _id given twice, is refused by its position.
// It returns the documents it wrote.
func (c *Config) Import(ctx context.Context, r io.Reader) ([]*knm.ConfigDoc, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("config import: read: %w", err)
	}
	if err := checkSyntax(data); err != nil {
		return nil, err
	}
	var raws []json.RawMessage
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[':
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, knm.Errorf(knm.ErrInvalid, "config import: %v", err)
		}
	case len(trimmed) > 0 && trimmed[0] == '{':
		raws = []json.RawMessage{trimmed}
	default:
		return nil, knm.Errorf(knm.ErrInvalid, "config import: want a JSON object or an array of objects")
	}
	docs := make([]*knm.ConfigDoc, 0, len(raws))
	seen := map[[2]string]int{}
	for i, raw := range raws {
		d, err := importDoc(raw)
		if err != nil {
			return nil, knm.Errorf(knm.ErrInvalid, "config import: document %d: %v", i+1, err)
		}
		k := [2]string{d.Scope, d.ID}
		if j, dup := seen[k]; dup {
			return nil, knm.Errorf(knm.ErrInvalid, "config import: documents %d and %d are both %s", j+1, i+1,
				docName(d.Scope, d.ID))
		}
		seen[k] = i
		if err := CheckWritable(d.ID); d.Scope == "" && err != nil {
			return nil, knm.Errorf(knm.ErrInvalid, "config import: document %d: %v", i+1, err)
		}
		if err := Validate(ctx, d); err != nil {
			return nil, knm.Errorf(knm.ErrInvalid, "config import: document %d (%s): %v", i+1, d.ID, err)
		}
		docs = append(docs, d)
	}
	if len(docs) == 0 {
		return nil, knm.Errorf(knm.ErrInvalid, "config import: no documents")
	}
	if err := c.store.ImportConfigs(ctx, docs); err != nil {
		return nil, fmt.Errorf("config import: %w", err)
	}
	return docs, nil
}

// importDoc turns one exported document into a ConfigDoc.
func importDoc(raw json.RawMessage) (*knm.ConfigDoc, error) {
	ms, err := objectMembers(raw)
	if err != nil {
		return nil, errors.New("not a JSON object")
	}
	var id, account string
	kept := ms[:0:0]
	for _, m := range ms {
		switch {
		case m.Key == "_id":
			if json.Unmarshal(m.Value, &id) != nil || id == "" {
				return nil, errors.New(`"_id" must be a non-empty string`)
			}
		case strings.HasPrefix(m.Key, "_"):
			continue // CouchDB's bookkeeping: _rev, _attachments, _deleted…
		case m.Key == "pvt_account_id":
			_ = json.Unmarshal(m.Value, &account) // not a string: not an account document
		}
		kept = append(kept, m)
	}
	if id == "" {
		return nil, errors.New(`no "_id"`)
	}
	d := &knm.ConfigDoc{ID: id, Body: encodeMembers(kept)}
	if cat, ok := strings.CutPrefix(id, accountDocPrefix); ok && cat != "" && account != "" &&
		account != "system_config" {
		d.Scope, d.ID = account, cat
	}
	return d, nil
}

// checkSyntax refuses malformed JSON with the line and column where it breaks.
func checkSyntax(data []byte) error {
	if line, col, se, bad := jsonpos.Syntax(data); bad {
		return knm.Errorf(knm.ErrInvalid, "config import: malformed JSON at line %d, column %d: %v", line, col, se)
	}
	return nil
}
