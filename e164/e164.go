// Package e164 normalises and classifies telephone numbers the way Kazoo's number manager
// does (kazoo-knm §3.8–3.9), and answers country questions (calling codes, ISO alpha-2 and
// alpha-3 codes, validity) from libphonenumber's data.
//
// Normalisation, reconciliation and classification are driven by three number_manager
// settings (e164_converters, reconcile_regex, classifiers) whose JSON key order matters:
// converters and classifiers are tried in the order they are written. A Normalizer is
// built once from those settings and is safe for concurrent use.
package e164

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/knmproject/knm"
)

// Converter is one entry of number_manager.e164_converters: a regex and the text put
// before and after the part of the number it captured.
type Converter struct {
	Regex  string
	Prefix string
	Suffix string
	re     *regexp.Regexp
}

// DefaultReconcileRegex is Kazoo's code default of number_manager.reconcile_regex: the
// numbers knm may store at all.
const DefaultReconcileRegex = `^(\+?1)?\d{10}$|^\+[2-9]\d{7,}$|^011\d*$|^00\d*$`

// defaultConvertersJSON is Kazoo's code default of number_manager.e164_converters, in
// Kazoo's order: NANP numbers of 10 or 11 digits, international access codes 011 and 00,
// then any other number of 8 or more digits not starting with 0 or 1.
const defaultConvertersJSON = `{` +
	`"^(\\+?1)?([2-9][0-9]{2}[2-9][0-9]{6})$":{"prefix":"+1"},` +
	`"^011(\\d{5,})$|^00(\\d{5,})$":{"prefix":"+"},` +
	`"^[2-9]\\d{7,}$":{"prefix":"+"}}`

// DefaultConvertersJSON returns Kazoo's default e164_converters as a JSON object, in order;
// config writes it back into system_config as Kazoo does.
func DefaultConvertersJSON() json.RawMessage { return json.RawMessage(defaultConvertersJSON) }

// ParseConverters reads an e164_converters object ({regex: {"prefix": …, "suffix": …}}),
// keeping key order and compiling every regex. prefix and suffix may be strings or numbers
// and default to "".
func ParseConverters(raw json.RawMessage) ([]Converter, error) {
	members, err := objectMembers(raw)
	if err != nil {
		return nil, knm.Errorf(knm.ErrInvalid, "e164: e164_converters is not a JSON object").Wrap(err)
	}
	out := make([]Converter, 0, len(members))
	for _, m := range members {
		c := Converter{Regex: m.Key}
		if !isNull(m.Value) {
			fields, err := objectMembers(m.Value)
			if err != nil {
				return nil, knm.Errorf(knm.ErrInvalid, "e164: e164_converters entry %q is not a JSON object", m.Key).Wrap(err)
			}
			for _, f := range fields {
				var dst *string
				switch f.Key {
				case "prefix":
					dst = &c.Prefix
				case "suffix":
					dst = &c.Suffix
				default:
					continue
				}
				s, ok := scalarString(f.Value)
				if !ok && !isNull(f.Value) {
					return nil, knm.Errorf(knm.ErrInvalid, "e164: e164_converters entry %q: %s must be a string", m.Key, f.Key)
				}
				*dst = s
			}
		}
		if c.re, err = Compile(c.Regex); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Config holds the three number_manager settings a Normalizer is built from, as raw JSON
// exactly as stored. A nil or JSON-null field means Kazoo's code default.
type Config struct {
	Converters     json.RawMessage // e164_converters, a JSON object
	ReconcileRegex json.RawMessage // reconcile_regex, a JSON string
	Classifiers    json.RawMessage // classifiers, a JSON object
}

// Normalizer turns dialled strings into E.164 numbers and classifies them.
type Normalizer struct {
	converters  []Converter
	reconcile   *regexp.Regexp
	reconcileRE string // as configured, before translation to RE2
	classifiers []Classifier
}

// New builds a Normalizer from configuration. It fails with knm.ErrInvalid, naming the
// setting, when a value has the wrong shape or a regex does not compile (see Compile).
func New(cfg Config) (*Normalizer, error) {
	n := &Normalizer{}
	var err error
	convs := cfg.Converters
	if isNull(convs) {
		convs = DefaultConvertersJSON()
	}
	if n.converters, err = ParseConverters(convs); err != nil {
		return nil, err
	}
	reconcile := DefaultReconcileRegex
	if !isNull(cfg.ReconcileRegex) {
		if err := json.Unmarshal(cfg.ReconcileRegex, &reconcile); err != nil {
			return nil, knm.Errorf(knm.ErrInvalid, "e164: reconcile_regex must be a JSON string").Wrap(err)
		}
	}
	if n.reconcile, err = Compile(reconcile); err != nil {
		return nil, err
	}
	n.reconcileRE = reconcile
	cls := cfg.Classifiers
	if isNull(cls) {
		cls = DefaultClassifiersJSON()
	}
	if n.classifiers, err = ParseClassifiers(cls); err != nil {
		return nil, err
	}
	return n, nil
}

var defaultNormalizer = func() *Normalizer {
	n, err := New(Config{})
	if err != nil {
		panic("e164: code defaults do not compile: " + err.Error())
	}
	return n
}()

// Default returns the Normalizer built from Kazoo's code defaults.
func Default() *Normalizer { return defaultNormalizer }

// Converters returns the converters in the order they are tried.
func (n *Normalizer) Converters() []Converter { return append([]Converter(nil), n.converters...) }

// Classifiers returns the classifiers in the order they are tried.
func (n *Normalizer) Classifiers() []Classifier { return append([]Classifier(nil), n.classifiers...) }

// Normalize returns s in E.164 form, as Kazoo's regex converter does:
//   - input starting with "+" is returned unchanged, not validated and not stripped of
//     spaces or dashes (Kazoo's knm_converter_regex does exactly this);
//   - otherwise the converters are tried in order and the first that matches gives
//     prefix + captured part + suffix, where the captured part is the last capture group
//     that took part in the match (the whole match when the regex has no group), which
//     is what Erlang's lists:last over re:run's captures yields;
//   - when no converter matches, s is returned unchanged (Kazoo's behaviour), so callers
//     must check IsReconcilable before storing it.
func (n *Normalizer) Normalize(s string) string {
	if s == "" || strings.HasPrefix(s, "+") {
		return s
	}
	for _, c := range n.converters {
		loc := c.re.FindStringSubmatchIndex(s)
		if loc == nil {
			continue
		}
		root := s[loc[0]:loc[1]]
		for g := len(loc)/2 - 1; g >= 1; g-- {
			if loc[2*g] >= 0 {
				root = s[loc[2*g]:loc[2*g+1]]
				break
			}
		}
		return c.Prefix + root + c.Suffix
	}
	return s
}

// IsReconcilable reports whether the number, once normalised, matches reconcile_regex,
// i.e. whether knm may store it at all (Kazoo's knm_converters:is_reconcilable).
func (n *Normalizer) IsReconcilable(number string) bool {
	return number != "" && n.reconcile.MatchString(n.Normalize(number))
}

// ReconcileRegex returns the regex IsReconcilable uses, as configured (PCRE spelling).
func (n *Normalizer) ReconcileRegex() string { return n.reconcileRE }

// ToNPAN returns the 10-digit North American number (NPA-NXX-XXXX) inside number, or the
// number unchanged when it is not a NANP number (Kazoo's to_npan).
func ToNPAN(number string) string {
	if m := npanRegex.FindStringSubmatch(number); m != nil {
		return m[2]
	}
	return number
}

// To1NPAN returns "1" followed by the NPAN of number, or the number unchanged (to_1npan).
func To1NPAN(number string) string {
	if m := npanRegex.FindStringSubmatch(number); m != nil {
		return "1" + m[2]
	}
	return number
}

var npanRegex = mustCompile(`^(\+?1)?([2-9][0-9]{2}[2-9][0-9]{6})$`)
