package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// handler serves one endpoint with e.mu held. A non-nil error is a *failure.
type handler func(e *Emulator, q *request) (any, error)

// route is one path pattern ("*" matches any segment) with its handlers by method.
type route struct {
	pattern  []string
	methods  map[string]string // HTTP method -> endpoint name
	handlers map[string]handler
}

var routes = []*route{
	r1("inventory/country", "GET", "country.list", (*Emulator).listCountries),
	r1("inventory/country/*", "GET", "country.get", (*Emulator).getCountry),
	r1("inventory/country/*/state", "GET", "state.list", (*Emulator).listStates),
	r1("inventory/country/*/restriction", "GET", "restriction.list", (*Emulator).listRestrictions),
	r1("inventory/didgroup", "GET", "didgroup.list", (*Emulator).listDIDGroups),
	r1("inventory/did", "GET", "did.list", (*Emulator).listDIDs),
	r1("inventory/feature", "GET", "feature.list", (*Emulator).listFeatures),
	r1("inventory/creditpackage", "GET", "creditpackage.list", (*Emulator).listCreditPackages),
	r1("inventory/trunk", "GET", "trunk.list", (*Emulator).listTrunks),
	r1("inventory/zone", "GET", "zone.list", (*Emulator).listZones),
	r1("ordering/accountbalance", "GET", "accountbalance", (*Emulator).accountBalance),
	r1("ordering/cart", "PUT", "cart.create", (*Emulator).createCart).
		and("GET", "cart.list", (*Emulator).listCarts),
	r1("ordering/cart/*", "GET", "cart.get", (*Emulator).getCart).
		and("DELETE", "cart.delete", (*Emulator).deleteCart),
	r1("ordering/cart/*/product", "POST", "cart.add", (*Emulator).addToCart),
	r1("ordering/cart/*/product/*", "POST", "cart.remove", (*Emulator).removeFromCart),
	r1("ordering/cart/*/checkout", "GET", "cart.checkout", (*Emulator).checkout),
	r1("ordering/order", "GET", "order.list", (*Emulator).listOrders),
	// Early Kazoo sent DELETE with a JSON body; POST is canonical (voxbone-api.md §4.9).
	r1("ordering/cancel", "POST", "cancel", (*Emulator).cancelDIDs).
		and("DELETE", "cancel", (*Emulator).cancelDIDs),
	r1("configuration/voiceuri", "GET", "voiceuri.list", (*Emulator).listVoiceURIs).
		and("PUT", "voiceuri.save", (*Emulator).saveVoiceURI),
	r1("configuration/voiceuri/*", "GET", "voiceuri.get", (*Emulator).getVoiceURI).
		and("DELETE", "voiceuri.delete", (*Emulator).deleteVoiceURI),
	r1("configuration/configuration", "POST", "configuration", (*Emulator).configure),
}

func r1(pattern, method, endpoint string, h handler) *route {
	rt := &route{pattern: splitPattern(pattern), methods: map[string]string{}, handlers: map[string]handler{}}
	return rt.and(method, endpoint, h)
}

func (rt *route) and(method, endpoint string, h handler) *route {
	rt.methods[method] = endpoint
	rt.handlers[endpoint] = h
	return rt
}

func splitPattern(p string) []string {
	segs, _ := splitPath(BasePath + p)
	return segs
}

// match finds the route of a path; endpoint is "" unless the method matches too.
func match(method string, segs []string, routed bool) (rt *route, endpoint string, methodOK bool) {
	if !routed {
		return nil, "", false
	}
	for _, cand := range routes {
		if len(cand.pattern) != len(segs) {
			continue
		}
		ok := true
		for i, p := range cand.pattern {
			if p != "*" && p != segs[i] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		ep, found := cand.methods[method]
		return cand, ep, found
	}
	return nil, "", false
}

// failure is an API error: an HTTP status plus one Voxbone apiErrorCode.
type failure struct {
	status, code int
	msg          string
}

func (f *failure) Error() string { return fmt.Sprintf("voxbone error %d: %s", f.code, f.msg) }

// invalid returns the 400 failure of an error code, with its catalogue text or msg.
func invalid(code int, msg ...any) error {
	text := errorText[code]
	if len(msg) > 0 {
		text = fmt.Sprint(msg...)
	}
	return &failure{status: http.StatusBadRequest, code: code, msg: text}
}

func asFailure(err error) *failure {
	var f *failure
	if errors.As(err, &f) {
		return f
	}
	return &failure{status: http.StatusInternalServerError, code: 0, msg: err.Error()}
}

// errorText holds the apiErrorMessage of each code, after voxbone-api.md §6.3.
var errorText = map[int]string{
	10:  "WRONG_DATE_FORMAT: dates must be formatted 'YYYY-MM-DD HH:MM:SS'.",
	11:  "The page number must be a positive integer.",
	12:  "WRONG_PAGE_SIZE: The page size must be a positive integer with a maximum of 5000",
	13:  "PAGINATION_OVERFLOW: the given page does not exist.",
	14:  "ILLEGAL_ARGUMENT: Illegal value.",
	16:  "FIELD_REQUIRED: A required field is missing.",
	17:  "ILLEGAL_NUMBER_VALUE: The value must be a number.",
	18:  "ILLEGAL_BOOLEAN_VALUE: The value must be true or false.",
	20:  "ILLEGAL_VALUE_JSON: Illegal value in the JSON body, use double quotes if the value is a string.",
	23:  "ILLEGAL_REQUEST_TYPE: This request type is not allowed for this URL.",
	26:  "EMPTY_REQUEST_BODY: The request body is empty.",
	300: "INVALID_DID: The DID does not exist or is not owned by the user.",
	301: "INVALID_VOICE_URI: The voice URI does not exist.",
	307: "INVALID_TRUNK: The trunk does not exist.",
	316: "NO_VALID_DID_FOUND: No valid DID was found in the request.",
	328: "VOICE_URI_MAPPED: The voice URI is still used by DIDs.",
	343: "DUPLICATES_IN_DIDS_ID: The list of DID ids holds duplicates.",
	360: "BULK_DID_CONFIGURATION_LIMIT_EXCEEDED: Too many DIDs in one configuration request.",
	326: "VOICE_URI_DUPLICATE: A voice URI with this protocol and URI already exists.",
	400: "INVALID_CART_IDENTIFIER: The cart identifier is invalid.",
	401: "NO_PRODUCT_DETECTED: No product was detected in the request.",
	402: "MULTIPLE_PRODUCT_DETECTED: Only one product can be added per addToCart request.",
	403: "INVALID_DIDGROUP_ID: The system could not find the requested didgroup. " +
		"Please use the 'List didgroup' operation to retrieve a valid didgroup id.",
	404: "UNAVAILABLE_DIDGROUP: The requested didgroup is not available.",
	405: "INVALID_QUANTITY: The quantity must be a strictly positive integer.",
	406: "INVALID_CAPACITY_QUANTITY: The capacity quantity must be a positive multiple of 10.",
	407: "INVALID_CREDIT_PACKAGE_ID: The credit package does not exist.",
	409: "PRODUCT_VALIDATION_ERROR: The system could not validate your order, no order has been placed.",
	410: "INVALID_PRODUCT_ID: The order product does not exist in this cart.",
	411: "INVALID_REMOVE_QUANTITY: The quantity to remove must be a strictly positive integer.",
	412: "INVALID_REMOVE_CAPACITY_QUANTITY: The capacity quantity to remove must be a positive multiple of 10.",
	413: "INVALID_REMOVE_QUANTITY_TOO_BIG: The quantity to remove is bigger than the quantity currently in your cart.",
	414: "INVALID_DID_ID: The DID does not exist or is not owned by the user.",
	416: "CUSTOMER_REFERENCE_TOO_LONG: The customer reference must be at most 255 characters.",
}

var genericText = map[int]string{
	http.StatusBadRequest:          "The request is invalid.",
	http.StatusUnauthorized:        "Unauthorized.",
	http.StatusNotFound:            "Not found.",
	http.StatusMethodNotAllowed:    "Method not allowed.",
	http.StatusTooManyRequests:     "Too many requests.",
	509:                            "Bandwidth exceeded.",
	http.StatusInternalServerError: "Internal server error.",
}

// envelope builds the Voxbone error body (voxbone-api.md §6.2).
func envelope(status int, module string, code int, msg string) *apiError {
	generic := genericText[status]
	if generic == "" {
		generic = http.StatusText(status)
	}
	if generic == "" {
		generic = "Error."
	}
	return &apiError{HTTPStatusCode: status, APIModule: module, GenericErrorMessage: generic,
		Errors: []apiErrorEntry{{APIErrorCode: fmt.Sprint(code), APIErrorMessage: msg}}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(envelope(status, "COMMON", 0, "encoding the response failed"))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
