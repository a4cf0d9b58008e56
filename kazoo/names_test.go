package kazoo

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestDatabaseNames: Kazoo's number database is "numbers/" and the first five bytes of the
// E.164 number; an account's database splits its id 2/2/28 (kzs_util:format_account_db).
func TestDatabaseNames(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"+14158867900": "numbers/+1415", "+12565550100": "numbers/+1256", "+442071234567": "numbers/+4420", "+1": "",
	} {
		if got := NumberDB(in); got != want {
			t.Errorf("NumberDB(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"3c4d5e6f708192a3b4c5d6e7f8019203": "account/3c/4d/5e6f708192a3b4c5d6e7f8019203",
		"3C4D5E6F708192A3B4C5D6E7F8019203": "account/3c/4d/5e6f708192a3b4c5d6e7f8019203",
		"account0000000000000000000000002": "", "": "", "system": "",
	} {
		if got := AccountDB(in); got != want {
			t.Errorf("AccountDB(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDiffDocs compares documents by JSON meaning, _rev aside.
func TestDiffDocs(t *testing.T) {
	t.Parallel()
	doc := func(s string) Doc {
		var d Doc
		if err := json.Unmarshal([]byte(s), &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, c := range []struct {
		a, b string
		want []string
	}{
		{`{"_id":"+1","a":{"x":1,"y":[1,2]},"n":63565934344}`,
			`{"_rev":"2-x","n":63565934344.0,"a":{"y":[1,2],"x":1},"_id":"+1"}`, nil},
		{`{"a":1,"b":"x"}`, `{"a":2,"c":null}`, []string{"a", "b", "c"}},
		{`{"a":[1,2]}`, `{"a":[2,1]}`, []string{"a"}},
		{`{"a":{"x":1}}`, `{"a":{"x":1,"y":2}}`, []string{"a"}},
	} {
		if got := diffDocs(doc(c.a), doc(c.b)); !slices.Equal(got, c.want) {
			t.Errorf("diffDocs(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
