package manager

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/knmproject/knm"
)

// A carrier call and the store write that follows it cannot be one transaction, so each
// pair is journalled in the knm.JournalStore under carrier "manager":
//
//	intent        written before the carrier is called (the outcome of the call is unknown)
//	carrier_done  the carrier call succeeded; the store write has not been confirmed
//	done          the store write happened
//	rolled_back   the carrier refused, or Recover undid the call
//	superseded    someone else changed the number first; nothing more to do
//
// Recover settles entries left in intent or carrier_done (a crash, a lost connection):
//
//   - acquire, intent: the carrier may or may not have acquired the number. A number that
//     was not stored (discovery) is disconnected at the carrier, so nothing is paid for that
//     nobody owns; a stored number (reserved -> reserved) is left as stored, since its
//     previous owner still holds it. -> rolled_back (superseded if the number got stored
//     by someone else meanwhile: their acquisition must not be undone).
//   - acquire, carrier_done: roll forward, writing the recorded target if the number is
//     still as read (not stored, or at the recorded revision); else superseded.
//   - disconnect, intent: roll forward, calling DisconnectNumber again (carriers must
//     treat an already disconnected number as success), then as carrier_done.
//   - disconnect, carrier_done: apply the recorded release (update or delete) if the number
//     is still at the recorded revision; already deleted counts as done; otherwise
//     superseded, logged as a warning for an operator to check.
//
// An entry is owned by the instance that wrote it (knm.InstanceStore). Recover leaves the
// entries of other live instances alone and takes over, then settles at once, those whose
// owner's lease has ended. Its own entries, and entries without an owner, it settles once
// they are RecoverGrace old: this process, or a process without a lease, may still be
// working on them.

// Journal states and the journal's carrier name.
const (
	journalCarrier     = "manager"
	journalIntent      = "intent"
	journalCarrierDone = "carrier_done"
	journalDone        = "done"
	journalRolledBack  = "rolled_back"
	journalSuperseded  = "superseded"

	opAcquire    = "acquire"
	opDisconnect = "disconnect"
)

// RecoverGrace is how old an unfinished journal entry of this instance, or of none, must be
// before Recover touches it.
const RecoverGrace = 2 * time.Minute

// intent is the payload of a journal entry: enough to finish or undo the operation.
type intent struct {
	Op      string      `json:"op"`
	Number  string      `json:"number"`
	Module  string      `json:"module"`
	ReadRev int64       `json:"read_rev"` // revision read; 0 when the number was not stored
	Target  *knm.Number `json:"target,omitempty"`
	Delete  bool        `json:"delete,omitempty"`
}

// journalled runs call (the carrier) and then write (the store) under a journal entry.
// It returns the entry so a retry can reuse it. A failure of write is returned as is (a
// conflict makes the caller re-read); the entry then stays carrier_done for the caller to
// settle with settle().
func (m *Manager) journalled(ctx context.Context, in intent,
	call func(context.Context) error) (*knm.JournalEntry, error) {
	payload, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	e := &knm.JournalEntry{ID: in.Op + "-" + in.Number + "-" + randomHex(), Carrier: journalCarrier,
		State: journalIntent, Payload: payload, Created: m.now(), Updated: m.now(), Owner: m.owner()}
	if err := m.store.CreateJournal(ctx, e); err != nil {
		return nil, fmt.Errorf("manager: journal %s %s: %w", in.Op, in.Number, err)
	}
	if err := call(ctx); err != nil {
		m.settle(ctx, e, journalRolledBack)
		return nil, err
	}
	m.settle(ctx, e, journalCarrierDone)
	return e, nil
}

// settle moves a journal entry to a new state. A failure is only logged: the entry then
// stays in an earlier state and Recover settles it later, by the rules above.
func (m *Manager) settle(ctx context.Context, e *knm.JournalEntry, state string) {
	if e == nil {
		return
	}
	e.State, e.Updated = state, m.now()
	if err := m.store.UpdateJournal(context.WithoutCancel(ctx), e); err != nil {
		m.logger.Warn("journal update failed; Recover will settle it", "id", e.ID, "state", state, "error", err)
	}
}

func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RecoverReport counts what Recover did.
type RecoverReport struct {
	Finished, RolledBack, Superseded, Failed int
}

// Recover finishes or rolls back the unfinished carrier operations of every instance
// (see the rules at the top of journal.go). It is safe to run on several instances at
// once: every step is revision-guarded. Run it at start-up and periodically.
func (m *Manager) Recover(ctx context.Context) (RecoverReport, error) {
	var rep RecoverReport
	es, err := m.store.FindJournals(ctx, knm.JournalFilter{Carrier: journalCarrier, States: []string{journalIntent,
		journalCarrierDone}})
	if err != nil {
		return rep, err
	}
	live, err := m.liveInstances(ctx)
	if err != nil {
		return rep, err
	}
	for _, e := range es {
		e, ok := m.claimEntry(ctx, e, live)
		if !ok {
			continue
		}
		var in intent
		if err := json.Unmarshal(e.Payload, &in); err != nil {
			rep.Failed++
			m.logger.Error("unreadable journal entry", "id", e.ID, "error", err)
			continue
		}
		state, err := m.recoverOne(ctx, e, in)
		if err != nil {
			rep.Failed++
			m.logger.Warn("journal entry not settled; will retry", "id", e.ID, "error", err)
			continue
		}
		switch state {
		case journalDone:
			rep.Finished++
		case journalRolledBack:
			rep.RolledBack++
		case journalSuperseded:
			rep.Superseded++
			if in.Op == opDisconnect {
				m.logger.Warn("number changed after its carrier disconnect; check it", "number", in.Number, "module",
					in.Module)
			}
		}
		e.State, e.Updated = state, m.now()
		if err := m.store.UpdateJournal(ctx, e); err != nil && !retryable(err) {
			return rep, err
		}
	}
	return rep, nil
}

// liveInstances returns the ids of the instances whose lease is live now.
func (m *Manager) liveInstances(ctx context.Context) (map[string]bool, error) {
	ins, err := m.store.ListInstances(ctx)
	if err != nil {
		return nil, fmt.Errorf("manager: instances: %w", err)
	}
	live := make(map[string]bool, len(ins))
	for _, in := range ins {
		live[in.ID] = in.Live(m.now())
	}
	return live, nil
}

// claimEntry returns e as this instance may settle it now, or ok false: an entry of another live
// instance is left to it, one of this instance or of none until RecoverGrace old. An entry
// of an ended lease, or an old one without an owner, is taken over first when this process
// holds a lease, so that no two instances settle it.
func (m *Manager) claimEntry(ctx context.Context, e *knm.JournalEntry, live map[string]bool) (*knm.JournalEntry, bool) {
	me := m.owner()
	switch {
	case e.Owner != "" && e.Owner != me && live[e.Owner]:
		return nil, false
	case (e.Owner == "" || e.Owner == me) && e.Updated.After(m.now().Add(-RecoverGrace)):
		return nil, false
	case e.Owner == me:
		return e, true
	case me == "" && e.Owner != "":
		m.logger.Warn("journal entry of an ended lease needs a registered instance to settle it", "id", e.ID,
			"owner", e.Owner)
		return nil, false
	case me == "":
		return e, true
	}
	taken, err := m.store.TakeOverJournal(ctx, e.ID, e.Rev, me)
	if err != nil {
		if !knm.IsErrorName(err, knm.ErrConflict) {
			m.logger.Warn("journal entry not taken over; will retry", "id", e.ID, "error", err)
		}
		return nil, false
	}
	return taken, true
}

// recoverOne settles one entry and returns its final state.
func (m *Manager) recoverOne(ctx context.Context, e *knm.JournalEntry, in intent) (string, error) {
	cur, err := m.store.GetNumber(ctx, in.Number)
	if err != nil && !isNotFound(err) {
		return "", err
	}
	stored := err == nil
	asRead := (!stored && in.ReadRev == 0) || (stored && cur.Rev == in.ReadRev)
	c := m.carrier(in.Module)
	switch in.Op {
	case opAcquire:
		if e.State == journalIntent {
			if in.ReadRev != 0 {
				return journalRolledBack, nil
			}
			if stored {
				return journalSuperseded, nil
			}
			if c != nil && in.Target != nil {
				if err := c.DisconnectNumber(ctx, in.Target.Clone()); err != nil {
					return "", err
				}
			}
			return journalRolledBack, nil
		}
		if !asRead || in.Target == nil {
			return journalSuperseded, nil
		}
		return journalDone, m.writeTarget(ctx, in, stored)
	case opDisconnect:
		if e.State == journalIntent && c != nil && in.Target != nil {
			if err := c.DisconnectNumber(ctx, in.Target.Clone()); err != nil {
				return "", err
			}
		}
		if !stored {
			return journalDone, nil
		}
		if !asRead {
			return journalSuperseded, nil
		}
		return journalDone, m.writeTarget(ctx, in, stored)
	}
	return "", fmt.Errorf("manager: unknown journal op %q", in.Op)
}

// writeTarget applies an intent's recorded write.
func (m *Manager) writeTarget(ctx context.Context, in intent, stored bool) error {
	if in.Delete {
		return m.store.DeleteNumber(ctx, in.Number, in.ReadRev)
	}
	t := in.Target.Clone()
	t.Rev = in.ReadRev
	if !stored {
		return m.store.CreateNumber(ctx, t)
	}
	return m.store.UpdateNumber(ctx, t)
}
