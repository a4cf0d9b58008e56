package knmvoxbone

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
)

// VoiceURIJournal is the journal carrier name of the rows that remember knm's voice URIs,
// one per Voxbone account and URI. The row is also the lock that makes one knm instance,
// among all sharing the database, find or create a voice URI, so none is created twice.
const VoiceURIJournal = ModuleName + ".voice_uri"

// States of a voice URI row.
const (
	voiceURIClaimed = "claimed" // an instance is finding or creating it
	voiceURIFree    = "free"    // the last attempt failed; anyone may claim it
	voiceURIReady   = "ready"   // VoiceURIID is the voice URI's id at Voxbone
)

// voiceURIRow is a voice URI row's payload.
type voiceURIRow struct {
	Account    string `json:"account"`
	Protocol   string `json:"protocol"`
	URI        string `json:"uri"`
	BackupID   int    `json:"backup_id,omitempty"`
	VoiceURIID int    `json:"voice_uri_id,omitempty"`
	Error      string `json:"error,omitempty"`
}

// voiceURIRowID names the row of a URI on the carrier's Voxbone account.
func (c *Carrier) voiceURIRowID(t VoiceURITarget) string {
	sum := sha256.Sum256([]byte(c.account + "\x00" + t.Protocol + "\x00" + t.URI))
	return "voiceuri-" + hex.EncodeToString(sum[:12])
}

// voiceURIPoll is how often an instance waiting for another's claim looks again.
const voiceURIPoll = 50 * time.Millisecond

// ensureVoiceURI returns the id of the voice URI t at Voxbone, with backupID as its backup
// (0: none asked for): remembered in the journal, else found by listing, else created. Of
// all callers, in this process or others on the same database, one at a time does the
// finding or creating; the others wait for its row. A claim older than claimTTL (its
// holder died) is taken over, and the taker lists before it creates, so a create whose
// answer was lost is found rather than repeated.
func (c *Carrier) ensureVoiceURI(ctx context.Context, t VoiceURITarget, backupID int) (int, error) {
	id := c.voiceURIRowID(t)
	for {
		e, err := c.store.GetJournal(ctx, id)
		switch {
		case knm.IsErrorName(err, knm.ErrNotFound):
			e, err = c.claimNewVoiceURI(ctx, id, t, backupID)
		case err != nil:
		case e.State == voiceURIReady:
			var row voiceURIRow
			if err := json.Unmarshal(e.Payload, &row); err != nil {
				return 0, fmt.Errorf("knm_voxbone: voice URI row %s: %w", id, err)
			}
			// A caller that asks for no backup takes the voice URI as it is.
			if (backupID == 0 || row.BackupID == backupID) && row.VoiceURIID > 0 {
				return row.VoiceURIID, nil
			}
			e, err = c.claimVoiceURI(ctx, e, t, backupID) // the backup changed: update it
		case e.State == voiceURIFree || c.now().Sub(e.Updated) > c.claimTTL():
			e, err = c.claimVoiceURI(ctx, e, t, backupID)
		default:
			e = nil // claimed by someone else: wait for it
		}
		if knm.IsErrorName(err, knm.ErrConflict) {
			e, err = nil, nil // another instance got there first
		}
		if err != nil {
			return 0, err
		}
		if e != nil {
			return c.resolveVoiceURI(ctx, e, t, backupID)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("knm_voxbone: waiting for voice URI %s: %w", t.URI, ctx.Err())
		case <-time.After(voiceURIPoll):
		}
	}
}

// claimTTL is how long a claim on a voice URI row holds: enough for a listing and a create.
func (c *Carrier) claimTTL() time.Duration { return 4*c.settings.RequestTimeout + time.Second }

func (c *Carrier) claimNewVoiceURI(ctx context.Context, id string, t VoiceURITarget,
	backupID int) (*knm.JournalEntry, error) {
	raw, err := json.Marshal(voiceURIRow{Account: c.account, Protocol: t.Protocol, URI: t.URI, BackupID: backupID})
	if err != nil {
		return nil, err
	}
	now := c.now()
	e := &knm.JournalEntry{ID: id, Carrier: VoiceURIJournal, State: voiceURIClaimed, Payload: raw,
		Created: now, Updated: now}
	if err := c.store.CreateJournal(ctx, e); err != nil {
		return nil, err
	}
	return e, nil
}

// claimVoiceURI takes an existing row under its revision; a conflict means another
// instance took it first.
func (c *Carrier) claimVoiceURI(ctx context.Context, e *knm.JournalEntry, t VoiceURITarget,
	backupID int) (*knm.JournalEntry, error) {
	var row voiceURIRow
	_ = json.Unmarshal(e.Payload, &row) // a bad payload is rewritten whole
	row.Account, row.Protocol, row.URI, row.BackupID = c.account, t.Protocol, t.URI, backupID
	return c.writeVoiceURIRow(ctx, e, voiceURIClaimed, row)
}

func (c *Carrier) writeVoiceURIRow(ctx context.Context, e *knm.JournalEntry, state string,
	row voiceURIRow) (*knm.JournalEntry, error) {
	raw, err := json.Marshal(row)
	if err != nil {
		return nil, err
	}
	next := *e
	next.State, next.Payload, next.Updated = state, raw, c.now()
	if err := c.store.UpdateJournal(ctx, &next); err != nil {
		return nil, err
	}
	return &next, nil
}

// resolveVoiceURI does the work of a claimed row: find the voice URI by listing, else
// create it, set its backup, and record the id. On failure the row is freed, so the next
// attempt (here or elsewhere) lists again instead of waiting for the claim to expire.
func (c *Carrier) resolveVoiceURI(ctx context.Context, e *knm.JournalEntry, t VoiceURITarget,
	backupID int) (int, error) {
	v, err := c.findOrCreateVoiceURI(ctx, t, backupID)
	row := voiceURIRow{Account: c.account, Protocol: t.Protocol, URI: t.URI, BackupID: backupID}
	if err != nil {
		row.Error = err.Error()
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.settings.RequestTimeout)
		defer cancel()
		if _, werr := c.writeVoiceURIRow(wctx, e, voiceURIFree, row); werr != nil {
			c.log.Warn("knm_voxbone: freeing a voice URI claim failed; it expires", "uri", t.URI, "error", werr)
		}
		return 0, carrierError("voxbone voice URI "+t.Protocol+" "+t.URI, err)
	}
	row.VoiceURIID = v
	if _, err := c.writeVoiceURIRow(ctx, e, voiceURIReady, row); err != nil {
		return 0, fmt.Errorf("knm_voxbone: remember voice URI %s (id %d): %w", t.URI, v, err)
	}
	c.log.Info("knm_voxbone: voice URI ready", "uri", t.URI, "protocol", t.Protocol, "voice_uri_id", v)
	return v, nil
}

func (c *Carrier) findOrCreateVoiceURI(ctx context.Context, t VoiceURITarget, backupID int) (int, error) {
	found, err := c.client.FindVoiceURI(ctx, t.Protocol, t.URI)
	if err != nil {
		return 0, err
	}
	want := voxbone.VoiceURI{VoiceURIProtocol: t.Protocol, URI: t.URI, Description: "knm"}
	if backupID > 0 {
		want.BackupURIID = &backupID
	}
	if found == nil {
		saved, err := c.client.SaveVoiceURI(ctx, want)
		if voxbone.HasCode(err, voxbone.CodeVoiceURIDuplicate) {
			// Made meanwhile by someone else (the operator, another knm on another database).
			if found, err = c.client.FindVoiceURI(ctx, t.Protocol, t.URI); err == nil && found == nil {
				err = errors.New("voice URI reported duplicate but not listed")
			}
		}
		if err != nil {
			return 0, err
		}
		if found == nil {
			return derefID(saved.VoiceURIID)
		}
	}
	if backupID > 0 && derefOr(found.BackupURIID) != backupID {
		want.VoiceURIID, want.Description = found.VoiceURIID, found.Description
		if _, err := c.client.SaveVoiceURI(ctx, want); err != nil {
			return 0, fmt.Errorf("set the backup of voice URI %d: %w", derefOr(found.VoiceURIID), err)
		}
	}
	return derefID(found.VoiceURIID)
}

func derefID(p *int) (int, error) {
	if p == nil || *p <= 0 {
		return 0, errors.New("voxbone answered a voice URI without an id")
	}
	return *p, nil
}

func derefOr(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// forgetVoiceURI drops a remembered voice URI that Voxbone no longer knows (error 301), so
// that the next routing finds or creates it again.
func (c *Carrier) forgetVoiceURI(ctx context.Context, t VoiceURITarget) {
	e, err := c.store.GetJournal(ctx, c.voiceURIRowID(t))
	if err != nil || e.State != voiceURIReady {
		return
	}
	var row voiceURIRow
	_ = json.Unmarshal(e.Payload, &row)
	row.Error, row.VoiceURIID = "voxbone no longer knows the voice URI", 0
	if _, err := c.writeVoiceURIRow(ctx, e, voiceURIFree, row); err != nil {
		c.log.Warn("knm_voxbone: forgetting a voice URI failed", "uri", t.URI, "error", err)
	}
}

// voiceURIFor resolves the settings' voice URI to an id: voice_uri_id as is, a voice_uri
// template through ensureVoiceURI (with its backup first), 0 when neither is set.
func (c *Carrier) voiceURIFor(ctx context.Context, r Routing) (int, error) {
	if r.VoiceURIID > 0 || r.VoiceURI == "" {
		return r.VoiceURIID, nil
	}
	t, err := ParseVoiceURI(r.VoiceURI)
	if err != nil {
		return 0, knm.Errorf(knm.ErrInvalid, "%s voice_uri: %v", Category, err)
	}
	backup := 0
	if r.BackupVoiceURI != "" {
		bt, err := ParseVoiceURI(r.BackupVoiceURI)
		if err != nil {
			return 0, knm.Errorf(knm.ErrInvalid, "%s backup_voice_uri: %v", Category, err)
		}
		if backup, err = c.ensureVoiceURI(ctx, bt, 0); err != nil {
			return 0, err
		}
	}
	return c.ensureVoiceURI(ctx, t, backup)
}
