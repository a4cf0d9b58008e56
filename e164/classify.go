package e164

import (
	"encoding/json"
	"strings"

	"github.com/knmproject/knm"
)

// Classifier is one entry of number_manager.classifiers.
type Classifier struct {
	Name         string          // the key, e.g. "tollfree_us"; what Classify returns
	Regex        string          // as configured (PCRE spelling)
	FriendlyName string          // defaults to Name
	PrettyPrint  string          // e.g. "SS(###) ### - ####"; "" when not set
	Emergency    bool            // true for emergency dispatcher numbers
	Fields       json.RawMessage // the whole configured object, key order kept
	re           regexpMatcher
}

// regexpMatcher is the one method of *regexp.Regexp a classifier needs.
type regexpMatcher interface{ MatchString(string) bool }

// usPrettyPrint is Kazoo's pretty_print of the North American classes.
const usPrettyPrint = "SS(###) ### - ####"

// defaultClassifiersJSON is Kazoo 4.3's code default of number_manager.classifiers, in
// Kazoo's order; the first regex that matches wins, and "unknown" catches everything.
const defaultClassifiersJSON = `{` +
	`"tollfree_us":{"regex":"^\\+1((?:800|88\\d|877|866|855|844|833|822)\\d{7})$","friendly_name":"US TollFree",` +
	`"pretty_print":"` + usPrettyPrint + `"},` +
	`"toll_us":{"regex":"^\\+1(900\\d{7})$","friendly_name":"US Toll","pretty_print":"` + usPrettyPrint + `"},` +
	`"emergency":{"regex":"^(911|922|933|988|833|811|711|999)$","emergency":true,` +
	`"friendly_name":"Emergency Dispatcher"},` +
	`"caribbean":{"regex":"^\\+?1((?:684|264|268|242|246|441|284|345|767|809|829|849|473|671|876|664|670|787|` +
	`939|869|758|784|721|868|649|340)\\d{7})$","friendly_name":"Caribbean","pretty_print":"` + usPrettyPrint + `"},` +
	`"did_us":{"regex":"^(\\+?1)?([2-9][0-9]{2}[2-9][0-9]{6})$","friendly_name":"US DID",` +
	`"pretty_print":"` + usPrettyPrint + `"},` +
	`"international":{"regex":"^\\+([2-9]\\d{7,})$","friendly_name":"International"},` +
	`"unknown":{"regex":"^(.*)$","friendly_name":"Unknown"}}`

// DefaultClassifiersJSON returns Kazoo's default classifiers as a JSON object, in order.
func DefaultClassifiersJSON() json.RawMessage { return json.RawMessage(defaultClassifiersJSON) }

// ParseClassifiers reads a classifiers object, keeping key order, as Kazoo's
// available_classifiers does: a bare regex string becomes {"regex": …, "friendly_name":
// name}; a missing friendly_name defaults to the name; a missing regex is "^$" (matches
// only the empty string, so the classifier is inert). emergency accepts true or "true".
func ParseClassifiers(raw json.RawMessage) ([]Classifier, error) {
	members, err := objectMembers(raw)
	if err != nil {
		return nil, knm.Errorf(knm.ErrInvalid, "e164: classifiers is not a JSON object").Wrap(err)
	}
	out := make([]Classifier, 0, len(members))
	for _, m := range members {
		c, err := parseClassifier(m)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func parseClassifier(m member) (Classifier, error) {
	c := Classifier{Name: m.Key, FriendlyName: m.Key, Regex: "^$", Fields: m.Value}
	invalid := func(format string, args ...any) *knm.Error {
		return knm.Errorf(knm.ErrInvalid, "e164: classifier %q: "+format, append([]any{m.Key}, args...)...)
	}
	if s, ok := scalarString(m.Value); ok {
		c.Regex = s
		c.Fields, _ = json.Marshal(map[string]string{"regex": s, "friendly_name": m.Key})
	} else {
		fields, err := objectMembers(m.Value)
		if err != nil {
			return c, invalid("want a regex string or an object").Wrap(err)
		}
		for _, f := range fields {
			switch f.Key {
			case "regex", "friendly_name", "pretty_print":
				s, ok := scalarString(f.Value)
				if !ok {
					if isNull(f.Value) {
						continue
					}
					return c, invalid("%s must be a string", f.Key)
				}
				switch f.Key {
				case "regex":
					c.Regex = s
				case "friendly_name":
					c.FriendlyName = s
				default:
					c.PrettyPrint = s
				}
			case "emergency":
				var b bool
				var s string
				switch {
				case json.Unmarshal(f.Value, &b) == nil:
					c.Emergency = b
				case json.Unmarshal(f.Value, &s) == nil:
					c.Emergency = strings.EqualFold(s, "true")
				case isNull(f.Value):
				default:
					return c, invalid("emergency must be a boolean")
				}
			}
		}
	}
	re, err := Compile(c.Regex)
	if err != nil {
		return c, err
	}
	c.re = re
	return c, nil
}

// Classify normalises number and returns the name and entry of the first classifier, in
// configured order, whose regex matches it; ("", nil) when none does (Kazoo's undefined).
// With Kazoo's defaults the catch-all "unknown" means a non-empty name is always found.
func (n *Normalizer) Classify(number string) (name string, c *Classifier) {
	num := n.Normalize(number)
	for i := range n.classifiers {
		if n.classifiers[i].re.MatchString(num) {
			cl := n.classifiers[i]
			return cl.Name, &cl
		}
	}
	return "", nil
}
