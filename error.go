package knm

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ErrorName is the machine name of a knm error, as Kazoo spells it in the "error" field of
// its knm error objects (kazoo-knm §6.2), plus a few of knm's own.
type ErrorName string

// Error names. The first group is Kazoo's (knm_errors.erl); the second is knm's own.
const (
	ErrNumberExists           ErrorName = "number_exists"
	ErrNotFound               ErrorName = "not_found"
	ErrNotReconcilable        ErrorName = "not_reconcilable"
	ErrForbidden              ErrorName = "forbidden"
	ErrNumberIsPorting        ErrorName = "number_is_porting"
	ErrNoChangeRequired       ErrorName = "no_change_required"
	ErrInvalidStateTransition ErrorName = "invalid_state_transition"
	ErrAssignFailure          ErrorName = "assign_failure"
	ErrInvalid                ErrorName = "invalid"
	ErrServiceRestriction     ErrorName = "service_restriction"
	ErrNotEnoughCredit        ErrorName = "not_enough_credit"
	ErrUnspecifiedFault       ErrorName = "unspecified_fault"
	ErrInternal               ErrorName = "internal_error"

	// ErrConflict is a stale write: the stored revision moved since it was read.
	ErrConflict ErrorName = "conflict"
	// ErrUnauthorized is a missing, unknown or expired credential (HTTP 401).
	ErrUnauthorized ErrorName = "unauthorized"
	// ErrTooManyRequests is a rate limit, ours or a carrier's.
	ErrTooManyRequests ErrorName = "too_many_requests"
	// ErrCarrier is a failure reported by, or while talking to, a carrier.
	ErrCarrier ErrorName = "carrier_fault"
	// ErrUnavailable means what was asked for cannot be had now (no stock, carrier down).
	ErrUnavailable ErrorName = "unavailable"
)

// statusByName is the one table from error names to HTTP statuses.
var statusByName = map[ErrorName]int{
	ErrNumberExists:           http.StatusConflict,
	ErrNotFound:               http.StatusNotFound,
	ErrNotReconcilable:        http.StatusNotFound,
	ErrForbidden:              http.StatusForbidden,
	ErrNumberIsPorting:        http.StatusBadRequest,
	ErrNoChangeRequired:       http.StatusBadRequest,
	ErrInvalidStateTransition: http.StatusBadRequest,
	ErrAssignFailure:          http.StatusBadRequest,
	ErrInvalid:                http.StatusBadRequest,
	ErrServiceRestriction:     http.StatusPaymentRequired,
	ErrNotEnoughCredit:        http.StatusPaymentRequired,
	ErrUnspecifiedFault:       http.StatusInternalServerError,
	ErrInternal:               http.StatusInternalServerError,
	ErrConflict:               http.StatusConflict,
	ErrUnauthorized:           http.StatusUnauthorized,
	ErrTooManyRequests:        http.StatusTooManyRequests,
	ErrCarrier:                http.StatusBadGateway,
	ErrUnavailable:            http.StatusServiceUnavailable,
}

// Status returns the HTTP status code of the error name (500 for an unknown name).
func (n ErrorName) Status() int {
	if s, ok := statusByName[n]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is the one error type of knm. Every layer returns it (or wraps it), the REST API
// renders it as a Kazoo knm error object and the CLI prints its message.
type Error struct {
	Name    ErrorName // machine name, e.g. number_exists
	Message string    // human message, e.g. "number +14155550100 already exists"
	Cause   string    // optional detail, e.g. "from available to port_out"
	Err     error     // optional underlying error, kept for errors.Is/As and logs
}

// Errorf returns an *Error with the given name and a formatted message.
func Errorf(name ErrorName, format string, args ...any) *Error {
	return &Error{Name: name, Message: fmt.Sprintf(format, args...)}
}

// WithCause returns e with its cause set.
func (e *Error) WithCause(cause string) *Error { e.Cause = cause; return e }

// Wrap returns e with err kept as its underlying error.
func (e *Error) Wrap(err error) *Error { e.Err = err; return e }

// Error implements error.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = string(e.Name)
	}
	if e.Cause != "" && !strings.Contains(msg, e.Cause) {
		msg += " (" + e.Cause + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Status returns the HTTP status code of the error.
func (e *Error) Status() int { return e.Name.Status() }

// Is matches another *Error by name, so errors.Is(err, &knm.Error{Name: knm.ErrConflict})
// works; ErrorNameOf is usually simpler.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Name == e.Name && t.Message == "" && t.Cause == ""
}

// ErrorNameOf returns the name of the first *Error in err's chain, ErrInternal for any other
// non-nil error, and "" for nil.
func ErrorNameOf(err error) ErrorName {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Name
	}
	return ErrInternal
}

// IsErrorName reports whether err's chain holds an *Error with the given name.
func IsErrorName(err error, name ErrorName) bool {
	var e *Error
	return errors.As(err, &e) && e.Name == name
}

// NotFound returns the not_found error for a number, with Kazoo's message.
func NotFound(number string) *Error {
	return &Error{Name: ErrNotFound, Message: "number " + number + " not found", Cause: number}
}

// NumberExists returns the number_exists error, with Kazoo's message.
func NumberExists(number string) *Error {
	return &Error{Name: ErrNumberExists, Message: "number " + number + " already exists", Cause: number}
}

// InvalidStateTransition returns Kazoo's invalid_state_transition error "from X to Y";
// an empty from is written "(nothing)" as Kazoo does.
func InvalidStateTransition(from, to State) *Error {
	f := string(from)
	if f == "" {
		f = "(nothing)"
	}
	return &Error{Name: ErrInvalidStateTransition, Message: "invalid state transition",
		Cause: "from " + f + " to " + string(to)}
}

// Forbidden returns Kazoo's unauthorized error (error name forbidden, HTTP 403).
func Forbidden(cause string) *Error {
	return &Error{Name: ErrForbidden, Message: "requestor is unauthorized to perform operation", Cause: cause}
}

// Conflict returns the error of a write that lost a race against another writer.
func Conflict(what string) *Error {
	return &Error{Name: ErrConflict, Message: what + " was changed by someone else; read it again and retry"}
}

// RetryAfter returns how long an error asks its caller to wait before trying again (a rate
// budget refusing work it cannot carry in time), if it says so.
func RetryAfter(err error) (time.Duration, bool) {
	var r interface{ RetryAfter() time.Duration }
	if errors.As(err, &r) {
		return r.RetryAfter(), true
	}
	return 0, false
}

// leaseLostCause marks the conflict of a write by an instance that no longer holds its lease.
const leaseLostCause = "lease_lost"

// LeaseLost returns the error of a journal write or lease renewal by an instance whose lease
// has expired or whose entry was taken over: a conflict, which IsLeaseLost tells apart.
func LeaseLost(instance string) *Error {
	return &Error{Name: ErrConflict, Message: "instance " + instance + " no longer holds its lease, or the " +
		"entry was taken over", Cause: leaseLostCause}
}

// IsLeaseLost reports whether err's chain holds a LeaseLost error.
func IsLeaseLost(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Name == ErrConflict && e.Cause == leaseLostCause
}
