package voxbone

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Error is a non-2xx answer from Voxbone, decoded from its error envelope
// {"httpStatusCode","apiModule","genericErrorMessage","errors":[{"apiErrorCode","apiErrorMessage"}]}
// when the body has one. It is also used for a 2xx answer whose status field is not
// SUCCESS on calls that only return a status.
type Error struct {
	HTTPStatus int        // the HTTP status of the response
	Module     string     // apiModule, e.g. "ORDERING"
	Message    string     // genericErrorMessage
	Codes      []APIError // errors[], in the server's order
	// Body is a short, sanitised excerpt of the raw body, kept when it is not the JSON
	// envelope (an HTML error page, an empty body, …) so that logs still say something.
	Body string
	// RetryAfter is the pause the server asked for with Retry-After, or zero.
	RetryAfter time.Duration
}

// APIError is one entry of the envelope's errors[].
type APIError struct {
	Code    string // apiErrorCode, e.g. "403"; sent as a JSON string or number
	Message string // apiErrorMessage
}

// UnmarshalJSON accepts apiErrorCode as a JSON string or number.
func (e *APIError) UnmarshalJSON(data []byte) error {
	var raw struct {
		Code    json.RawMessage `json:"apiErrorCode"`
		Message string          `json:"apiErrorMessage"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	e.Message = raw.Message
	e.Code = ""
	if c := bytes.TrimSpace(raw.Code); len(c) > 0 && !bytes.Equal(c, []byte("null")) {
		var s string
		if json.Unmarshal(c, &s) == nil {
			e.Code = s
		} else {
			e.Code = string(c) // a JSON number, kept as its digits
		}
	}
	return nil
}

// CodeInt returns Code as an integer, or -1 when it is not one.
func (e APIError) CodeInt() int {
	n, err := strconv.Atoi(strings.TrimSpace(e.Code))
	if err != nil {
		return -1
	}
	return n
}

// Error implements error. It starts with the HTTP status; callers add the endpoint.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.HTTPStatus)
	if t := http.StatusText(e.HTTPStatus); t != "" {
		b.WriteString(" " + t)
	} else if e.HTTPStatus == 509 {
		b.WriteString(" Bandwidth Limit Exceeded")
	}
	if e.Module != "" {
		b.WriteString(" [" + e.Module + "]")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	for i, c := range e.Codes {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %s", c.Code, c.Message)
	}
	if e.Message == "" && len(e.Codes) == 0 && e.Body != "" {
		b.WriteString(": " + e.Body)
	}
	return b.String()
}

// ErrNotFound is returned (wrapped) when a call that names one object finds none, such as
// GetCart answering an empty list. IsNotFound recognises it.
var ErrNotFound = errors.New("voxbone: not found")

// bodyExcerptLen bounds Error.Body: enough for an error page's title, not a whole page.
const bodyExcerptLen = 256

// newError builds the *Error for a non-2xx response.
func (c *Client) newError(status int, h http.Header, body []byte) *Error {
	e := &Error{HTTPStatus: status}
	if ra, ok := parseRetryAfter(h, time.Now()); ok {
		e.RetryAfter = ra
	}
	var env struct {
		HTTPStatusCode      json.RawMessage `json:"httpStatusCode"`
		APIModule           string          `json:"apiModule"`
		GenericErrorMessage string          `json:"genericErrorMessage"`
		Errors              []APIError      `json:"errors"`
	}
	if json.Unmarshal(body, &env) == nil && (env.APIModule != "" || env.GenericErrorMessage != "" ||
		len(env.Errors) > 0) {
		e.Module = c.scrub(env.APIModule)
		e.Message = c.scrub(env.GenericErrorMessage)
		for _, ae := range env.Errors {
			e.Codes = append(e.Codes, APIError{Code: c.scrub(ae.Code), Message: c.scrub(ae.Message)})
		}
		return e
	}
	e.Body = c.excerpt(body)
	return e
}

// excerpt returns a short single-line version of body with control characters replaced,
// invalid UTF-8 dropped and credentials scrubbed, fit for an error message or a log line.
func (c *Client) excerpt(body []byte) string {
	s := strings.ToValidUTF8(string(body), "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(c.scrub(s)), " ")
	if len(s) > bodyExcerptLen {
		cut := bodyExcerptLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// scrub replaces the client's credentials in server-provided text, in case a server or a
// proxy echoes request headers back in an error page.
func (c *Client) scrub(s string) string {
	for _, secret := range c.secrets {
		s = strings.ReplaceAll(s, secret, "[REDACTED]")
	}
	return s
}

// asError finds the *Error in err's chain.
func asError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Code is a Voxbone apiErrorCode (voxbone-api.md §6.3).
type Code int

// The apiErrorCodes knm acts on.
const (
	CodePaginationOverflow    Code = 13  // PAGINATION_OVERFLOW: the page asked for does not exist
	CodeNotFound              Code = 15  // NOT_FOUND
	CodeInvalidDID            Code = 300 // INVALID_DID: a DID of a configuration is unknown
	CodeInvalidVoiceURI       Code = 301 // INVALID_VOICE_URI: no such voice URI
	CodeVoiceURIDuplicate     Code = 326 // VOICE_URI_DUPLICATE: that protocol and URI exist already
	CodeVoiceURIMapped        Code = 328 // VOICE_URI_MAPPED: DIDs still use the voice URI
	CodeBulkConfigLimit       Code = 360 // BULK_DID_CONFIGURATION_LIMIT_EXCEEDED: too many DIDs at once
	CodeInvalidCartIdentifier Code = 400 // INVALID_CART_IDENTIFIER: no such cart
	CodeInvalidDIDID          Code = 414 // INVALID_DID_ID: no such DID in the account
)

// IsRateLimited reports whether err is a 429 Too Many Requests or 509 Bandwidth Exceeded.
func IsRateLimited(err error) bool {
	e, ok := asError(err)
	return ok && (e.HTTPStatus == http.StatusTooManyRequests || e.HTTPStatus == 509)
}

// IsNotFound reports whether err is a 404, an API error 15 NOT_FOUND, or ErrNotFound.
func IsNotFound(err error) bool {
	if errors.Is(err, ErrNotFound) {
		return true
	}
	e, ok := asError(err)
	return ok && (e.HTTPStatus == http.StatusNotFound || HasCode(err, CodeNotFound))
}

// IsAuthentication reports whether err is a 401 (bad credentials).
func IsAuthentication(err error) bool {
	e, ok := asError(err)
	return ok && e.HTTPStatus == http.StatusUnauthorized
}

// HasCode reports whether err carries the Voxbone apiErrorCode code.
func HasCode(err error, code Code) bool {
	e, ok := asError(err)
	if !ok {
		return false
	}
	for _, c := range e.Codes {
		if c.CodeInt() == int(code) {
			return true
		}
	}
	return false
}

// RetryAfter returns the pause the server asked for with Retry-After, if err carries one.
func RetryAfter(err error) (time.Duration, bool) {
	e, ok := asError(err)
	if !ok || e.RetryAfter <= 0 {
		return 0, false
	}
	return e.RetryAfter, true
}
