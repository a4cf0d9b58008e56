package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/knmproject/knm"
)

// idempotencyCarrier is the journal carrier of the rows that remember the replies of
// requests sent with an Idempotency-Key.
const idempotencyCarrier = "httpapi.idempotency"

// States of an idempotent request's row.
const (
	idemRunning = "running"
	idemDone    = "done"
	idemFailed  = "failed" // answered with an error: a retry runs again
)

// idemAbandoned is how long a running row may go unwritten before a retry takes it over
// (its instance died mid-request).
const idemAbandoned = time.Minute

// idemPayload is the row's payload: a digest of the request, to refuse a key reused for
// another one, and the reply once done.
type idemPayload struct {
	Request string          `json:"request"`
	Status  int             `json:"status,omitempty"`
	Reply   json.RawMessage `json:"reply,omitempty"`
}

// idempotent runs op once per Idempotency-Key of the caller on route: a retry with the same
// key and request gets the first reply again without running op (waiting while the first
// runs), and the same key with another request is a 400. Without a key op just runs.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, route string, request any,
	op func() (any, error)) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	if key == "" {
		return s.replyOf(w, r, op)
	}
	raw, _ := json.Marshal(request)
	sum := sha256.Sum256(raw)
	digest := hex.EncodeToString(sum[:])
	ctx := r.Context()
	row, err := s.claimRequest(ctx, route+":"+caller(r).ID+":"+key, digest)
	if err != nil {
		return err
	}
	if row.State == idemDone {
		var p idemPayload
		_ = json.Unmarshal(row.Payload, &p)
		w.Header().Set("Idempotent-Replayed", "true")
		e := s.baseEnvelope(r, "success")
		e.Data = p.Reply
		writeJSON(w, p.Status, e)
		return nil
	}
	data, err := op()
	p := idemPayload{Request: digest, Status: successStatus(r)}
	row.State = idemDone
	if err != nil {
		row.State = idemFailed
	} else if p.Reply, err = json.Marshal(data); err != nil {
		return err
	}
	row.Payload, _ = json.Marshal(p)
	row.Updated = s.now()
	if werr := s.store.UpdateJournal(context.WithoutCancel(ctx), row); werr != nil {
		s.logger.Warn("idempotent request: reply not recorded", "route", route, "error", werr)
	}
	if err != nil {
		return err
	}
	s.writeData(w, r, successStatus(r), data)
	return nil
}

// replyOf writes op's data or returns its error.
func (s *Server) replyOf(w http.ResponseWriter, r *http.Request, op func() (any, error)) error {
	data, err := op()
	if err != nil {
		return err
	}
	s.writeData(w, r, successStatus(r), data)
	return nil
}

// claimRequest returns the row of key: a new running one this request owns, the done row of
// an earlier request (waited for while it runs), or a failed or abandoned one taken over.
func (s *Server) claimRequest(ctx context.Context, key, digest string) (*knm.JournalEntry, error) {
	var b [12]byte
	_, _ = rand.Read(b[:])
	now := s.now()
	raw, _ := json.Marshal(idemPayload{Request: digest})
	mine := &knm.JournalEntry{ID: "idem-" + hex.EncodeToString(b[:]), Carrier: idempotencyCarrier,
		State: idemRunning, Payload: raw, Created: now, Updated: now}
	if err := s.store.CreateJournal(ctx, mine); err != nil {
		return nil, err
	}
	first, claimed, err := s.store.ClaimIdempotencyKey(ctx, key, mine.ID)
	if err != nil || claimed {
		return mine, err
	}
	mine.State = idemFailed // never used: the key was taken
	_ = s.store.UpdateJournal(ctx, mine)
	for {
		row, err := s.store.GetJournal(ctx, first)
		if err != nil {
			return nil, err
		}
		var p idemPayload
		_ = json.Unmarshal(row.Payload, &p)
		if p.Request != digest {
			return nil, knm.Errorf(knm.ErrInvalid, "Idempotency-Key reused for a different request").
				WithCause("Idempotency-Key")
		}
		stale := row.State == idemRunning && s.now().Sub(row.Updated) > idemAbandoned
		if row.State == idemDone {
			return row, nil
		}
		if row.State == idemFailed || stale {
			row.State, row.Updated = idemRunning, s.now()
			if err := s.store.UpdateJournal(ctx, row); err == nil {
				return row, nil // taken over; a concurrent retry that lost waits again
			}
		}
		select {
		case <-ctx.Done():
			return nil, knm.Errorf(knm.ErrConflict, "a request with this Idempotency-Key is still running").
				WithCause("Idempotency-Key")
		case <-time.After(50 * time.Millisecond):
		}
	}
}
