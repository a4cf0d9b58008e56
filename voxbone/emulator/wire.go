package emulator

// Wire types of the Voxbone REST API v3, spelt exactly as voxbone-api.md and the recorded
// fixtures spell them. They are defined here, not shared with the client package, so that a
// misspelt field in either package shows up as a test failure instead of cancelling out.
// Nullable fields are pointers so that they serialise as JSON null like the real API.

// Country is one entry of GET inventory/country.
type Country struct {
	CountryCodeA3            string `json:"countryCodeA3"`
	CountryName              string `json:"countryName"`
	PhoneCode                int    `json:"phoneCode"`
	HasStates                bool   `json:"hasStates"`
	HasRegulationRequirement bool   `json:"hasRegulationRequirement"`
}

// State is one entry of GET inventory/country/{a3}/state.
type State struct {
	StateID       int    `json:"stateId"`
	StateName     string `json:"stateName"`
	StateCode     string `json:"stateCode"`
	CountryCodeA3 string `json:"countryCodeA3"`
}

// Restriction is one entry of GET inventory/country/{a3}/restriction.
type Restriction struct {
	CountryCodeA3      string `json:"countryCodeA3"`
	RestrictionType    string `json:"restrictionType"`
	RestrictionMessage string `json:"restrictionMessage"`
}

// Feature is a DID-group feature (VoxFax, Voice, VoxSMS, …).
type Feature struct {
	FeatureID   int    `json:"featureId"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// RegulationRequirement says which address a DID group's numbers must be linked to.
type RegulationRequirement struct {
	AddressType   string `json:"addressType"`
	ProofRequired bool   `json:"proofRequired"`
}

// DIDGroup is a DID group of the catalogue, with its mutable stock.
type DIDGroup struct {
	DIDGroupID            int                    `json:"didGroupId"`
	CountryCodeA3         string                 `json:"countryCodeA3"`
	StateID               *int                   `json:"stateId"`
	DIDType               string                 `json:"didType"`
	CityName              *string                `json:"cityName"`
	AreaCode              string                 `json:"areaCode"`
	RateCenter            *string                `json:"rateCenter"`
	Stock                 int                    `json:"stock"`
	Setup100              int                    `json:"setup100"`
	Monthly100            int                    `json:"monthly100"`
	Available             bool                   `json:"available"`
	RegulationRequirement *RegulationRequirement `json:"regulationRequirement"`
	Features              []Feature              `json:"features"`
}

// CallerID is the caller-id setting of a DID.
type CallerID struct {
	CLIFormat string `json:"cliFormat"`
	CLIValue  string `json:"cliValue"`
}

// OtherOptions holds a DID's media options; the two booleans are strings on the wire.
type OtherOptions struct {
	T38Enabled     string   `json:"t38Enabled"`
	DTMF           string   `json:"dtmf"`
	DTMFInbandMute string   `json:"dtmfInbandMute"`
	Codecs         []string `json:"codecs"`
}

// DID is a number of the account, as GET inventory/did returns it.
type DID struct {
	DIDID                      int          `json:"didId"`
	E164                       string       `json:"e164"`
	Type                       string       `json:"type"`
	CountryCodeA3              string       `json:"countryCodeA3"`
	CityName                   *string      `json:"cityName"`
	AreaCode                   string       `json:"areaCode"`
	VoiceURIID                 *int         `json:"voiceUriId"`
	FaxURIID                   *int         `json:"faxUriId"`
	SMSLinkGroupID             *int         `json:"smsLinkGroupId"`
	OrderReference             *string      `json:"orderReference"`
	Channels                   int          `json:"channels"`
	ChannelsOutbound           int          `json:"channelsOutbound"`
	Delivery                   string       `json:"delivery"`
	TrunkID                    *int         `json:"trunkId"`
	CapacityGroupID            *int         `json:"capacityGroupId"`
	DIDGroupID                 int          `json:"didGroupId"`
	RegulationAddressID        *int         `json:"regulationAddressId"`
	SRVLookup                  bool         `json:"srvLookup"`
	CallerID                   CallerID     `json:"callerId"`
	CLIPrivacy                 string       `json:"cliPrivacy"`
	OtherOptions               OtherOptions `json:"otherOptions"`
	Ringback                   string       `json:"ringback"`
	DNISEnabled                string       `json:"dnisEnabled"`
	BlockOrdinary              bool         `json:"blockOrdinary"`
	BlockCellular              bool         `json:"blockCellular"`
	BlockPayphone              bool         `json:"blockPayphone"`
	SMSOutbound                bool         `json:"smsOutbound"`
	WebRTC                     bool         `json:"webRtc"`
	VoxoutNational             string       `json:"voxoutNational"`
	VoxoutInternationalEnabled bool         `json:"voxoutInternationalEnabled"`
	CancellationAvailable      string       `json:"cancellationAvailable"`
}

// OrderProduct is one line of a cart; note the lower-case g of didgroupId.
type OrderProduct struct {
	OrderProductID     int    `json:"orderProductId"`
	ProductType        string `json:"productType"`
	ProductDescription string `json:"productDescription"`
	Quantity           int    `json:"quantity"`
	DIDgroupID         *int   `json:"didgroupId"`
}

// Cart is a shopping cart; OrderProducts is nil (JSON null) when the cart is empty.
type Cart struct {
	CartIdentifier    int            `json:"cartIdentifier"`
	CustomerReference string         `json:"customerReference"`
	Description       string         `json:"description"`
	DateAdded         string         `json:"dateAdded"`
	OrderProducts     []OrderProduct `json:"orderProducts"`
}

// Order is an order placed by a checkout, one per product type of the cart.
type Order struct {
	OrderID           int     `json:"orderId"`
	Reference         string  `json:"reference"`
	DateAdded         string  `json:"dateAdded"`
	DateCanceled      *string `json:"dateCanceled"`
	Status            string  `json:"status"`
	CustomerReference string  `json:"customerReference"`
}

// ProductCheckout is one entry of a checkout's productCheckoutList.
type ProductCheckout struct {
	ProductType    string  `json:"productType"`
	Status         string  `json:"status"`
	OrderReference string  `json:"orderReference"`
	Message        *string `json:"message"`
}

// VoiceURI is a voice URI of configuration/voiceuri.
type VoiceURI struct {
	VoiceURIID       int     `json:"voiceUriId"`
	BackupURIID      *int    `json:"backupUriId"`
	BackupURI        *string `json:"backupUri"`
	VoiceURIProtocol string  `json:"voiceUriProtocol"`
	URI              string  `json:"uri"`
	Description      string  `json:"description"`
}

// Trunk is one entry of GET inventory/trunk.
type Trunk struct {
	TrunkID          int    `json:"trunkId"`
	Zone             string `json:"zone"`
	Capacity         int    `json:"capacity"`
	Description      string `json:"description"`
	CountDIDsOnTrunk int    `json:"countDidsOnTrunk"`
}

// CreditPackage is one entry of GET inventory/creditpackage.
type CreditPackage struct {
	CreditPackageID int    `json:"creditPackageId"`
	Name            string `json:"name"`
	Price100        int    `json:"price100"`
}

// AccountBalance is the body of GET ordering/accountbalance under "accountBalance".
type AccountBalance struct {
	Balance   float64 `json:"balance"`
	Threshold float64 `json:"threshold"`
	Currency  string  `json:"currency"`
	Active    bool    `json:"active"`
}

// apiError is the Voxbone error envelope; errors is an array and codes are digit strings.
type apiError struct {
	HTTPStatusCode      int             `json:"httpStatusCode"`
	APIModule           string          `json:"apiModule"`
	GenericErrorMessage string          `json:"genericErrorMessage"`
	Errors              []apiErrorEntry `json:"errors"`
}

type apiErrorEntry struct {
	APIErrorCode    string `json:"apiErrorCode"`
	APIErrorMessage string `json:"apiErrorMessage"`
}

func ptr[T any](v T) *T { return &v }
