package e164

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/knmproject/knm"
)

func TestNormalizeDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"4158867900", "+14158867900"},   // NANP, 10 digits
		{"14158867900", "+14158867900"},  // NANP, 11 digits
		{"+14158867900", "+14158867900"}, // already E.164
		{"+1 415 886-7900", "+1 415 886-7900"},
		{"+abc", "+abc"},                     // "+" input is never validated (Kazoo)
		{"011441234567890", "+441234567890"}, // international access code 011
		{"00441234567890", "+441234567890"},  // international access code 00
		{"0114412", "0114412"},               // too short for the 011 converter
		{"41234567", "+41234567"},            // 8+ digits not starting 0/1: the doc's warning
		{"911", "911"},                       // short numbers stay as they are
		{"1800", "1800"},
		{"0123", "0123"},
		{"1415886790", "1415886790"}, // 10 digits starting with 1: no converter matches
		{"", ""},
		{"not a number", "not a number"},
	}
	n := Default()
	for _, tt := range tests {
		if got := n.Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeKeyOrderAndSuffix(t *testing.T) {
	t.Parallel()
	a := `{"^9(\\d+)$":{"prefix":"+B"},"^(\\d+)$":{"prefix":"+A","suffix":"#"}}`
	b := `{"^(\\d+)$":{"prefix":"+A","suffix":"#"},"^9(\\d+)$":{"prefix":"+B"}}`
	for _, tt := range []struct{ conv, want string }{{a, "+B123"}, {b, "+A9123#"}} {
		n, err := New(Config{Converters: json.RawMessage(tt.conv)})
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Normalize("9123"); got != tt.want {
			t.Errorf("converters %s: Normalize(9123) = %q, want %q", tt.conv, got, tt.want)
		}
	}
	n, err := New(Config{Converters: json.RawMessage(b)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range n.Converters() {
		got = append(got, c.Regex)
	}
	if strings.Join(got, " ") != `^(\d+)$ ^9(\d+)$` {
		t.Errorf("converter order = %q", got)
	}
}

func TestNormalizeCaptureChoice(t *testing.T) {
	t.Parallel()
	tests := []struct{ conv, in, want string }{
		{`{"^44\\d+$":{"prefix":"+"}}`, "4412", "+4412"},         // no group: whole match
		{`{"^(0)(\\d+)$":{"prefix":"+33"}}`, "0123", "+33123"},   // last group
		{`{"^a(\\d+)$|^b(\\d+)$":{"prefix":"+"}}`, "a12", "+12"}, // later group did not take part
		{`{"^x(\\d*)$":{"prefix":"+","suffix":1}}`, "x", "+1"},   // empty capture, numeric suffix
		{`{"^(\\d+)$":null}`, "12", "12"},                        // no prefix at all
		{`{"(\\d{3})":{"prefix":"+"}}`, "ab123cd", "+123"},       // unanchored: only the capture
	}
	for _, tt := range tests {
		n, err := New(Config{Converters: json.RawMessage(tt.conv)})
		if err != nil {
			t.Fatalf("%s: %v", tt.conv, err)
		}
		if got := n.Normalize(tt.in); got != tt.want {
			t.Errorf("%s: Normalize(%q) = %q, want %q", tt.conv, tt.in, got, tt.want)
		}
	}
}

func TestNewInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"converters not object", Config{Converters: json.RawMessage(`["x"]`)}, "e164_converters is not a JSON object"},
		{"converter entry not object", Config{Converters: json.RawMessage(`{"^1$":"x"}`)},
			`entry "^1$" is not a JSON object`},
		{"prefix not string", Config{Converters: json.RawMessage(`{"^1$":{"prefix":[1]}}`)}, "prefix must be a string"},
		{"bad regex", Config{Converters: json.RawMessage(`{"^(1$":{}}`)}, `regex "^(1$" does not compile`},
		{"lookahead", Config{Converters: json.RawMessage(`{"^(?=1)1$":{}}`)}, "lookahead"},
		{"reconcile not string", Config{ReconcileRegex: json.RawMessage(`5`)}, "reconcile_regex must be a JSON string"},
		{"reconcile backref", Config{ReconcileRegex: json.RawMessage(`"(1)\\1"`)}, "back-reference"},
		{"classifiers not object", Config{Classifiers: json.RawMessage(`"x"`)}, "classifiers is not a JSON object"},
		{"classifier bad shape", Config{Classifiers: json.RawMessage(`{"x":[1]}`)}, `classifier "x"`},
		{"classifier emergency", Config{Classifiers: json.RawMessage(`{"x":{"emergency":[1]}}`)},
			"emergency must be a boolean"},
		{"trailing data", Config{Classifiers: json.RawMessage(`{} {}`)}, "trailing data"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.want)
		}
		if !knm.IsErrorName(err, knm.ErrInvalid) {
			t.Errorf("%s: err = %v, want knm.ErrInvalid", tt.name, err)
		}
	}
}

func TestCompileTranslation(t *testing.T) {
	t.Parallel()
	ok := []struct{ pcre, want string }{
		{`^\+?1?(\d{10})$`, `^\+?1?(\d{10})$`},
		{`^(\d+)\Z`, `^(\d+)\z`},
		{`^(?<cc>\d{2})(?'rest'\d+)$`, `^(?P<cc>\d{2})(?P<rest>\d+)$`},
		{`^(?#country)44\d+$`, `^44\d+$`},
		{`^\h*\d+$`, `^[\t\x20\x{A0}]*\d+$`},
		{`^[\h\d]+$`, `^[\t\x20\x{A0}\d]+$`},
		{`^\e$`, `^\x1B$`},
		{`^[]a]$`, `^[]a]$`},
		{`^[[:digit:]]+$`, `^[[:digit:]]+$`},
		{`^\Q(?=\E$`, `^\Q(?=\E$`},
		{`(?i)^abc$`, `(?i)^abc$`},
		{`^a{2,}b{3}c{1,2}$`, `^a{2,}b{3}c{1,2}$`},
		{`^a{x}$`, `^a{x}$`},
	}
	for _, tt := range ok {
		got, err := translate(tt.pcre)
		if err != nil || got != tt.want {
			t.Errorf("translate(%q) = %q, %v; want %q", tt.pcre, got, err, tt.want)
		}
		if _, err := Compile(tt.pcre); err != nil {
			t.Errorf("Compile(%q): %v", tt.pcre, err)
		}
	}
	refused := []struct{ pcre, want string }{
		{`^(?=1)`, "lookahead"}, {`^(?!1)`, "lookahead"}, {`(?<=1)2`, "lookbehind"},
		{`(?<!1)2`, "lookbehind"}, {`(?>12)`, "atomic group"}, {`\d++`, "possessive"},
		{`a{2}+`, "possessive"}, {`a?+`, "possessive"}, {`(1)\1`, "back-reference"},
		{`(?|a)`, "branch-reset"}, {`(?(1)a|b)`, "conditional"}, {`(?R)`, "recursion"},
		{`(a)(?1)`, "recursion"}, {`(?x) a`, "(?x) option"}, {`\K`, `\K`}, {`\g1`, `\g`},
		{`(?# open`, "unterminated"}, {`(?<name`, "unterminated"},
	}
	for _, tt := range refused {
		_, err := Compile(tt.pcre)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !knm.IsErrorName(err, knm.ErrInvalid) {
			t.Errorf("Compile(%q) err = %v, want knm.ErrInvalid mentioning %q", tt.pcre, err, tt.want)
		}
	}
}

func TestIsReconcilable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"4158867900", true}, {"14158867900", true}, {"+14158867900", true},
		{"+441234567890", true}, {"011441234567890", true}, {"41234567", true},
		{"911", false}, {"+1234", false}, {"", false}, {"+0123456789", false}, {"abc", false},
	}
	n := Default()
	for _, tt := range tests {
		if got := n.IsReconcilable(tt.in); got != tt.want {
			t.Errorf("IsReconcilable(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if n.ReconcileRegex() != DefaultReconcileRegex {
		t.Errorf("ReconcileRegex() = %q", n.ReconcileRegex())
	}
	strict, err := New(Config{ReconcileRegex: json.RawMessage(`"^\\+1\\d{10}$"`)})
	if err != nil {
		t.Fatal(err)
	}
	if strict.IsReconcilable("+441234567890") || !strict.IsReconcilable("4158867900") {
		t.Error("configured reconcile_regex not used")
	}
}

func TestNPAN(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][2]string{
		"+14158867900": {"4158867900", "14158867900"},
		"4158867900":   {"4158867900", "14158867900"},
		"+441234567":   {"+441234567", "+441234567"},
	} {
		if got := ToNPAN(in); got != want[0] {
			t.Errorf("ToNPAN(%q) = %q, want %q", in, got, want[0])
		}
		if got := To1NPAN(in); got != want[1] {
			t.Errorf("To1NPAN(%q) = %q, want %q", in, got, want[1])
		}
	}
}
