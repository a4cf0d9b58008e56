package voxbone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
)

// Country is one entry of inventory/country (voxbone-api.md §3.1).
type Country struct {
	CountryCodeA3            string `json:"countryCodeA3"` // ISO 3166-1 alpha-3; WLD for iNum
	CountryName              string `json:"countryName"`   // upper case
	PhoneCode                int    `json:"phoneCode"`
	HasStates                bool   `json:"hasStates"`
	HasRegulationRequirement bool   `json:"hasRegulationRequirement"`
}

// ListCountriesOptions filters inventory/country.
type ListCountriesOptions struct {
	ListOptions
	CountryCodeA3 string
	DIDType       string // e.g. GEOGRAPHIC, TOLL_FREE
}

// State is a state or province of a country with states (USA, CAN).
type State struct {
	StateID       int    `json:"stateId"`
	StateName     string `json:"stateName"`
	StateCode     string `json:"stateCode"`
	CountryCodeA3 string `json:"countryCodeA3"`
}

// Restriction is a service, legal or purchase restriction of a country.
type Restriction struct {
	CountryCodeA3      string `json:"countryCodeA3"`
	RestrictionType    string `json:"restrictionType"` // SERVICE, LEGAL, PURCHASE
	RestrictionMessage string `json:"restrictionMessage"`
}

// Feature is a DID feature, e.g. 6 VoxFax, 25 VoxSMS, 50 Voice.
type Feature struct {
	FeatureID   int    `json:"featureId"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// RegulationRequirement says what address a DID group's numbers must be linked to.
type RegulationRequirement struct {
	AddressType   string `json:"addressType"` // WORLDWIDE, NATIONAL, LOCAL
	ProofRequired bool   `json:"proofRequired"`
}

// DIDGroup is the smallest set of DIDs sharing a city or area code: the unit of search,
// stock, price and ordering (voxbone-api.md §3.5). Prices are in cents.
type DIDGroup struct {
	DIDGroupID            int                    `json:"didGroupId"`
	CountryCodeA3         string                 `json:"countryCodeA3"`
	StateID               *int                   `json:"stateId"` // null outside USA/CAN
	DIDType               string                 `json:"didType"`
	CityName              *string                `json:"cityName"` // null for non-geographic groups
	AreaCode              string                 `json:"areaCode"`
	RateCenter            *string                `json:"rateCenter"`
	Stock                 int                    `json:"stock"`
	Setup100              int                    `json:"setup100"`
	Monthly100            int                    `json:"monthly100"`
	Available             bool                   `json:"available"`
	RegulationRequirement *RegulationRequirement `json:"regulationRequirement"`
	Features              []Feature              `json:"features"`
}

// ListDIDGroupsOptions filters inventory/didgroup. CountryCodeA3 is required.
type ListDIDGroupsOptions struct {
	ListOptions
	CountryCodeA3   string
	DIDGroupIDs     []int
	StateID         *int
	CityNamePattern string // SQL LIKE anchored at the start, e.g. "NEW YORK%"
	RateCenter      string
	AreaCode        string // sent verbatim, so a wildcard such as "88*" reaches the server
	DIDType         string
	ShowEmpty       *bool // nil: server default (hide groups without stock)
	FeatureIDs      []int
}

// CallerID is a DID's caller-id presentation.
type CallerID struct {
	CLIFormat string `json:"cliFormat"`
	CLIValue  string `json:"cliValue"`
}

// OtherOptions are a DID's SIP options. T38Enabled and DTMFInbandMute arrive as strings.
type OtherOptions struct {
	T38Enabled     FlexBool `json:"t38Enabled"`
	DTMF           string   `json:"dtmf"` // RFC2833, INBAND, RFC2833_INBAND
	DTMFInbandMute FlexBool `json:"dtmfInbandMute"`
	Codecs         []string `json:"codecs"`
}

// DID is a number in the account's own inventory (voxbone-api.md §3.6). Raw holds the
// object exactly as received, for callers that store the carrier's view.
type DID struct {
	DIDID                      int           `json:"didId"`
	E164                       string        `json:"e164"` // with a leading +
	Type                       string        `json:"type"` // the group's didType
	CountryCodeA3              string        `json:"countryCodeA3"`
	CityName                   *string       `json:"cityName"`
	AreaCode                   string        `json:"areaCode"`
	VoiceURIID                 *int          `json:"voiceUriId"`
	FaxURIID                   *int          `json:"faxUriId"`
	SMSLinkGroupID             *int          `json:"smsLinkGroupId"`
	OrderReference             *string       `json:"orderReference"`
	Channels                   int           `json:"channels"` // -1 = unlimited
	ChannelsOutbound           *int          `json:"channelsOutbound"`
	Delivery                   string        `json:"delivery"` // POP code, e.g. BE
	TrunkID                    *int          `json:"trunkId"`
	CapacityGroupID            *int          `json:"capacityGroupId"`
	DIDGroupID                 int           `json:"didGroupId"`
	RegulationAddressID        *int          `json:"regulationAddressId"`
	SRVLookup                  bool          `json:"srvLookup"`
	CallerID                   *CallerID     `json:"callerId"`
	CLIPrivacy                 string        `json:"cliPrivacy"`
	OtherOptions               *OtherOptions `json:"otherOptions"`
	Ringback                   string        `json:"ringback"`
	DNISEnabled                FlexBool      `json:"dnisEnabled"` // a string on the wire
	BlockOrdinary              bool          `json:"blockOrdinary"`
	BlockCellular              bool          `json:"blockCellular"`
	BlockPayphone              bool          `json:"blockPayphone"`
	SMSOutbound                bool          `json:"smsOutbound"`
	WebRTC                     bool          `json:"webRtc"`
	VoxoutNational             string        `json:"voxoutNational"`
	VoxoutInternationalEnabled bool          `json:"voxoutInternationalEnabled"`
	CancellationAvailable      *string       `json:"cancellationAvailable"` // dd/MM/yyyy

	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes d and keeps a copy of the raw object in d.Raw.
func (d *DID) UnmarshalJSON(data []byte) error {
	type plain DID
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*d = DID(p)
	d.Raw = append(json.RawMessage(nil), data...)
	return nil
}

// ListDIDsOptions filters inventory/did. All filters are optional.
type ListDIDsOptions struct {
	ListOptions
	DIDIDs                     []int
	DIDGroupIDs                []int
	E164Pattern                string // "+12565550100" (substring) or "%25..." style LIKE with %
	RegulationAddressID        *int
	VoiceURIID                 *int
	FaxURIID                   *int
	SMSLinkGroupID             *int
	DeliveryID                 *int
	NeedAddressLink            *bool
	ServiceType                string // VOX800, VOXDID
	CountryCodeA3              string
	OrderReference             string
	PortingReference           string
	SMSOutbound                *bool
	WebRTCEnabled              *bool
	VoxoutNationalEnabled      *bool
	VoxoutInternationalEnabled *bool
}

// CreditPackage is a prepaid credit product; Price100 is in cents.
type CreditPackage struct {
	CreditPackageID int    `json:"creditPackageId"`
	Name            string `json:"name"`
	Price100        int    `json:"price100"`
}

// Trunk is a SIP trunk of the account.
type Trunk struct {
	TrunkID          int    `json:"trunkId"`
	Zone             string `json:"zone"`
	Capacity         int    `json:"capacity"`
	Description      string `json:"description"`
	CountDIDsOnTrunk int    `json:"countDidsOnTrunk"`
}

// ListCountries calls GET inventory/country and returns one page and the total count.
func (c *Client) ListCountries(ctx context.Context, opts ListCountriesOptions) ([]Country, int, error) {
	q, _, err := c.pageQuery(opts.ListOptions)
	if err != nil {
		return nil, 0, fmt.Errorf("voxbone: list countries: %w", err)
	}
	setString(q, "countryCodeA3", opts.CountryCodeA3)
	setString(q, "didType", opts.DIDType)
	var resp struct {
		Countries   []Country `json:"countries"`
		ResultCount int       `json:"resultCount"`
	}
	r := &request{method: "GET", segments: []string{"inventory", "country"}, endpoint: "GET inventory/country",
		query: q, retry: true}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, 0, fmt.Errorf("voxbone: list countries: %w", err)
	}
	return resp.Countries, resp.ResultCount, nil
}

// AllCountries follows the pages of GET inventory/country from opts.PageNumber to the end.
func (c *Client) AllCountries(ctx context.Context, opts ListCountriesOptions) iter.Seq2[Country, error] {
	return paginate(ctx, c, opts.ListOptions, pageOf(opts, c.ListCountries))
}

// GetCountry calls GET inventory/country/{countryCodeA3}. It returns an error matching
// ErrNotFound when the answer holds no country.
func (c *Client) GetCountry(ctx context.Context, countryCodeA3 string) (*Country, error) {
	if err := checkA3(countryCodeA3); err != nil {
		return nil, fmt.Errorf("voxbone: get country: %w", err)
	}
	var resp struct {
		Countries []Country `json:"countries"`
	}
	r := &request{method: "GET", segments: []string{"inventory", "country", countryCodeA3},
		endpoint: "GET inventory/country/{countryCodeA3}", retry: true}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, fmt.Errorf("voxbone: get country %s: %w", countryCodeA3, err)
	}
	if len(resp.Countries) == 0 {
		return nil, fmt.Errorf("voxbone: get country %s: %w", countryCodeA3, ErrNotFound)
	}
	return &resp.Countries[0], nil
}

// ListStates calls GET inventory/country/{countryCodeA3}/state (USA and CAN only).
func (c *Client) ListStates(ctx context.Context, countryCodeA3 string) ([]State, error) {
	if err := checkA3(countryCodeA3); err != nil {
		return nil, fmt.Errorf("voxbone: list states: %w", err)
	}
	var resp struct {
		States []State `json:"states"`
	}
	r := &request{method: "GET", segments: []string{"inventory", "country", countryCodeA3, "state"},
		endpoint: "GET inventory/country/{countryCodeA3}/state", retry: true}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, fmt.Errorf("voxbone: list states of %s: %w", countryCodeA3, err)
	}
	return resp.States, nil
}

// ListRestrictions calls GET inventory/country/{countryCodeA3}/restriction.
func (c *Client) ListRestrictions(ctx context.Context, countryCodeA3 string) ([]Restriction, error) {
	if err := checkA3(countryCodeA3); err != nil {
		return nil, fmt.Errorf("voxbone: list restrictions: %w", err)
	}
	var resp struct {
		Restrictions []Restriction `json:"restrictions"`
	}
	r := &request{method: "GET", segments: []string{"inventory", "country", countryCodeA3, "restriction"},
		endpoint: "GET inventory/country/{countryCodeA3}/restriction", retry: true}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, fmt.Errorf("voxbone: list restrictions of %s: %w", countryCodeA3, err)
	}
	return resp.Restrictions, nil
}

// ListDIDGroups calls GET inventory/didgroup and returns one page and the total count.
func (c *Client) ListDIDGroups(ctx context.Context, opts ListDIDGroupsOptions) ([]DIDGroup, int, error) {
	q, _, err := c.pageQuery(opts.ListOptions)
	if err == nil {
		err = checkA3(opts.CountryCodeA3)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("voxbone: list DID groups: %w", err)
	}
	q.Set("countryCodeA3", opts.CountryCodeA3)
	addInts(q, "didGroupIds", opts.DIDGroupIDs)
	setInt(q, "stateId", opts.StateID)
	setString(q, "cityNamePattern", opts.CityNamePattern)
	setString(q, "rateCenter", opts.RateCenter)
	setString(q, "areaCode", opts.AreaCode)
	setString(q, "didType", opts.DIDType)
	setBool(q, "showEmpty", opts.ShowEmpty)
	addInts(q, "featureIds", opts.FeatureIDs)
	var resp struct {
		DIDGroups   []DIDGroup `json:"didGroups"`
		ResultCount int        `json:"resultCount"`
	}
	r := &request{method: "GET", segments: []string{"inventory", "didgroup"}, endpoint: "GET inventory/didgroup",
		query: q, retry: true}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, 0, fmt.Errorf("voxbone: list DID groups of %s: %w", opts.CountryCodeA3, err)
	}
	return resp.DIDGroups, resp.ResultCount, nil
}

// AllDIDGroups follows the pages of GET inventory/didgroup from opts.PageNumber to the end.
func (c *Client) AllDIDGroups(ctx context.Context, opts ListDIDGroupsOptions) iter.Seq2[DIDGroup, error] {
	return paginate(ctx, c, opts.ListOptions, pageOf(opts, c.ListDIDGroups))
}

// ListAllDIDGroups collects every page of GET inventory/didgroup, up to WithPageWorkers
// pages at once.
func (c *Client) ListAllDIDGroups(ctx context.Context, opts ListDIDGroupsOptions) ([]DIDGroup, error) {
	return collectPages(ctx, c, opts.ListOptions, pageOf(opts, c.ListDIDGroups))
}

// ListDIDs calls GET inventory/did and returns one page and the total count.
func (c *Client) ListDIDs(ctx context.Context, opts ListDIDsOptions) ([]DID, int, error) {
	q, _, err := c.pageQuery(opts.ListOptions)
	if err != nil {
		return nil, 0, fmt.Errorf("voxbone: list DIDs: %w", err)
	}
	addInts(q, "didIds", opts.DIDIDs)
	addInts(q, "didGroupIds", opts.DIDGroupIDs)
	setString(q, "e164Pattern", opts.E164Pattern)
	setInt(q, "regulationAddressId", opts.RegulationAddressID)
	setInt(q, "voiceUriId", opts.VoiceURIID)
	setInt(q, "faxUriId", opts.FaxURIID)
	setInt(q, "smsLinkGroupId", opts.SMSLinkGroupID)
	setInt(q, "deliveryId", opts.DeliveryID)
	setBool(q, "needAddressLink", opts.NeedAddressLink)
	setString(q, "serviceType", opts.ServiceType)
	setString(q, "countryCodeA3", opts.CountryCodeA3)
	setString(q, "orderReference", opts.OrderReference)
	setString(q, "portingReference", opts.PortingReference)
	setBool(q, "smsOutbound", opts.SMSOutbound)
	setBool(q, "webRtcEnabled", opts.WebRTCEnabled)
	setBool(q, "voxoutNationalEnabled", opts.VoxoutNationalEnabled)
	setBool(q, "voxoutInternationalEnabled", opts.VoxoutInternationalEnabled)
	var resp struct {
		DIDs        []DID `json:"dids"`
		ResultCount int   `json:"resultCount"`
	}
	r := &request{method: "GET", segments: []string{"inventory", "did"}, endpoint: "GET inventory/did", query: q,
		retry: true}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, 0, fmt.Errorf("voxbone: list DIDs%s: %w", describeDIDFilter(opts), err)
	}
	return resp.DIDs, resp.ResultCount, nil
}

// describeDIDFilter names the most telling filter of a DID listing for error messages.
func describeDIDFilter(o ListDIDsOptions) string {
	switch {
	case o.OrderReference != "":
		return " of order " + o.OrderReference
	case o.E164Pattern != "":
		return " matching " + o.E164Pattern
	default:
		return ""
	}
}

// AllDIDs follows the pages of GET inventory/did from opts.PageNumber to the end.
func (c *Client) AllDIDs(ctx context.Context, opts ListDIDsOptions) iter.Seq2[DID, error] {
	return paginate(ctx, c, opts.ListOptions, pageOf(opts, c.ListDIDs))
}

// ListAllDIDs collects every page of GET inventory/did.
func (c *Client) ListAllDIDs(ctx context.Context, opts ListDIDsOptions) ([]DID, error) {
	return collect(c.AllDIDs(ctx, opts))
}

// ListFeatures calls GET inventory/feature.
func (c *Client) ListFeatures(ctx context.Context) ([]Feature, error) {
	var resp struct {
		Features []Feature `json:"features"`
	}
	r := &request{method: "GET", segments: []string{"inventory", "feature"}, endpoint: "GET inventory/feature",
		retry: true}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, fmt.Errorf("voxbone: list features: %w", err)
	}
	return resp.Features, nil
}

// ListCreditPackages calls GET inventory/creditpackage.
func (c *Client) ListCreditPackages(ctx context.Context) ([]CreditPackage, error) {
	var resp struct {
		CreditPackages []CreditPackage `json:"creditPackages"`
	}
	r := &request{method: "GET", segments: []string{"inventory", "creditpackage"},
		endpoint: "GET inventory/creditpackage", retry: true}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, fmt.Errorf("voxbone: list credit packages: %w", err)
	}
	return resp.CreditPackages, nil
}

// ListTrunks calls GET inventory/trunk.
func (c *Client) ListTrunks(ctx context.Context) ([]Trunk, error) {
	var resp struct {
		Trunks []Trunk `json:"trunks"`
	}
	r := &request{method: "GET", segments: []string{"inventory", "trunk"}, endpoint: "GET inventory/trunk", retry: true}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, fmt.Errorf("voxbone: list trunks: %w", err)
	}
	return resp.Trunks, nil
}

// ListZones calls GET inventory/zone and returns the capacity zone names. (The response
// key is the singular "zone".)
func (c *Client) ListZones(ctx context.Context) ([]string, error) {
	var resp struct {
		Zone []string `json:"zone"`
	}
	r := &request{method: "GET", segments: []string{"inventory", "zone"}, endpoint: "GET inventory/zone", retry: true}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, fmt.Errorf("voxbone: list zones: %w", err)
	}
	return resp.Zone, nil
}

// checkA3 rejects country codes that are not three letters before they reach a URL path.
func checkA3(a3 string) error {
	notLetter := func(r rune) bool { return r < 'A' || r > 'Z' && r < 'a' || r > 'z' }
	if len(a3) != 3 || strings.IndexFunc(a3, notLetter) >= 0 {
		return errors.New("country code must be ISO 3166-1 alpha-3 (e.g. USA)")
	}
	return nil
}
