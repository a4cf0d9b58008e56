package e164

import (
	"regexp"
	"strings"

	"github.com/knmproject/knm"
)

// Compile compiles a regular expression written for Kazoo, which runs Erlang's re module
// (PCRE), with Go's RE2 engine.
//
// The two dialects agree on everything Kazoo's defaults and typical operator regexes use
// (anchors, classes, \d, alternation, counted repetition, non-capturing groups). Where they
// differ, Compile translates:
//   - \Z becomes \z, (?'name'…) and (?<name>…) become (?P<name>…), \e becomes \x1B,
//     \h and \H become explicit classes of tab, space and no-break space, and (?#…)
//     comments are dropped.
//
// Constructs RE2 cannot express are refused with a knm.ErrInvalid error that names the
// regex and the construct: lookahead and lookbehind, atomic groups, possessive quantifiers,
// back-references (\1, \g, \k), recursion and subroutine calls, conditionals, branch
// reset, \K, \G, \R, \X, \C and the x, X and J option letters.
//
// Two differences remain and are deliberate: in PCRE, $ (without the m flag) also matches
// before a final newline, and in Go it matches only at the very end, so "4155551234\n" is
// not a number to knm; and Erlang matches bytes while Go matches UTF-8 characters, which
// only matters for non-ASCII input, never for a phone number.
func Compile(pattern string) (*regexp.Regexp, error) {
	translated, err := translate(pattern)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(translated)
	if err != nil {
		return nil, knm.Errorf(knm.ErrInvalid, "e164: regex %q does not compile", pattern).Wrap(err)
	}
	return re, nil
}

// mustCompile compiles one of knm's own code defaults; a failure is a programming error.
func mustCompile(pattern string) *regexp.Regexp {
	re, err := Compile(pattern)
	if err != nil {
		panic(err)
	}
	return re
}

const horizontalSpace = `\t\x20\x{A0}`

// translate rewrites a PCRE pattern into RE2 syntax, or says which construct RE2 lacks.
func translate(p string) (string, error) {
	t := &translator{p: p}
	for i := 0; i < len(p); i++ {
		var err error
		switch {
		case p[i] == '\\':
			i, err = t.escape(i)
		case t.inClass:
			i = t.class(i)
		default:
			i, err = t.outside(i)
		}
		if err != nil {
			return "", err
		}
	}
	return t.b.String(), nil
}

// translator holds the state of translate: the pattern, the output so far and whether
// the byte being read is inside a character class.
type translator struct {
	p       string
	b       strings.Builder
	inClass bool
}

func (t *translator) unsupported(what string) error {
	return knm.Errorf(knm.ErrInvalid, "e164: regex %q uses %s, which Go's RE2 engine does not support", t.p, what)
}

// escape translates the escape at p[i] == '\\' and returns the index of its last byte.
func (t *translator) escape(i int) (int, error) {
	p, b := t.p, &t.b
	if i+1 >= len(p) {
		b.WriteByte('\\') // a trailing backslash: let regexp report it
		return i, nil
	}
	e := p[i+1]
	switch {
	case e == 'Q':
		// Quoted text runs to \E (or the end) and is copied untouched, because RE2
		// supports \Q…\E and nothing inside may be interpreted.
		end := strings.Index(p[i+2:], `\E`)
		if end < 0 {
			b.WriteString(p[i:])
			return len(p), nil
		}
		b.WriteString(p[i : i+2+end+2])
		return i + 1 + end + 2, nil
	case e == 'e':
		b.WriteString(`\x1B`)
	case e == 'h' && t.inClass:
		b.WriteString(horizontalSpace)
	case e == 'h':
		b.WriteString(`[` + horizontalSpace + `]`)
	case e == 'H' && !t.inClass:
		b.WriteString(`[^` + horizontalSpace + `]`)
	case e == 'Z' && !t.inClass:
		b.WriteString(`\z`)
	case !t.inClass && e >= '1' && e <= '9':
		return i, t.unsupported(`a back-reference (\` + string(e) + `)`)
	case !t.inClass && strings.IndexByte("gkKGRXCH", e) >= 0:
		return i, t.unsupported(`\` + string(e))
	default:
		b.WriteByte('\\')
		b.WriteByte(e)
	}
	return i + 1, nil
}

// class copies the byte at p[i] inside a character class and returns the index of the
// last byte it consumed.
func (t *translator) class(i int) int {
	p, c := t.p, t.p[i]
	if c == '[' && i+1 < len(p) && p[i+1] == ':' {
		// A POSIX class such as [:digit:] is copied whole so that its brackets do not
		// end the enclosing class.
		if end := strings.Index(p[i:], ":]"); end > 0 {
			t.b.WriteString(p[i : i+end+2])
			return i + end + 1
		}
	}
	if c == ']' {
		t.inClass = false
	}
	t.b.WriteByte(c)
	return i
}

// outside translates the byte at p[i] outside any class and returns the index of the last
// byte it consumed.
func (t *translator) outside(i int) (int, error) {
	p, b, c := t.p, &t.b, t.p[i]
	switch c {
	case '[':
		t.inClass = true
		b.WriteByte(c)
		// A ']' first in the class (after an optional '^') is a literal in both dialects;
		// copy it now so it does not close the class.
		if i+1 < len(p) && p[i+1] == '^' {
			b.WriteByte('^')
			i++
		}
		if i+1 < len(p) && p[i+1] == ']' {
			b.WriteByte(']')
			i++
		}
	case '(':
		n, err := translateGroup(p, i, b, t.unsupported)
		return i + n - 1, err
	case '*', '+', '?':
		b.WriteByte(c)
		if i+1 < len(p) && p[i+1] == '+' {
			return i, t.unsupported("a possessive quantifier (" + p[i:i+2] + ")")
		}
	case '{':
		q := countedRepetition.FindString(p[i:])
		if q == "" {
			b.WriteByte(c)
			return i, nil
		}
		b.WriteString(q)
		i += len(q) - 1
		if i+1 < len(p) && p[i+1] == '+' {
			return i, t.unsupported("a possessive quantifier (" + q + "+)")
		}
	default:
		b.WriteByte(c)
	}
	return i, nil
}

// countedRepetition matches a {n}, {n,} or {n,m} quantifier at the start of a string.
var countedRepetition = regexp.MustCompile(`^\{\d+(?:,\d*)?\}`)

// translateGroup translates the opening of a group at p[start] == '(' into b and returns
// how many bytes of p it consumed.
func translateGroup(p string, start int, b *strings.Builder, unsupported func(string) error) (int, error) {
	rest := p[start:]
	if !strings.HasPrefix(rest, "(?") {
		b.WriteByte('(')
		return 1, nil
	}
	body := rest[2:]
	switch {
	case strings.HasPrefix(body, "#"):
		end := strings.IndexByte(body, ')')
		if end < 0 {
			return 0, unsupported("an unterminated (?# comment")
		}
		return 2 + end + 1, nil
	case strings.HasPrefix(body, "="), strings.HasPrefix(body, "!"):
		return 0, unsupported("a lookahead assertion")
	case strings.HasPrefix(body, "<="), strings.HasPrefix(body, "<!"):
		return 0, unsupported("a lookbehind assertion")
	case strings.HasPrefix(body, ">"):
		return 0, unsupported("an atomic group")
	case strings.HasPrefix(body, "|"):
		return 0, unsupported("a branch-reset group")
	case strings.HasPrefix(body, "("):
		return 0, unsupported("a conditional group")
	case strings.HasPrefix(body, "P>"), strings.HasPrefix(body, "P="), strings.HasPrefix(body, "&"),
		strings.HasPrefix(body, "R"), len(body) > 0 && (body[0] >= '0' && body[0] <= '9' || body[0] == '+' ||
			body[0] == '-' && len(body) > 1 && body[1] >= '0' && body[1] <= '9'):
		return 0, unsupported("a recursion or subroutine call")
	case strings.HasPrefix(body, "<"), strings.HasPrefix(body, "'"), strings.HasPrefix(body, "P<"):
		open := 1
		closer := byte('>')
		if body[0] == '\'' {
			closer = '\''
		} else if body[0] == 'P' {
			open = 2
		}
		end := strings.IndexByte(body[open:], closer)
		if end < 0 {
			return 0, unsupported("an unterminated group name")
		}
		b.WriteString("(?P<" + body[open:open+end] + ">")
		return 2 + open + end + 1, nil
	}
	// Option letters, as in (?i) or (?i-s:…). RE2 knows i, m, s and U.
	for j := 0; j < len(body); j++ {
		switch c := body[j]; c {
		case 'x', 'X', 'J':
			return 0, unsupported("the (?" + string(c) + ") option")
		case ':', ')':
			j = len(body)
		}
	}
	b.WriteString("(?")
	return 2, nil
}
