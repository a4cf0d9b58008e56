package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// query holds decoded query parameters. It is parsed leniently: a pair whose escapes are
// malformed (an unescaped "%" in e164Pattern) keeps its raw text instead of failing.
type query map[string][]string

func parseQuery(raw string) query {
	q := query{}
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		q[unescape(k)] = append(q[unescape(k)], unescape(v))
	}
	return q
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return strings.ReplaceAll(s, "+", " ")
}

// str returns the first value of a parameter, trimmed of surrounding spaces; "" if absent.
func (q query) str(name string) string {
	if v := q[name]; len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

// has reports whether a parameter is present with a non-empty value.
func (q query) has(name string) bool { return q.str(name) != "" }

// integer parses an optional integer parameter; ok is false when absent.
func (q query) integer(name string) (n int, ok bool, err error) {
	s := q.str(name)
	if s == "" {
		return 0, false, nil
	}
	n, err = strconv.Atoi(s)
	if err != nil {
		return 0, false, invalid(17, "ILLEGAL_NUMBER_VALUE: parameter '", name, "' must be a number.")
	}
	return n, true, nil
}

// ints collects a multi-valued id filter, repeated (didIds=1&didIds=2) or comma-joined
// (didIds=1,2); voxbone-api.md §2.2 says both forms occur.
func (q query) ints(name string) ([]int, error) {
	var out []int
	for _, v := range q[name] {
		for part := range strings.SplitSeq(strings.Trim(v, "[] "), ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			n, err := strconv.Atoi(part)
			if err != nil {
				return nil, invalid(17, "ILLEGAL_NUMBER_VALUE: parameter '", name, "' must be a list of numbers.")
			}
			out = append(out, n)
		}
	}
	return out, nil
}

// boolean parses an optional true/false parameter.
func (q query) boolean(name string, def bool) (bool, error) {
	switch strings.ToLower(q.str(name)) {
	case "":
		return def, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, invalid(18, "ILLEGAL_BOOLEAN_VALUE: parameter '", name, "' must be true or false.")
}

// date parses an optional "YYYY-MM-DD HH:MM:SS" parameter (code 10 otherwise).
func (q query) date(name string) (time.Time, bool, error) {
	s := q.str(name)
	if s == "" {
		return time.Time{}, false, nil
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, false, invalid(10)
	}
	return t, true, nil
}

// page validates the required pageNumber (0-based) and pageSize parameters.
func (q query) page() (number, size int, err error) {
	if !q.has("pageNumber") || !q.has("pageSize") {
		return 0, 0, invalid(16, "FIELD_REQUIRED: pageNumber and pageSize are required.")
	}
	number, _, err = q.integer("pageNumber")
	if err != nil {
		return 0, 0, err
	}
	if number < 0 {
		return 0, 0, invalid(11)
	}
	size, _, err = q.integer("pageSize")
	if err != nil {
		return 0, 0, err
	}
	if size < 1 || size > 5000 {
		return 0, 0, invalid(12)
	}
	return number, size, nil
}

// paginate cuts one page out of items: page 0 of nothing is an empty page, a page past the
// end is error 13.
func paginate[T any](items []T, number, size int) ([]T, error) {
	start := number * size
	if number > 0 && start >= len(items) {
		return nil, invalid(13)
	}
	end := min(start+size, len(items))
	out := make([]T, 0, max(end-start, 0))
	if start < end {
		out = append(out, items[start:end]...)
	}
	return out, nil
}

// dateLayout is Voxbone's date format in bodies and filters.
const dateLayout = "2006-01-02 15:04:05"

func formatDate(t time.Time) string { return t.UTC().Format(dateLayout) }

// flexInt decodes a JSON number or a string of digits: DVP sends {"didGroupId":"8826"} and
// the real API accepted it (voxbone-api.md §1.5).
type flexInt int

var errNotNumber = errors.New("not a number")

func (n *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(strings.TrimSpace(s))
	}
	v, err := strconv.Atoi(string(b))
	if err != nil {
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil || f != float64(int(f)) {
			return errNotNumber
		}
		v = int(f)
	}
	*n = flexInt(v)
	return nil
}

// flexBool decodes true/false or "true"/"false"; DID configuration mixes both.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch strings.Trim(strings.ToLower(string(bytes.TrimSpace(data))), `"`) {
	case "true":
		*b = true
	case "false", "null":
		*b = false
	default:
		return errNotNumber
	}
	return nil
}

// decodeBody decodes a JSON request body: an empty body is error 26, malformed JSON error 20
// and a non-numeric id error 17. Unknown keys are ignored, as Voxbone ignores LIB's
// misspelt credeitPackageCartItem.
func decodeBody(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return invalid(26)
	}
	if err := json.Unmarshal(body, v); err != nil {
		if errors.Is(err, errNotNumber) {
			return invalid(17)
		}
		return invalid(20)
	}
	return nil
}
