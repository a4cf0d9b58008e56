package knmvoxbone

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
)

// PruneReport says which of knm's voice URIs were deleted at Voxbone.
type PruneReport struct {
	Deleted []int    `json:"deleted"` // voice URI ids
	Kept    int      `json:"kept"`    // still used by a DID, or named by system_config
	Errors  []string `json:"errors"`
}

// PruneVoiceURIs deletes the voice URIs knm made on this Voxbone account that no DID uses
// any more. Release never does it on its own, because operators share voice URIs; the ones
// system_config's routing names are kept. A pruned voice URI is forgotten, so a later
// routing that needs it finds or creates it again.
func (c *Carrier) PruneVoiceURIs(ctx context.Context) (*PruneReport, error) {
	es, err := c.store.FindJournals(ctx, knm.JournalFilter{Carrier: VoiceURIJournal, States: []string{voiceURIReady}})
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, tmpl := range []string{c.settings.Routing.VoiceURI, c.settings.Routing.BackupVoiceURI} {
		if t, err := ParseVoiceURI(tmpl); err == nil {
			keep[c.voiceURIRowID(t)] = true
		}
	}
	rep := &PruneReport{Deleted: []int{}, Errors: []string{}}
	for _, e := range es {
		var row voiceURIRow
		if err := json.Unmarshal(e.Payload, &row); err != nil || row.Account != c.account || row.VoiceURIID <= 0 {
			continue
		}
		if keep[e.ID] {
			rep.Kept++
			continue
		}
		used, err := c.voiceURIUsed(ctx, row.VoiceURIID)
		if err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("voice URI %d: %v", row.VoiceURIID, err))
			continue
		}
		if used {
			rep.Kept++
			continue
		}
		err = c.client.DeleteVoiceURI(ctx, row.VoiceURIID)
		switch {
		case voxbone.HasCode(err, voxbone.CodeVoiceURIMapped): // a DID took it meanwhile
			rep.Kept++
			continue
		case err != nil && !voxbone.HasCode(err, voxbone.CodeInvalidVoiceURI): // 301: gone already
			rep.Errors = append(rep.Errors, err.Error())
			continue
		}
		rep.Deleted = append(rep.Deleted, row.VoiceURIID)
		row.VoiceURIID, row.Error = 0, "pruned: no DID used it"
		if _, err := c.writeVoiceURIRow(ctx, e, voiceURIFree, row); err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("forget voice URI %s: %v", row.URI, err))
		}
	}
	return rep, nil
}

// voiceURIUsed reports whether any DID of the account, or another voice URI as its backup,
// uses the voice URI.
func (c *Carrier) voiceURIUsed(ctx context.Context, id int) (bool, error) {
	_, n, err := c.client.ListDIDs(ctx, voxbone.ListDIDsOptions{VoiceURIID: &id,
		ListOptions: voxbone.ListOptions{PageSize: 1}})
	if err != nil || n > 0 {
		return n > 0, err
	}
	_, n, err = c.client.ListVoiceURIs(ctx, voxbone.ListVoiceURIsOptions{BackupURIID: &id,
		ListOptions: voxbone.ListOptions{PageSize: 1}})
	return n > 0, err
}
