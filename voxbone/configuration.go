package voxbone

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
)

// VoiceURI is where calls to a DID are delivered (voxbone-api.md §5.1). A VoiceURI without
// VoiceURIID is created by SaveVoiceURI; one with an id is updated.
type VoiceURI struct {
	VoiceURIID       *int    `json:"voiceUriId,omitempty"`
	BackupURIID      *int    `json:"backupUriId,omitempty"`
	BackupURI        *string `json:"backupUri,omitempty"`
	VoiceURIProtocol string  `json:"voiceUriProtocol"` // SIP or TEL
	URI              string  `json:"uri"`
	Description      string  `json:"description,omitempty"`
}

// ListVoiceURIsOptions filters configuration/voiceuri.
type ListVoiceURIsOptions struct {
	ListOptions
	VoiceURIID       *int
	BackupURIID      *int
	VoiceURIProtocol string
	URI              string
	Description      string
}

// PeerOptions are the SIP options of a DID configuration.
type PeerOptions struct {
	T38Enabled     *bool    `json:"t38Enabled,omitempty"`
	DTMF           string   `json:"dtmf,omitempty"`
	DTMFInbandMute *bool    `json:"dtmfInbandMute,omitempty"`
	Codecs         []string `json:"codecs,omitempty"`
}

// DIDConfiguration is the body of POST configuration/configuration: the options to apply
// to every DID in DIDIDs. Nil and empty fields are left out and so left unchanged. If one
// DID fails, none is configured (all or nothing, per the API documentation).
type DIDConfiguration struct {
	DIDIDs          []int        `json:"didIds"`
	VoiceURIID      *int         `json:"voiceUriId,omitempty"`
	SMSLinkGroupID  *int         `json:"smsLinkGroupId,omitempty"`
	FaxURIID        *int         `json:"faxUriId,omitempty"`
	VoxFaxEnabled   *bool        `json:"voxFaxEnabled,omitempty"`
	CapacityGroupID *int         `json:"capacityGroupId,omitempty"`
	TrunkID         *int         `json:"trunkId,omitempty"`
	DeliveryID      *int         `json:"deliveryId,omitempty"`
	SRVLookup       *bool        `json:"srvLookup,omitempty"`
	CallerID        *CallerID    `json:"callerId,omitempty"`
	CLIPrivacy      string       `json:"cliPrivacy,omitempty"`
	Peer            *PeerOptions `json:"peer,omitempty"`
	Ringback        string       `json:"ringback,omitempty"`
	DNISEnabled     *bool        `json:"dnisEnabled,omitempty"`
	BlockOrdinary   *bool        `json:"blockOrdinary,omitempty"`
	BlockCellular   *bool        `json:"blockCellular,omitempty"`
	BlockPayphone   *bool        `json:"blockPayphone,omitempty"`
	SMSOutbound     *bool        `json:"smsOutbound,omitempty"`
	WebRTCEnabled   *bool        `json:"webRtcEnabled,omitempty"`
	LimitChannels   *int         `json:"limitChannels,omitempty"`
}

// ConfigurationMessage reports how many DIDs one option was applied to.
type ConfigurationMessage struct {
	ConfigOption  string `json:"configOption"`
	NumberUpdated int    `json:"numberUpdated"`
}

// ListVoiceURIs calls GET configuration/voiceuri and returns one page and the total count.
func (c *Client) ListVoiceURIs(ctx context.Context, opts ListVoiceURIsOptions) ([]VoiceURI, int, error) {
	q, _, err := c.pageQuery(opts.ListOptions)
	if err != nil {
		return nil, 0, fmt.Errorf("voxbone: list voice URIs: %w", err)
	}
	setInt(q, "voiceUriId", opts.VoiceURIID)
	setInt(q, "backupUriId", opts.BackupURIID)
	setString(q, "voiceUriProtocol", opts.VoiceURIProtocol)
	setString(q, "uri", opts.URI)
	setString(q, "description", opts.Description)
	var resp struct {
		VoiceURIs   []VoiceURI `json:"voiceUris"`
		ResultCount int        `json:"resultCount"`
	}
	r := &request{method: "GET", segments: []string{"configuration", "voiceuri"},
		endpoint: "GET configuration/voiceuri", query: q, retry: true}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, 0, fmt.Errorf("voxbone: list voice URIs: %w", err)
	}
	return resp.VoiceURIs, resp.ResultCount, nil
}

// AllVoiceURIs follows the pages of GET configuration/voiceuri from opts.PageNumber on.
func (c *Client) AllVoiceURIs(ctx context.Context, opts ListVoiceURIsOptions) iter.Seq2[VoiceURI, error] {
	return paginate(ctx, c, opts.ListOptions, pageOf(opts, c.ListVoiceURIs))
}

// SaveVoiceURI calls PUT configuration/voiceuri, creating the voice URI when it has no id
// and updating it otherwise, and returns it as stored. Never retried: a repeated create
// would make a duplicate (error 326 VOICE_URI_DUPLICATE at best).
func (c *Client) SaveVoiceURI(ctx context.Context, v VoiceURI) (*VoiceURI, error) {
	if v.URI == "" || v.VoiceURIProtocol == "" {
		return nil, errors.New("voxbone: save voice URI: uri and voiceUriProtocol are required")
	}
	body := struct {
		VoiceURI VoiceURI `json:"voiceUri"`
	}{v}
	var resp struct {
		VoiceURI VoiceURI `json:"voiceUri"`
	}
	r := &request{method: "PUT", segments: []string{"configuration", "voiceuri"},
		endpoint: "PUT configuration/voiceuri", body: body}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, fmt.Errorf("voxbone: save voice URI %s: %w", v.URI, err)
	}
	return &resp.VoiceURI, nil
}

// ConfigureDIDs calls POST configuration/configuration and returns, per option, how many
// DIDs were updated. Never retried.
func (c *Client) ConfigureDIDs(ctx context.Context, cfg DIDConfiguration) ([]ConfigurationMessage, error) {
	if len(cfg.DIDIDs) == 0 {
		return nil, errors.New("voxbone: configure DIDs: no DID ids")
	}
	var resp struct {
		Messages []ConfigurationMessage `json:"messages"`
	}
	r := &request{method: "POST", segments: []string{"configuration", "configuration"},
		endpoint: "POST configuration/configuration", body: cfg}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, fmt.Errorf("voxbone: configure DIDs %v: %w", cfg.DIDIDs, err)
	}
	return resp.Messages, nil
}

// GetVoiceURI calls GET configuration/voiceuri/{voiceUriId}.
func (c *Client) GetVoiceURI(ctx context.Context, id int) (*VoiceURI, error) {
	if err := checkID("voice URI id", id); err != nil {
		return nil, fmt.Errorf("voxbone: get voice URI: %w", err)
	}
	var resp struct {
		VoiceURI VoiceURI `json:"voiceUri"`
	}
	r := &request{method: "GET", segments: []string{"configuration", "voiceuri", strconv.Itoa(id)},
		endpoint: "GET configuration/voiceuri/{voiceUriId}", retry: true}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, fmt.Errorf("voxbone: get voice URI %d: %w", id, err)
	}
	return &resp.VoiceURI, nil
}

// DeleteVoiceURI calls DELETE configuration/voiceuri/{voiceUriId}. Voxbone refuses (error
// 328 VOICE_URI_MAPPED) while a DID uses it. Never retried: a repeat of a delete that
// happened answers 301.
func (c *Client) DeleteVoiceURI(ctx context.Context, id int) error {
	if err := checkID("voice URI id", id); err != nil {
		return fmt.Errorf("voxbone: delete voice URI: %w", err)
	}
	var resp statusResponse
	r := &request{method: "DELETE", segments: []string{"configuration", "voiceuri", strconv.Itoa(id)},
		endpoint: "DELETE configuration/voiceuri/{voiceUriId}"}
	err := c.do(ctx, r, &resp)
	if err == nil {
		err = resp.check()
	}
	if err != nil {
		return fmt.Errorf("voxbone: delete voice URI %d: %w", id, err)
	}
	return nil
}

// FindVoiceURI returns the voice URI with exactly this protocol and URI, or nil. The uri
// filter of GET configuration/voiceuri matches substrings, so every page of the filtered
// list is read and compared exactly.
func (c *Client) FindVoiceURI(ctx context.Context, protocol, uri string) (*VoiceURI, error) {
	for v, err := range c.AllVoiceURIs(ctx, ListVoiceURIsOptions{VoiceURIProtocol: protocol, URI: uri}) {
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(v.VoiceURIProtocol, protocol) && v.URI == uri {
			return &v, nil
		}
	}
	return nil, nil
}
