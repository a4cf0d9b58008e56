package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// schemas are the components of the OpenAPI document. Replies are described as strictly
// as knm guarantees them; the tests validate real replies against this document.
const schemas = `{
 "ErrorObject": {"type": "object", "required": ["code", "error", "message"], "properties": {
   "code": {"type": "integer"}, "error": {"type": "string"}, "message": {"type": "string"},
     "cause": {"type": "string"}}},
 "ErrorEnvelope": {"type": "object", "required": ["status", "error", "message", "data", "request_id"], "properties": {
   "status": {"type": "string", "enum": ["error"]},
   "error": {"type": "string", "pattern": "^[0-9]{3}$"},
   "message": {"type": "string"},
   "request_id": {"type": "string"}, "auth_token": {"type": "string"}, "node": {"type": "string"},
   "version": {"type": "string"}, "timestamp": {"type": "string"},
   "data": {"type": "object"}}},
 "CarrierReport": {"type": "object", "required": ["module", "status"], "properties": {
   "module": {"type": "string"}, "status": {"type": "string", "enum": ["ok", "error", "timeout", "refused"]},
   "error": {"type": "string"}, "count": {"type": "integer"},
   "order": {"type": "string",
     "description": "the order delivering numbers bought for this search (held for the account)"},
   "retry_after_s": {"type": "integer", "description": "with status refused: when the purchase may be asked again"},
   "note": {"type": "string",
     "description": "why an answer that is no failure may surprise, e.g. stored numbers need an account"}}},
 "State": {"type": "string", "enum": ["discovery", "port_in", "available", "reserved", "in_service", "released",
   "port_out", "aging", "deleted"]},
 "Health": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
 "APIAuth": {"type": "object", "required": ["auth_token", "account_id", "expires_at"], "properties": {
   "auth_token": {"type": "string"}, "account_id": {"type": "string"}, "account_name": {"type": "string"},
   "reseller_id": {"type": "string"}, "is_reseller": {"type": "boolean"}, "is_superduper_admin": {"type": "boolean"},
   "expires_at": {"type": "string", "format": "date-time"}}},
 "SearchResults": {"type": "array", "items": {"type": "object", "required": ["number", "state"], "properties": {
   "number": {"type": "string", "pattern": "^\\+[0-9]+$"}, "state": {"$ref": "#/components/schemas/State"}}}},
 "Listing": {"type": "object", "required": ["numbers", "cascade_quantity"], "properties": {
   "cascade_quantity": {"type": "integer"},
   "numbers": {"type": "object", "additionalProperties": {"type": "object", "required": ["state", "features",
     "features_available", "created", "updated"], "properties": {
     "state": {"$ref": "#/components/schemas/State"}, "features": {"type": "array", "items": {"type": "string"}},
     "features_available": {"type": "array", "items": {"type": "string"}},
     "assigned_to": {"type": "string"}, "used_by": {"type": "string"},
     "created": {"type": "integer"}, "updated": {"type": "integer"}}}}}},
 "SearchOrListing": {"anyOf": [{"$ref": "#/components/schemas/SearchResults"},
   {"$ref": "#/components/schemas/Listing"}, {"$ref": "#/components/schemas/Blocks"}]},
 "SearchOrBlocks": {"anyOf": [{"$ref": "#/components/schemas/SearchResults"},
   {"$ref": "#/components/schemas/Blocks"}]},
 "Number": {"type": "object", "required": ["id", "state", "features", "_read_only"], "properties": {
   "id": {"type": "string", "pattern": "^\\+[0-9]+$"}, "state": {"$ref": "#/components/schemas/State"},
   "used_by": {"type": "string"}, "features": {"type": "array", "items": {"type": "string"}},
   "_read_only": {"type": "object", "required": ["state"], "properties": {
     "created": {"type": "integer"}, "modified": {"type": "integer"}, "state": {"$ref": "#/components/schemas/State"},
     "used_by": {"type": "string"}, "carrier_module": {"type": "string"},
     "routing": {"type": "string", "enum": ["pending"],
       "description": "present while the DID is bought but not yet routed at its carrier"},
     "routing_error": {"type": "string"},
     "features": {"type": "object", "properties": {"available": {"type": "array", "items": {"type": "string"}},
       "settings": {"type": "object"}}}}}}},
 "Collection": {"type": "object", "properties": {
   "success": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Number"}},
   "error": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/ErrorObject"}}}},
 "Account": {"type": "object", "required": ["id", "name", "tree", "enabled"], "properties": {
   "id": {"type": "string", "pattern": "^[0-9a-fA-F]{32}$"}, "name": {"type": "string"},
     "parent_id": {"type": "string"},
   "tree": {"type": "array", "items": {"type": "string"}}, "is_reseller": {"type": "boolean"},
     "reseller_id": {"type": "string"},
   "superduper_admin": {"type": "boolean"}, "allow_number_additions": {"type": "boolean"},
     "enabled": {"type": "boolean"},
   "created": {"type": "string", "format": "date-time"}, "api_key": {"type": "string",
     "description": "only in the reply that creates the account"}}},
 "AccountWithKey": {"allOf": [{"$ref": "#/components/schemas/Account"}, {"type": "object", "required": ["api_key"]}]},
 "CarriersInfo": {"type": "object", "required": ["maximal_prefix_length", "usable_carriers", "usable_creation_states"],
   "properties": {
   "maximal_prefix_length": {"type": "integer"}, "usable_carriers": {"type": "array", "items": {"type": "string"}},
   "usable_creation_states": {"type": "array", "items": {"$ref": "#/components/schemas/State"}}}},
 "Classification": {"type": "object", "required": ["number", "e164"], "properties": {
   "number": {"type": "string"}, "e164": {"type": "string"}, "name": {"type": "string"}}},
 "Object": {"type": "object"},
 "StringMap": {"type": "object", "additionalProperties": {"type": "string"}},
 "Any": {"nullable": true},
 "VoxboneOrder": {"type": "object", "required": ["id", "state"], "properties": {
   "id": {"type": "string"}, "state": {"type": "string"}, "assign_to": {"type": "string"},
   "numbers": {"type": "array", "nullable": true, "items": {"type": "string"}}, "details": {"nullable": true}}},
 "VoxboneOrders": {"type": "array", "items": {"$ref": "#/components/schemas/VoxboneOrder"}},
 "VoxboneRoutingRequest": {"type": "object", "required": ["data"], "properties": {"data": {"type": "object",
   "properties": {"numbers": {"type": "array", "maxItems": 1000, "items": {"type": "string"}},
     "all": {"type": "boolean"}, "dry_run": {"type": "boolean"}}}}},
 "APIAuthRequest": {"type": "object", "required": ["data"], "properties": {"data": {"type": "object",
   "required": ["api_key"], "properties": {"api_key": {"type": "string"}}}}},
 "AccountCreate": {"type": "object", "required": ["data"], "properties": {"data": {"type": "object",
   "required": ["name"], "properties": {
   "name": {"type": "string"}, "parent_id": {"type": "string"}, "is_reseller": {"type": "boolean"},
     "allow_number_additions": {"type": "boolean"}}}}},
 "NumbersRequest": {"type": "object", "required": ["data"], "properties": {"data": {"type": "object",
   "required": ["numbers"], "properties": {
   "numbers": {"type": "array", "minItems": 1, "uniqueItems": true, "items": {"type": "string"}}}}}},
 "NumberPublic": {"type": "object",
   "description": "a number's public fields (Kazoo's phone_numbers.json): free-form except the typed feature ` +
	`fields below; the keys the API renders (state, _read_only, features, used_by, id, any _ or pvt_ key) are ` +
	`refused with 400", "properties": {
   "cnam": {"type": "object", "properties": {"display_name": {"type": "string", "minLength": 1, "maxLength": 15},
     "inbound_lookup": {"type": "boolean"}}},
   "e911": {"type": "object"}, "porting": {"type": "object"}, "carrier_name": {"type": "string", "minLength": 1,
     "maxLength": 30},
   "prepend": {"type": "object"}, "failover": {"type": "object"}, "ringback": {"type": "object"},
   "force_outbound": {"type": "boolean"}, "sms": {"type": "object"}, "mms": {"type": "object"},
   "state": {"readOnly": true,
     "description": "refused: use create_with_state, or the activate, reserve and release routes"},
   "_read_only": {"readOnly": true}, "features": {"readOnly": true}, "used_by": {"readOnly": true},
     "id": {"readOnly": true}}},
 "NumberUpdate": {"type": "object", "required": ["data"],
   "properties": {"data": {"$ref": "#/components/schemas/NumberPublic"}}},
 "CollectionCreate": {"type": "object", "required": ["data"],
   "properties": {"data": {"allOf": [{"$ref": "#/components/schemas/NumberPublic"}, {"type": "object",
     "required": ["numbers"], "properties": {
   "numbers": {"type": "array", "minItems": 1, "uniqueItems": true, "items": {"type": "string"}},
   "create_with_state": {"$ref": "#/components/schemas/State"}, "ported_in": {"type": "boolean"}}}]}}},
 "NumberCreate": {"type": "object", "required": ["data"],
   "properties": {"data": {"allOf": [{"$ref": "#/components/schemas/NumberPublic"}, {"type": "object", "properties": {
   "create_with_state": {"$ref": "#/components/schemas/State"}, "ported_in": {"type": "boolean"}}}]}}},
 "VoxboneOrderRequest": {"type": "object", "required": ["data"], "properties": {"data": {"type": "object",
   "required": ["group_id", "quantity"], "properties": {
   "group_id": {"type": "integer", "minimum": 1}, "quantity": {"type": "integer", "minimum": 1},
   "idempotency_key": {"type": "string"}, "assign_to": {"type": "string"}, "country": {"type": "string"}}}}},
 "DataObject": {"type": "object", "required": ["data"], "properties": {"data": {"type": "object"}}}
}`

// OpenAPI returns the OpenAPI 3 document of every route, built from the route table so it
// cannot forget one.
func (s *Server) OpenAPI() []byte {
	s.openapiOnce.Do(func() { s.openapiDoc = s.buildOpenAPI() })
	return s.openapiDoc
}

func (s *Server) buildOpenAPI() []byte {
	var comps map[string]json.RawMessage
	for _, part := range append([]string{schemas}, extraSchemas...) {
		if err := json.Unmarshal([]byte(part), &comps); err != nil {
			panic("httpapi: schemas: " + err.Error())
		}
	}
	paths := map[string]map[string]any{}
	for _, rt := range s.routes() {
		op := map[string]any{
			"summary":     rt.Summary,
			"operationId": operationID(rt),
			"responses":   responses(rt),
		}
		var params []any
		for _, seg := range strings.Split(rt.Path, "/") {
			if strings.HasPrefix(seg, "{") {
				params = append(params, map[string]any{"name": strings.Trim(seg, "{}"), "in": "path", "required": true,
					"schema": map[string]string{"type": "string"}})
			}
		}
		for _, q := range rt.Query {
			schema := map[string]string{"type": q.Type}
			if q.Pattern != "" {
				schema["pattern"] = q.Pattern
			}
			params = append(params, map[string]any{"name": q.Name, "in": "query", "description": q.Doc,
				"schema": schema})
		}
		params = append(params, map[string]any{"name": "X-Request-Id", "in": "header",
			"schema": map[string]string{"type": "string"}})
		if rt.Idempotent {
			params = append(params, map[string]any{"name": "Idempotency-Key", "in": "header",
				"description": "a retry with the same key (per caller) acts once: a search never buys again, " +
					"an activation replays its first reply; the key reused for a different request is a 400",
				"schema": map[string]any{"type": "string", "maxLength": 200}})
		}
		op["parameters"] = params
		if rt.Body != "" {
			ref := rt.Body
			if ref == "Object" {
				ref = "DataObject"
			}
			op["requestBody"] = map[string]any{"required": !rt.BodyOptional, "content": map[string]any{
				"application/json": map[string]any{"schema": schemaRef(ref)}}}
		}
		if rt.Auth == authRequired {
			op["security"] = []any{map[string][]string{"authToken": {}}}
		} else if rt.Auth == authOptional {
			op["security"] = []any{map[string][]string{}, map[string][]string{"authToken": {}}}
		}
		if paths[rt.Path] == nil {
			paths[rt.Path] = map[string]any{}
		}
		paths[rt.Path][strings.ToLower(rt.Method)] = op
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "knm REST API", "version": Version,
			"description": "Kazoo crossbar-compatible phone_numbers API plus knm's native routes. Every error is the " +
				"envelope ErrorEnvelope."},
		"paths": paths,
		"components": map[string]any{
			"schemas": comps,
			"securitySchemes": map[string]any{"authToken": map[string]string{"type": "apiKey", "in": "header",
				"name": "X-Auth-Token"}},
		},
	}
	b, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		panic("httpapi: openapi: " + err.Error())
	}
	return b
}

func schemaRef(name string) map[string]string {
	return map[string]string{"$ref": "#/components/schemas/" + name}
}

func operationID(rt route) string {
	id := strings.ToLower(rt.Method)
	for _, seg := range strings.Split(rt.Path, "/") {
		seg = strings.Trim(seg, "{}")
		if seg == "" || seg == "v2" {
			continue
		}
		id += "_" + strings.ReplaceAll(seg, ".", "_")
	}
	return id
}

// responses describes a route's success reply (crossbar's envelope around its data) and
// its errors (always the error envelope).
func responses(rt route) map[string]any {
	status := rt.Status
	if status == 0 {
		status = http.StatusOK
	}
	var content map[string]any
	switch rt.Reply {
	case "-metrics":
		content = map[string]any{"text/plain": map[string]any{"schema": map[string]string{"type": "string"}}}
	case "-openapi":
		content = map[string]any{"application/json": map[string]any{"schema": map[string]string{"type": "object"}}}
	default:
		props := map[string]any{
			"status":         map[string]any{"type": "string", "enum": []string{"success"}},
			"request_id":     map[string]string{"type": "string"},
			"auth_token":     map[string]string{"type": "string"},
			"node":           map[string]string{"type": "string"},
			"version":        map[string]string{"type": "string"},
			"timestamp":      map[string]string{"type": "string"},
			"revision":       map[string]any{"type": "string", "nullable": true},
			"page_size":      map[string]string{"type": "integer"},
			"start_key":      map[string]string{"type": "string"},
			"next_start_key": map[string]string{"type": "string"},
			"carriers":       map[string]any{"type": "array", "items": schemaRef("CarrierReport")},
			"data":           schemaRef(rt.Reply),
		}
		content = map[string]any{"application/json": map[string]any{"schema": map[string]any{
			"type": "object", "required": []string{"status", "request_id", "data"}, "properties": props}}}
	}
	return map[string]any{
		strconv.Itoa(status): map[string]any{"description": "success", "content": content},
		"default": map[string]any{"description": "error", "content": map[string]any{
			"application/json": map[string]any{"schema": schemaRef("ErrorEnvelope")}}},
	}
}

func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(s.OpenAPI())
	return err
}
