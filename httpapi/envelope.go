package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

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
	var ke *knm.Error
	if !errors.As(err, &ke) {
		s.logger.ErrorContext(r.Context(), "internal error", slog.String("request_id", requestID(r)), slog.String("error", err.Error()))
		ke = &knm.Error{Name: knm.ErrInternal, Message: "internal_error"}
	} else if ke.Status() >= 500 {
		s.logger.WarnContext(r.Context(), "request failed", slog.String("request_id", requestID(r)), slog.String("error", err.Error()))
	}
	status := ke.Status()
	e := s.baseEnvelope(r, "error")
	e.Error = strconv.Itoa(status)
	e.Message = string(ke.Name)
	obj := knmErrorObject{Code: status, Error: string(ke.Name), Message: ke.Message, Cause: ke.Cause}
	if obj.Message == "" {
		obj.Message = string(ke.Name)
	}
	e.Data = obj
	if ke.Name == knm.ErrNotFound {
		// Crossbar rewrites knm's not_found as bad_identifier (kazoo-knm §6.1).
		e.Message = "bad_identifier"
		e.Data = map[string]string{"message": "bad identifier", "not_found": "The number could not be found", "cause": ke.Cause}
	}
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// decodeBody reads a crossbar request body {"data": …} into dst. Malformed JSON, a body that
// is not an object, a missing data key or an oversized body are invalid input (400/413).
func decodeBody(r *http.Request, dst any) error {
	var req struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return knm.Errorf(knm.ErrInvalid, "request body is larger than %d bytes", tooBig.Limit).WithCause("body_too_large")
		}
		return knm.Errorf(knm.ErrInvalid, "request body is not valid JSON: %v", err)
	}
	if len(req.Data) == 0 || string(req.Data) == "null" {
		return knm.Errorf(knm.ErrInvalid, "request body must be {\"data\": {...}}").WithCause("data required")
	}
	if err := json.Unmarshal(req.Data, dst); err != nil {
		return knm.Errorf(knm.ErrInvalid, "invalid request data: %v", err)
	}
	return nil
}

var _ = time.Second
