package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/manager"
)

// accountJSON is the public view of an account.
func accountJSON(a *knm.Account) map[string]any {
	tree := a.Tree
	if tree == nil {
		tree = []string{}
	}
	return map[string]any{
		"id":                     a.ID,
		"name":                   a.Name,
		"parent_id":              a.ParentID,
		"tree":                   tree,
		"is_reseller":            a.Reseller,
		"reseller_id":            a.ResellerID,
		"superduper_admin":       a.SuperduperAdmin,
		"allow_number_additions": a.AllowNumberAdditions,
		"enabled":                a.Enabled,
		"created":                a.Created.UTC().Format(time.RFC3339),
	}
}

// createAccount is PUT /v2/accounts {"data":{"name", "parent_id"?, "is_reseller"?,
// "allow_number_additions"?}}: a sub-account of the caller, or of parent_id when that is the
// caller or one of its descendants. Its API key is in this reply and nowhere else: only its
// hash is stored.
func (s *Server) createAccount(w http.ResponseWriter, r *http.Request) error {
	var req manager.NewAccount
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	acc, key, err := s.mgr.CreateAccountWithKey(r.Context(), caller(r), req)
	if err != nil {
		return err
	}
	out := accountJSON(acc)
	out["api_key"] = key
	s.writeData(w, r, http.StatusCreated, out)
	return nil
}

// getAccount is GET /v2/accounts/{A}.
func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) error {
	acc, err := s.scopedAccount(r)
	if err != nil {
		return err
	}
	s.writeData(w, r, http.StatusOK, accountJSON(acc))
	return nil
}

var categoryRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func pathCategory(r *http.Request) (string, error) {
	c := r.PathValue("category")
	if !categoryRE.MatchString(c) {
		return "", knm.Errorf(knm.ErrInvalid, "category must be letters, digits, '.', '_' or '-'").WithCause("category")
	}
	return c, nil
}

// getSystemConfig is GET /v2/system_configs/{category}: master only, secrets redacted.
func (s *Server) getSystemConfig(w http.ResponseWriter, r *http.Request) error {
	if err := requireMaster(r); err != nil {
		return err
	}
	cat, err := pathCategory(r)
	if err != nil {
		return err
	}
	doc, err := s.store.GetConfig(r.Context(), "", cat)
	if knm.IsErrorName(err, knm.ErrNotFound) {
		return &knm.Error{Name: knm.ErrNotFound, Message: "system_config " + cat + " not found", Cause: cat}
	}
	if err != nil {
		return err
	}
	s.writeData(w, r, http.StatusOK, json.RawMessage(config.Redact(doc.Body)))
	return nil
}

// postSystemConfig is POST /v2/system_configs/{category} {"data":{…document…}}: master only;
// replaces the whole document (Kazoo's POST) and echoes it redacted. A secret sent back as
// the redaction marker "***" is refused, because storing it would silently replace the real
// credential with three stars.
func (s *Server) postSystemConfig(w http.ResponseWriter, r *http.Request) error {
	if err := requireMaster(r); err != nil {
		return err
	}
	cat, err := pathCategory(r)
	if err != nil {
		return err
	}
	if err := config.CheckWritable(cat); err != nil {
		return err
	}
	var data json.RawMessage
	if err := decodeBody(r, &data); err != nil {
		return err
	}
	data = bytes.TrimSpace(data)
	var head struct {
		ID *string `json:"_id"`
	}
	json.Unmarshal(data, &head)
	switch {
	case head.ID != nil && *head.ID != cat:
		return knm.Errorf(knm.ErrInvalid, "_id %q does not match the category %q", *head.ID, cat).WithCause("_id")
	case head.ID == nil:
		// Keep the client's key order: prepend _id rather than re-encoding a map.
		id, _ := json.Marshal(cat)
		rest := bytes.TrimSpace(data[1:])
		sep := ","
		if len(rest) > 0 && rest[0] == '}' {
			sep = ""
		}
		data = append(append([]byte(`{"_id":`), id...), append([]byte(sep), rest...)...)
	}
	doc := &knm.ConfigDoc{ID: cat, Body: data}
	// The same checks as knm config set and import: a value knm could not use (or the
	// "***" shown instead of a secret) is refused here, not found at the next start.
	if err := config.Validate(r.Context(), doc); err != nil {
		return err
	}
	if cur, err := s.store.GetConfig(r.Context(), "", cat); err == nil {
		doc.Rev = cur.Rev
	} else if !knm.IsErrorName(err, knm.ErrNotFound) {
		return err
	}
	if err := s.store.PutConfig(r.Context(), doc); err != nil {
		return err
	}
	s.writeData(w, r, http.StatusOK, json.RawMessage(config.Redact(data)))
	return nil
}
