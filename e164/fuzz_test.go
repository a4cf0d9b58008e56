package e164

import (
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"", "+", "4158867900", "14158867900", "+14158867900", "011441234567890", "0044123",
	"911", "41234567", "\n", "+\x00", "٤١٥٨٨٦٧٩٠٠", "\xff\xfe", strings.Repeat("9", 200),
}

// FuzzNormalize checks that no input panics and that Kazoo's invariants hold: "+" input
// passes through, and normalising a normalised number changes nothing for the defaults.
func FuzzNormalize(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	n := Default()
	f.Fuzz(func(t *testing.T, s string) {
		got := n.Normalize(s)
		if strings.HasPrefix(s, "+") && got != s {
			t.Fatalf("Normalize(%q) = %q, want it unchanged", s, got)
		}
		if again := n.Normalize(got); strings.HasPrefix(got, "+") && again != got {
			t.Fatalf("Normalize not idempotent on %q: %q -> %q", s, got, again)
		}
		_ = n.IsReconcilable(s)
	})
}

// FuzzClassify checks that no input panics and that the default catch-all always answers.
func FuzzClassify(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	n := Default()
	f.Fuzz(func(t *testing.T, s string) {
		name, c := n.Classify(s)
		if !strings.Contains(n.Normalize(s), "\n") && (name == "" || c == nil) {
			t.Fatalf("Classify(%q) found no class; unknown should catch everything", s)
		}
	})
}

// FuzzCompile checks that the PCRE translation never panics on any pattern.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{`^\+?1?(\d{10})$`, `(?<n>a)`, `[]`, `[[:`, `\`, `(?`, `{1,`, `\Q`, `(?'`, `a{2}+`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		_, _ = Compile(p)
	})
}
