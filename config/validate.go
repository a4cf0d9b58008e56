package config

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/knmproject/knm"
)

// Validator checks the settings of one category as one section of its document reads them:
// c looks keys up in that section, then in default, and never writes.
type Validator func(ctx context.Context, c *Config) error

// AccountValidator checks an account's configs_<category> document (a flat object) before
// it is stored.
type AccountValidator func(ctx context.Context, body json.RawMessage) error

var (
	validatorsMu      sync.RWMutex
	validators        = map[string]Validator{}
	accountValidators = map[string]AccountValidator{}
)

// RegisterAccountValidator makes Validate check account documents of category with v, as
// RegisterValidator does for system_config documents.
func RegisterAccountValidator(category string, v AccountValidator) {
	validatorsMu.Lock()
	defer validatorsMu.Unlock()
	accountValidators[category] = v
}

func accountValidatorOf(category string) AccountValidator {
	validatorsMu.RLock()
	defer validatorsMu.RUnlock()
	return accountValidators[category]
}

func validateNumberManager(ctx context.Context, c *Config) error {
	_, err := c.NumberManager(ctx)
	return err
}

// RegisterValidator makes Validate check documents of category with v. A module whose
// settings live in system_config (knm_voxbone) registers its reader at start-up, so that
// config knows no module; a later registration replaces an earlier one.
func RegisterValidator(category string, v Validator) {
	validatorsMu.Lock()
	defer validatorsMu.Unlock()
	validators[category] = v
}

// validatorOf returns the validator of category, nil when it has none; number_manager's
// is config's own.
func validatorOf(category string) Validator {
	if category == NumberManagerCategory {
		return validateNumberManager
	}
	validatorsMu.RLock()
	defer validatorsMu.RUnlock()
	return validators[category]
}

// Validate checks a document as start-up would read it: each section of a system_config
// document with its category's Validator, an account document with its AccountValidator;
// categories without one pass. Writers call it before storing, so a bad value is refused
// where it is written instead of stopping the next start.
//
// In every category, a secret that holds the redaction marker "***" is refused: it is what
// knm shows instead of a secret, so storing it would replace a real credential with the
// marker (a document shown, edited and written back).
func Validate(ctx context.Context, doc *knm.ConfigDoc) error {
	if HasRedactedSecret(doc.Body) {
		return knm.Errorf(knm.ErrInvalid,
			`%s: a secret is "***", the marker shown instead of secrets; write the real value`,
			doc.ID).WithCause("secret")
	}
	if doc.Scope != "" {
		if check := accountValidatorOf(doc.ID); check != nil {
			return check(ctx, doc.Body)
		}
		return nil
	}
	check := validatorOf(doc.ID)
	if check == nil {
		return nil
	}
	ms, err := objectMembers(doc.Body)
	if err != nil {
		return knm.Errorf(knm.ErrInvalid, "%s is not a JSON object", doc.ID)
	}
	one := oneDoc{doc: doc}
	var problems []string
	for _, m := range ms {
		if !isObject(m.Value) {
			// Kazoo's documents carry scalar keys beside the sections (id, pvt_type, …):
			// only the default section has to be an object.
			if m.Key == DefaultSection {
				problems = append(problems, "section default must be an object")
			}
			continue
		}
		if strings.HasPrefix(m.Key, "_") || strings.HasPrefix(m.Key, "pvt_") {
			continue // CouchDB's and Kazoo's own keys, not sections
		}
		err := check(ctx, New(one, m.Key, "").WithoutWriteBack())
		var ke *knm.Error
		if errors.As(err, &ke) {
			problems = append(problems, "section "+m.Key+": "+ke.Message)
		} else if err != nil {
			problems = append(problems, "section "+m.Key+": "+err.Error())
		}
	}
	if len(problems) > 0 {
		return knm.Errorf(knm.ErrInvalid, "%s", strings.Join(problems, "; "))
	}
	return nil
}

// HasRedactedSecret reports whether body holds what Redact writes in place of a secret:
// a secret key (IsSecretKey) whose value is exactly "***", or a URL whose credentials
// read ***:***@ (any key).
func HasRedactedSecret(body json.RawMessage) bool {
	if strings.Contains(string(body), "://***:***@") {
		return true
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return false
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				if s, ok := x.(string); ok && s == "***" && IsSecretKey(k) {
					return true
				}
				if walk(x) {
					return true
				}
			}
		case []any:
			for _, x := range t {
				if walk(x) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}

// oneDoc is a read-only knm.ConfigStore holding one document, to run the normal lookups
// over a document that is not stored yet.
type oneDoc struct{ doc *knm.ConfigDoc }

func (o oneDoc) GetConfig(_ context.Context, scope, id string) (*knm.ConfigDoc, error) {
	if scope == o.doc.Scope && id == o.doc.ID {
		return o.doc, nil
	}
	return nil, knm.Errorf(knm.ErrNotFound, "no config %s", id)
}

func (o oneDoc) PutConfig(context.Context, *knm.ConfigDoc) error {
	return knm.Errorf(knm.ErrInternal, "config: validation never writes")
}

func (o oneDoc) ImportConfigs(context.Context, []*knm.ConfigDoc) error {
	return knm.Errorf(knm.ErrInternal, "config: validation never writes")
}

func (o oneDoc) ListConfigs(context.Context, string) ([]*knm.ConfigDoc, error) {
	return []*knm.ConfigDoc{o.doc}, nil
}

// KnownKeys returns the top-level keys of category that knm reads, as its Validator reads
// them (so the list cannot drift from the code), and false when the category has no
// Validator. Writers warn about other keys rather than refuse them: Kazoo's documents keep
// keys knm does not use.
func KnownKeys(ctx context.Context, category string) ([]string, bool) {
	check := validatorOf(category)
	if check == nil {
		return nil, false
	}
	seen := map[string]bool{}
	empty := oneDoc{doc: &knm.ConfigDoc{ID: category, Body: json.RawMessage(`{"default":{}}`)}}
	c := New(empty, DefaultSection, "").WithoutWriteBack()
	c.looked = func(cat string, path []string) {
		if cat == category && len(path) > 0 {
			seen[path[0]] = true
		}
	}
	_ = check(ctx, c) // defaults only: what matters is which keys it asked for
	return slices.Sorted(maps.Keys(seen)), true
}
