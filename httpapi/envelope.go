package httpapi

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/knmproject/knm"
)

// Version is reported in every envelope, as crossbar reports Kazoo's version.
const Version = "knm-1"

// envelope is crossbar's response envelope (kazoo-knm §6.1).
type envelope struct {
	AuthToken string `json:"auth_token"`
	Status    string `json:"status"`
	RequestID string `json:"request_id"`
	Node      string `json:"node"`
	Version   string `json:"version"`
	Timestamp string `json:"timestamp"`
	Revision  any    `json:"revision"`
	Error     string `json:"error,omitempty"`
	Message   string `json:"message,omitempty"`
	Data      any    `json:"data"`
	PageSize  *int   `json:"page_size,omitempty"`
	// StartKey and NextStartKey are crossbar's keyset paging of listings: the start_key
	// the page began at, and the one that fetches the next page (absent on the last).
	StartKey     string `json:"start_key,omitempty"`
	NextStartKey string `json:"next_start_key,omitempty"`
	// Carriers is knm's addition to a search reply: how each carrier did, so a failed or
	// timed-out carrier is never silent. Kazoo clients ignore it.
	Carriers any `json:"carriers,omitempty"`
}

// knmErrorObject is the data of an error reply carrying a knm error, as Kazoo's
// knm_errors:to_json builds it.
type knmErrorObject struct {
	Code    int    `json:"code"`
	Error   string `json:"error"`
	Message string `json:"message"`
	Cause   string `json:"cause,omitempty"`
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	authKey
)

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// requestID returns the id given to the request by the middleware.
func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey).(string)
	return id
}

func (s *Server) baseEnvelope(r *http.Request, status string) envelope {
	e := envelope{
		Status:    status,
		RequestID: requestID(r),
		Node:      s.node,
		Version:   Version,
		Timestamp: s.now().UTC().Format("2006-01-02T15:04:05"),
	}
	if a := authOf(r); a != nil {
		e.AuthToken = a.token
	}
	return e
}

// writeData writes a success envelope around data.
func (s *Server) writeData(w http.ResponseWriter, r *http.Request, status int, data any) {
	e := s.baseEnvelope(r, "success")
	e.Data = data
	writeJSON(w, status, e)
}

// writeError writes err in crossbar's error envelope. knm errors become Kazoo's knm error
// objects; anything else is logged and answered as a 500 without its details, so internal
// messages (which may name hosts or drivers) never reach clients.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		ke     *knm.Error
		se     *statusError
		tooBig *http.MaxBytesError
		status int
		name   string
		obj    knmErrorObject
	)
	if releasedWhileAvailable(err) {
		// Crossbar answers releasing an available number as if the number did not exist
		// (kazoo-knm §3.5): 404 bad_identifier, not 400 invalid_state_transition.
		err = knm.NotFound(s.e164(r.Context(), r.PathValue("number")))
	}
	switch {
	case errors.As(err, &tooBig):
		se = tooLarge(tooBig.Limit).(*statusError)
		fallthrough
	case se != nil || errors.As(err, &se):
		status, name = se.status, se.name
		obj = knmErrorObject{Code: status, Error: name, Message: se.msg}
	case errors.As(err, &ke):
		status, name = ke.Status(), string(ke.Name)
		if status >= 500 {
			s.logger.WarnContext(r.Context(), "request failed", slog.String("request_id", requestID(r)),
				slog.String("error", err.Error()))
		}
		obj = knmErrorObject{Code: status, Error: name, Message: ke.Message, Cause: ke.Cause}
		if obj.Message == "" {
			obj.Message = name
		}
	default:
		s.logger.ErrorContext(r.Context(), "internal error", slog.String("request_id", requestID(r)),
			slog.String("error", err.Error()))
		status, name = http.StatusInternalServerError, string(knm.ErrInternal)
		obj = knmErrorObject{Code: status, Error: name, Message: name}
	}
	e := s.baseEnvelope(r, "error")
	e.Error = strconv.Itoa(status)
	e.Message = name
	e.Data = obj
	if se != nil && se.data != nil {
		e.Data = se.data
	}
	if field, ok := invalidField(ke); ok {
		// Crossbar's validation error: 400 "invalid data", data {field: {rule: {message}}}.
		e.Message = "invalid data"
		e.Data = map[string]any{field: map[string]any{validationRule(ke.Message): map[string]string{
			"message": ke.Message}}}
	}
	if ke != nil && ke.Name == knm.ErrNotFound && strings.HasPrefix(ke.Message, "number ") {
		// Crossbar rewrites knm's not_found as bad_identifier (kazoo-knm §6.1).
		e.Message = "bad_identifier"
		e.Data = map[string]string{"message": "bad identifier", "not_found": "The number could not be found",
			"cause": ke.Cause}
	}
	writeJSON(w, status, e)
}

// invalidField returns the field an invalid error names as its cause: a request field
// (letters, digits, "_", "." between parts), not a free-form reason.
func invalidField(ke *knm.Error) (string, bool) {
	if ke == nil || ke.Name != knm.ErrInvalid || ke.Cause == "" || len(ke.Cause) > 64 {
		return "", false
	}
	for _, c := range ke.Cause {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' ||
			c == '-') {
			return "", false
		}
	}
	return ke.Cause, true
}

// validationRules name, by a phrase of knm's message, the JSON-schema rule Kazoo would
// report; the first match wins.
var validationRules = []struct{ phrase, rule string }{
	{"is required", "required"},
	{"unique", "uniqueItems"},
	{"must be one of", "enum"},
	{"at least", "minimum"},
	{"at most", "maximum"},
	{" from ", "minimum"},
	{"must be a", "type"},
	{"must be", "pattern"},
}

// validationRule names the rule a validation message breaks.
func validationRule(msg string) string {
	for _, r := range validationRules {
		if strings.Contains(msg, r.phrase) {
			return r.rule
		}
	}
	return "invalid"
}

// releasedWhileAvailable reports whether err is the invalid_state_transition "from
// available to released", the one transition error crossbar turns into bad_identifier.
func releasedWhileAvailable(err error) bool {
	var ke *knm.Error
	return errors.As(err, &ke) && ke.Name == knm.ErrInvalidStateTransition &&
		ke.Cause == "from "+string(knm.StateAvailable)+" to "+string(knm.StateReleased)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// decodeBody reads a crossbar request body {"data": {…}} into dst. Malformed JSON, a body
// that is not an object, a missing or non-object data, data of the wrong shape and trailing
// garbage are invalid input (400); an oversized body is 413.
func decodeBody(r *http.Request, dst any) error {
	return readBody(r, dst, false)
}

// decodeOptionalBody is decodeBody for routes whose body may be absent (activate, reserve);
// a body that is present must still be well formed.
func decodeOptionalBody(r *http.Request, dst any) error {
	return readBody(r, dst, true)
}

func readBody(r *http.Request, dst any, optional bool) error {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return tooLarge(tooBig.Limit)
		}
		return knm.Errorf(knm.ErrInvalid, "request body could not be read").WithCause("body")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		if optional {
			return nil
		}
		return knm.Errorf(knm.ErrInvalid, `request body must be {"data": {...}}`).WithCause("data required")
	}
	var req map[string]json.RawMessage
	if err := json.Unmarshal(raw, &req); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return knm.Errorf(knm.ErrInvalid, "request body is not valid JSON at byte %d", syn.Offset).WithCause("body")
		}
		return knm.Errorf(knm.ErrInvalid, `request body must be a JSON object {"data": {...}}`).WithCause("body")
	}
	data := bytes.TrimSpace(req["data"])
	if len(data) == 0 || string(data) == "null" {
		if optional {
			return nil
		}
		return knm.Errorf(knm.ErrInvalid, `request body must be {"data": {...}}`).WithCause("data required")
	}
	if data[0] != '{' {
		return knm.Errorf(knm.ErrInvalid, "data must be a JSON object").WithCause("data")
	}
	if err := json.Unmarshal(data, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "data"
			}
			return typeError(field, te).WithCause(field)
		}
		return knm.Errorf(knm.ErrInvalid, "invalid request data").WithCause("data")
	}
	return nil
}

// typeError explains a JSON value of the wrong type. encoding/json reports a number that
// does not fit an integer field (1.5, 1e3, -1 for an unsigned field, 1e30) as "number
// <literal>", which would read "must be of type number, not number 1.5": those say what
// is wrong with the number instead.
func typeError(field string, te *json.UnmarshalTypeError) *knm.Error {
	want := jsonType(te.Type.Kind())
	if lit, isNum := strings.CutPrefix(te.Value, "number"); isNum && want == "integer" {
		lit = strings.TrimSpace(lit)
		switch {
		case lit == "" || strings.ContainsAny(lit, ".eE"):
			return knm.Errorf(knm.ErrInvalid, "%s must be an integer", field)
		case strings.HasPrefix(lit, "-") && isUnsigned(te.Type.Kind()):
			return knm.Errorf(knm.ErrInvalid, "%s must not be negative", field)
		default:
			return knm.Errorf(knm.ErrInvalid, "%s is too large", field)
		}
	}
	return knm.Errorf(knm.ErrInvalid, "%s must be of type %s, not %s", field, want, te.Value)
}

// jsonType names a Go kind the way a JSON client thinks of it.
func jsonType(kind reflect.Kind) string {
	switch kind {
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return kind.String()
}

func isUnsigned(kind reflect.Kind) bool {
	switch kind {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}
