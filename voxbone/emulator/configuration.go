package emulator

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Handlers of the configuration module (voxbone-api.md §5.1): a minimal but stateful voice
// URI store and bulk DID configuration. They run with e.mu held.

func (e *Emulator) listVoiceURIs(q *request) (any, error) {
	number, size, err := q.query.page()
	if err != nil {
		return nil, err
	}
	id, hasID, err := q.query.integer("voiceUriId")
	if err != nil {
		return nil, err
	}
	backup, hasBackup, err := q.query.integer("backupUriId")
	if err != nil {
		return nil, err
	}
	proto := strings.ToUpper(q.query.str("voiceUriProtocol"))
	uri, desc := q.query.str("uri"), q.query.str("description")
	var out []VoiceURI
	for _, v := range e.voiceURIs {
		switch {
		case hasID && v.VoiceURIID != id,
			hasBackup && (v.BackupURIID == nil || *v.BackupURIID != backup),
			proto != "" && v.VoiceURIProtocol != proto,
			uri != "" && !strings.Contains(v.URI, uri),
			desc != "" && !strings.Contains(v.Description, desc):
			continue
		}
		out = append(out, cloneVoiceURI(v))
	}
	page, err := paginate(out, number, size)
	if err != nil {
		return nil, err
	}
	return map[string]any{"voiceUris": page, "resultCount": len(out)}, nil
}

func cloneVoiceURI(v *VoiceURI) VoiceURI {
	c := *v
	c.BackupURIID = clonePtr(v.BackupURIID)
	c.BackupURI = clonePtr(v.BackupURI)
	return c
}

// saveVoiceURI creates a voice URI (no voiceUriId) or updates one (error 301 if unknown).
func (e *Emulator) saveVoiceURI(q *request) (any, error) {
	var body struct {
		VoiceURI *struct {
			VoiceURIID       *flexInt `json:"voiceUriId"`
			BackupURIID      *flexInt `json:"backupUriId"`
			VoiceURIProtocol string   `json:"voiceUriProtocol"`
			URI              string   `json:"uri"`
			Description      string   `json:"description"`
		} `json:"voiceUri"`
	}
	if err := decodeBody(q.body, &body); err != nil {
		return nil, err
	}
	in := body.VoiceURI
	if in == nil || strings.TrimSpace(in.URI) == "" || in.VoiceURIProtocol == "" {
		return nil, invalid(16, "FIELD_REQUIRED: voiceUri.uri and voiceUri.voiceUriProtocol are required.")
	}
	proto := strings.ToUpper(in.VoiceURIProtocol)
	if proto != "SIP" && proto != "TEL" {
		return nil, invalid(14, "ILLEGAL_ARGUMENT: voiceUriProtocol must be SIP or TEL.")
	}
	var target *VoiceURI
	if in.VoiceURIID != nil {
		if target = e.voiceURI(int(*in.VoiceURIID)); target == nil {
			return nil, invalid(301)
		}
	}
	for _, v := range e.voiceURIs {
		if v != target && v.VoiceURIProtocol == proto && v.URI == in.URI {
			return nil, invalid(326)
		}
	}
	saved := VoiceURI{VoiceURIProtocol: proto, URI: in.URI, Description: in.Description}
	if in.BackupURIID != nil {
		b := e.voiceURI(int(*in.BackupURIID))
		if b == nil {
			return nil, invalid(301, errorText[301], " (backupUriId)")
		}
		saved.BackupURIID, saved.BackupURI = ptr(b.VoiceURIID), ptr(b.URI)
	}
	if target == nil {
		saved.VoiceURIID = e.seq.voiceURI
		e.seq.voiceURI++
		target = &saved
		e.voiceURIs = append(e.voiceURIs, target)
	} else {
		saved.VoiceURIID = target.VoiceURIID
		*target = saved
	}
	return map[string]any{"voiceUri": cloneVoiceURI(target)}, nil
}

// getVoiceURI answers GET configuration/voiceuri/{id}: {voiceUri}, or error 301.
func (e *Emulator) getVoiceURI(q *request) (any, error) {
	v, err := e.voiceURIOfPath(q)
	if err != nil {
		return nil, err
	}
	return map[string]any{"voiceUri": cloneVoiceURI(v)}, nil
}

// deleteVoiceURI answers DELETE configuration/voiceuri/{id}: error 301 for an unknown id,
// 328 while a DID or another voice URI (as its backup) still uses it.
func (e *Emulator) deleteVoiceURI(q *request) (any, error) {
	v, err := e.voiceURIOfPath(q)
	if err != nil {
		return nil, err
	}
	for _, d := range e.dids {
		if !d.cancelled && d.VoiceURIID != nil && *d.VoiceURIID == v.VoiceURIID {
			return nil, invalid(328)
		}
	}
	for _, o := range e.voiceURIs {
		if o.BackupURIID != nil && *o.BackupURIID == v.VoiceURIID {
			return nil, invalid(328, errorText[328], " (as a backup URI)")
		}
	}
	e.voiceURIs = slices.DeleteFunc(e.voiceURIs, func(o *VoiceURI) bool { return o == v })
	return map[string]any{"status": "SUCCESS"}, nil
}

func (e *Emulator) voiceURIOfPath(q *request) (*VoiceURI, error) {
	id, err := strconv.Atoi(q.segs[len(q.segs)-1])
	if err != nil {
		return nil, invalid(17)
	}
	v := e.voiceURI(id)
	if v == nil {
		return nil, invalid(301)
	}
	return v, nil
}

func (e *Emulator) voiceURI(id int) *VoiceURI {
	for _, v := range e.voiceURIs {
		if v.VoiceURIID == id {
			return v
		}
	}
	return nil
}

// configure applies DidConfigurationRequest options to DIDs, all or nothing: an unknown DID
// is error 300, an unknown voice URI 301, an unknown trunk 307. It answers one message per
// option applied, with the number of DIDs updated. A JSON null clears a nullable id.
func (e *Emulator) configure(q *request) (any, error) {
	var raw map[string]json.RawMessage
	if err := decodeBody(q.body, &raw); err != nil {
		return nil, err
	}
	var ids []flexInt
	if err := decodeBody(raw["didIds"], &ids); err != nil || len(ids) == 0 {
		return nil, invalid(316)
	}
	if len(ids) > e.cfg.ConfigBatchLimit {
		return nil, invalid(360, errorText[360], fmt.Sprintf(" (at most %d)", e.cfg.ConfigBatchLimit))
	}
	var dids []*didState
	for _, id := range ids {
		d := e.didByID[int(id)]
		if d == nil || d.cancelled {
			return nil, invalid(300, errorText[300], fmt.Sprintf(" (didId %d)", int(id)))
		}
		if slices.Contains(dids, d) {
			return nil, invalid(343)
		}
		dids = append(dids, d)
	}

	// Decode and validate every option before touching any DID.
	var apply []func(*DID)
	var options []string
	for _, key := range sortedKeys(raw) {
		if key == "didIds" {
			continue
		}
		val := raw[key]
		fn, err := e.configOption(key, val)
		if err != nil {
			return nil, err
		}
		if fn != nil {
			apply = append(apply, fn)
			options = append(options, key)
		}
	}
	messages := []map[string]any{}
	for i, fn := range apply {
		for _, d := range dids {
			fn(&d.DID)
		}
		messages = append(messages, map[string]any{"configOption": options[i], "numberUpdated": len(dids)})
	}
	return map[string]any{"messages": messages}, nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// configOption decodes one option into a setter; unknown options are ignored (nil setter).
func (e *Emulator) configOption(key string, val json.RawMessage) (func(*DID), error) {
	isNull := strings.TrimSpace(string(val)) == "null"
	nullableID := func(check func(int) error, set func(*DID, *int)) (func(*DID), error) {
		if isNull {
			return func(d *DID) { set(d, nil) }, nil
		}
		var n flexInt
		if err := decodeBody(val, &n); err != nil {
			return nil, err
		}
		if check != nil {
			if err := check(int(n)); err != nil {
				return nil, err
			}
		}
		return func(d *DID) { set(d, ptr(int(n))) }, nil
	}
	boolean := func(set func(*DID, bool)) (func(*DID), error) {
		var b flexBool
		if err := decodeBody(val, &b); err != nil {
			return nil, err
		}
		return func(d *DID) { set(d, bool(b)) }, nil
	}
	str := func(set func(*DID, string)) (func(*DID), error) {
		var s string
		if err := decodeBody(val, &s); err != nil {
			return nil, err
		}
		return func(d *DID) { set(d, s) }, nil
	}
	switch key {
	case "voiceUriId":
		return nullableID(func(id int) error {
			if e.voiceURI(id) == nil {
				return invalid(301)
			}
			return nil
		}, func(d *DID, v *int) { d.VoiceURIID = v })
	case "trunkId":
		return nullableID(func(id int) error {
			if !slices.ContainsFunc(defaultTrunks, func(t Trunk) bool { return t.TrunkID == id }) {
				return invalid(307)
			}
			return nil
		}, func(d *DID, v *int) { d.TrunkID = v })
	case "faxUriId":
		return nullableID(nil, func(d *DID, v *int) { d.FaxURIID = v })
	case "smsLinkGroupId":
		return nullableID(nil, func(d *DID, v *int) { d.SMSLinkGroupID = v })
	case "capacityGroupId":
		return nullableID(nil, func(d *DID, v *int) { d.CapacityGroupID = v })
	case "srvLookup":
		return boolean(func(d *DID, v bool) { d.SRVLookup = v })
	case "blockOrdinary":
		return boolean(func(d *DID, v bool) { d.BlockOrdinary = v })
	case "blockCellular":
		return boolean(func(d *DID, v bool) { d.BlockCellular = v })
	case "blockPayphone":
		return boolean(func(d *DID, v bool) { d.BlockPayphone = v })
	case "smsOutbound":
		return boolean(func(d *DID, v bool) { d.SMSOutbound = v })
	case "webRtcEnabled":
		return boolean(func(d *DID, v bool) { d.WebRTC = v })
	case "dnisEnabled": // a boolean in requests, a string in DIDs
		return boolean(func(d *DID, v bool) { d.DNISEnabled = boolString(v) })
	case "cliPrivacy":
		return str(func(d *DID, v string) { d.CLIPrivacy = v })
	case "ringback":
		return str(func(d *DID, v string) { d.Ringback = v })
	case "callerId":
		var c CallerID
		if err := decodeBody(val, &c); err != nil {
			return nil, err
		}
		return func(d *DID) { d.CallerID = c }, nil
	case "peer":
		var p struct {
			T38Enabled     *flexBool `json:"t38Enabled"`
			DTMF           string    `json:"dtmf"`
			DTMFInbandMute *flexBool `json:"dtmfInbandMute"`
			Codecs         []string  `json:"codecs"`
		}
		if err := decodeBody(val, &p); err != nil {
			return nil, err
		}
		return func(d *DID) {
			if p.T38Enabled != nil {
				d.OtherOptions.T38Enabled = boolString(bool(*p.T38Enabled))
			}
			if p.DTMFInbandMute != nil {
				d.OtherOptions.DTMFInbandMute = boolString(bool(*p.DTMFInbandMute))
			}
			if p.DTMF != "" {
				d.OtherOptions.DTMF = p.DTMF
			}
			if p.Codecs != nil {
				d.OtherOptions.Codecs = slices.Clone(p.Codecs)
			}
		}, nil
	}
	return nil, nil
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
