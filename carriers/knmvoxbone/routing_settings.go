package knmvoxbone

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/voxbone"
)

// DefaultRoutingBatchSize is how many DIDs one configuration/configuration request names by
// default. Voxbone caps bulk configuration (error 360) without documenting the cap.
const DefaultRoutingBatchSize = 100

// MaxRoutingBatchSize bounds routing_batch_size.
const MaxRoutingBatchSize = 1000

// OptBool is a setting that may be left unset: knm then leaves Voxbone's value alone.
type OptBool uint8

// OptBool values.
const (
	Unset OptBool = iota
	False
	True
)

// Ptr returns the value as a request field: nil when unset.
func (b OptBool) Ptr() *bool {
	if b == Unset {
		return nil
	}
	v := b == True
	return &v
}

// String is "", "false" or "true".
func (b OptBool) String() string {
	switch b {
	case False:
		return "false"
	case True:
		return "true"
	}
	return ""
}

// Routing is what knm configures on every DID it buys, so that a bought number rings on the
// operator's platform (number_manager.voxbone's routing keys). Zero fields are left as
// Voxbone has them. It stays comparable: the Holder compares settings with ==.
type Routing struct {
	// VoiceURI is a template, "sip:{e164}@sbc.example.com" or "tel:+3225551234"; knm keeps
	// one voice URI per template at Voxbone (see VoiceURITarget). Exclusive with VoiceURIID.
	VoiceURI string
	// VoiceURIID names a voice URI the operator made at Voxbone.
	VoiceURIID int
	// BackupVoiceURI is a template for the voice URI's backup; it needs VoiceURI.
	BackupVoiceURI  string
	TrunkID         int
	CapacityGroupID int
	SMSLinkGroupID  int
	FaxURIID        int
	DeliveryID      int
	CLIFormat       string // callerId.cliFormat, e.g. E164
	CLIPrivacy      string // cliPrivacy, e.g. DISABLED
	Ringback        string // STANDARD or RINGING
	SRVLookup       OptBool
	DNISEnabled     OptBool
	// BatchSize is the most DIDs one configuration/configuration request names.
	BatchSize int
}

// Enabled reports whether the settings ask for any configuration of new DIDs.
func (r Routing) Enabled() bool {
	r.BatchSize = 0
	return r != Routing{}
}

// routingKeys are the keys of Routing in number_manager.voxbone and in an account's
// configs_number_manager.voxbone, in the order they are documented.
var routingKeys = []string{"voice_uri", "voice_uri_id", "backup_voice_uri", "trunk_id", "capacity_group_id",
	"sms_link_group_id", "fax_uri_id", "delivery_id", "cli_format", "cli_privacy", "ringback", "srv_lookup",
	"dnis_enabled", "routing_batch_size"}

// readRouting reads the routing keys through get (nil when a key is absent) over base: a key
// that is absent keeps base's value, so an account's document overrides key by key. A
// JSON null or "" clears a key.
func readRouting(get func(key string) (json.RawMessage, error), base Routing,
	note func(key string, err error)) Routing {
	r := base
	for _, key := range routingKeys {
		raw, err := get(key)
		if err == nil && raw == nil {
			continue
		}
		if err == nil {
			err = r.set(key, raw)
		}
		note(key, err)
	}
	return r
}

// set stores one key's raw JSON value; null clears it.
func (r *Routing) set(key string, raw json.RawMessage) error {
	null := bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
	text := func(dst *string) error {
		if null {
			*dst = ""
			return nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("%s must be a string", key)
		}
		*dst = strings.TrimSpace(s)
		return nil
	}
	id := func(dst *int) error {
		if null {
			*dst = 0
			return nil
		}
		n, err := rawInt(raw)
		if err != nil {
			return fmt.Errorf("%s must be an integer", key)
		}
		*dst = n
		return nil
	}
	flag := func(dst *OptBool) error {
		var b *bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return fmt.Errorf("%s must be true, false or null", key)
		}
		*dst = Unset
		if b != nil && *b {
			*dst = True
		} else if b != nil {
			*dst = False
		}
		return nil
	}
	switch key {
	case "voice_uri":
		return text(&r.VoiceURI)
	case "voice_uri_id":
		return id(&r.VoiceURIID)
	case "backup_voice_uri":
		return text(&r.BackupVoiceURI)
	case "trunk_id":
		return id(&r.TrunkID)
	case "capacity_group_id":
		return id(&r.CapacityGroupID)
	case "sms_link_group_id":
		return id(&r.SMSLinkGroupID)
	case "fax_uri_id":
		return id(&r.FaxURIID)
	case "delivery_id":
		return id(&r.DeliveryID)
	case "cli_format":
		return text(&r.CLIFormat)
	case "cli_privacy":
		return text(&r.CLIPrivacy)
	case "ringback":
		return text(&r.Ringback)
	case "srv_lookup":
		return flag(&r.SRVLookup)
	case "dnis_enabled":
		return flag(&r.DNISEnabled)
	case "routing_batch_size":
		return id(&r.BatchSize)
	}
	return nil
}

// rawInt reads an integer written as a JSON number or a string of digits.
func rawInt(raw json.RawMessage) (int, error) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		n = json.Number(strings.TrimSpace(s))
	}
	return strconv.Atoi(n.String())
}

var (
	placeholderRE = regexp.MustCompile(`\{[^{}]*\}`)
	optionWordRE  = regexp.MustCompile(`^[A-Z0-9_]{1,32}$`)
)

// uriPlaceholders maps knm's template placeholders to Voxbone's voice URI variables, which
// Voxbone fills per call: one voice URI then serves every DID.
var uriPlaceholders = map[string]string{"{e164}": "$e164", "{did}": "$did"}

// VoiceURITarget is a voice URI template as Voxbone stores it: protocol and URI.
type VoiceURITarget struct {
	Protocol string // SIP or TEL
	URI      string // without the scheme, placeholders as Voxbone's variables
}

// ParseVoiceURI turns a template ("sip:{e164}@sbc.example.com", "tel:+3225551234") into what
// Voxbone stores ("SIP", "$e164@sbc.example.com"). Placeholders: {e164} and {did}.
func ParseVoiceURI(template string) (VoiceURITarget, error) {
	scheme, rest, ok := strings.Cut(template, ":")
	var t VoiceURITarget
	switch strings.ToLower(scheme) {
	case "sip":
		t.Protocol = "SIP"
	case "tel":
		t.Protocol = "TEL"
	default:
		ok = false
	}
	if !ok {
		return t, fmt.Errorf("must start with sip: or tel:")
	}
	if rest == "" || len(rest) > 255 || strings.ContainsAny(rest, " \t\r\n") {
		return t, fmt.Errorf("must have 1 to 255 characters after %s: and no spaces", strings.ToLower(scheme))
	}
	var unknown []string
	uri := placeholderRE.ReplaceAllStringFunc(rest, func(p string) string {
		if v, ok := uriPlaceholders[p]; ok {
			return v
		}
		unknown = append(unknown, p)
		return p
	})
	if len(unknown) > 0 {
		return t, fmt.Errorf("has unknown placeholder %s (known: {e164}, {did})", unknown[0])
	}
	if strings.ContainsAny(uri, "{}") {
		return t, fmt.Errorf("has an unclosed placeholder")
	}
	if t.Protocol == "SIP" {
		user, host, found := strings.Cut(uri, "@")
		if !found || user == "" || host == "" {
			return t, fmt.Errorf("must be user@host after sip:")
		}
		if strings.Contains(user, ":") {
			// Settings are shown and logged; a SIP password has no place in them.
			return t, fmt.Errorf("must not carry a password (user:password@)")
		}
	}
	t.URI = uri
	return t, nil
}

// problems lists the routing settings that break their rule.
func (r Routing) problems() []problem {
	var ps []problem
	bad := func(key, format string, args ...any) { ps = append(ps, problem{key, fmt.Sprintf(format, args...)}) }
	if r.VoiceURI != "" {
		if _, err := ParseVoiceURI(r.VoiceURI); err != nil {
			bad("voice_uri", "%v, got %q", err, r.VoiceURI)
		}
		if r.VoiceURIID != 0 {
			bad("voice_uri_id", "must not be set with voice_uri (one or the other)")
		}
	}
	if r.BackupVoiceURI != "" {
		if _, err := ParseVoiceURI(r.BackupVoiceURI); err != nil {
			bad("backup_voice_uri", "%v, got %q", err, r.BackupVoiceURI)
		}
		if r.VoiceURI == "" {
			bad("backup_voice_uri", "needs voice_uri (the backup belongs to knm's voice URI)")
		}
	}
	for _, f := range []struct {
		key string
		v   int
	}{{"voice_uri_id", r.VoiceURIID}, {"trunk_id", r.TrunkID}, {"capacity_group_id", r.CapacityGroupID},
		{"sms_link_group_id", r.SMSLinkGroupID}, {"fax_uri_id", r.FaxURIID}, {"delivery_id", r.DeliveryID}} {
		if f.v < 0 {
			bad(f.key, "must be a positive id, got %d", f.v)
		}
	}
	for _, f := range []struct{ key, v string }{{"cli_format", r.CLIFormat}, {"cli_privacy", r.CLIPrivacy}} {
		if f.v != "" && !optionWordRE.MatchString(f.v) {
			bad(f.key, "must be a Voxbone option name in capitals (e.g. E164, DISABLED), got %q", f.v)
		}
	}
	if r.Ringback != "" && r.Ringback != "STANDARD" && r.Ringback != "RINGING" {
		bad("ringback", "must be STANDARD or RINGING, got %q", r.Ringback)
	}
	if r.BatchSize < 1 || r.BatchSize > MaxRoutingBatchSize {
		bad("routing_batch_size", "must be between 1 and %d, got %d", MaxRoutingBatchSize, r.BatchSize)
	}
	return ps
}

// configuration is the request that applies r to DIDs, the voice URI given as its id (0:
// the voice URI is left alone).
func (r Routing) configuration(voiceURIID int, didIDs []int) voxbone.DIDConfiguration {
	opt := func(v int) *int {
		if v == 0 {
			return nil
		}
		return &v
	}
	cfg := voxbone.DIDConfiguration{DIDIDs: didIDs, VoiceURIID: opt(voiceURIID), TrunkID: opt(r.TrunkID),
		CapacityGroupID: opt(r.CapacityGroupID), SMSLinkGroupID: opt(r.SMSLinkGroupID), FaxURIID: opt(r.FaxURIID),
		DeliveryID: opt(r.DeliveryID), CLIPrivacy: r.CLIPrivacy, Ringback: r.Ringback,
		SRVLookup: r.SRVLookup.Ptr(), DNISEnabled: r.DNISEnabled.Ptr()}
	if r.CLIFormat != "" {
		cfg.CallerID = &voxbone.CallerID{CLIFormat: r.CLIFormat}
	}
	return cfg
}

// logValue shows the routing settings (none is secret).
func (r Routing) logValue() slog.Value {
	return slog.GroupValue(
		slog.String("voice_uri", r.VoiceURI), slog.Int("voice_uri_id", r.VoiceURIID),
		slog.String("backup_voice_uri", r.BackupVoiceURI), slog.Int("trunk_id", r.TrunkID),
		slog.Int("capacity_group_id", r.CapacityGroupID), slog.Int("sms_link_group_id", r.SMSLinkGroupID),
		slog.Int("fax_uri_id", r.FaxURIID), slog.Int("delivery_id", r.DeliveryID),
		slog.String("cli_format", r.CLIFormat), slog.String("cli_privacy", r.CLIPrivacy),
		slog.String("ringback", r.Ringback), slog.String("srv_lookup", r.SRVLookup.String()),
		slog.String("dnis_enabled", r.DNISEnabled.String()), slog.Int("routing_batch_size", r.BatchSize),
	)
}

// Account documents (configs_number_manager.voxbone) may override the routing keys, and
// only those: writes are checked like system_config's.
func init() {
	config.RegisterAccountValidator(Category, func(_ context.Context, body json.RawMessage) error {
		_, err := AccountRouting(body, DefaultSettings().Routing)
		return err
	})
}

// AccountRouting applies an account's configs_number_manager.voxbone document (a flat
// object) over base and validates the result; a document without routing keys gives base.
func AccountRouting(body json.RawMessage, base Routing) (Routing, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return base, knm.Errorf(knm.ErrInvalid, "account %s: not a JSON object", config.AccountDocID(Category))
	}
	var list []string
	r := readRouting(func(key string) (json.RawMessage, error) { return doc[key], nil }, base,
		func(key string, err error) {
			if err != nil {
				list = append(list, err.Error())
			}
		})
	if len(list) == 0 {
		for _, p := range r.problems() {
			list = append(list, p.key+" "+p.rule)
		}
	}
	if len(list) > 0 {
		return base, knm.Errorf(knm.ErrInvalid, "invalid account %s: %s", config.AccountDocID(Category),
			strings.Join(list, "; "))
	}
	return r, nil
}
