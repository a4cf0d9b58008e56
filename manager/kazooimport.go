package manager

import (
	"context"
	"encoding/json"
	"io"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/jsonpos"
)

// ImportKazoo loads Kazoo phone_number documents as exported from CouchDB: a JSON array of
// documents, one document, or an _all_docs?include_docs=true reply ({"rows":[{"doc":…}]}).
// Their _id, pvt_* keys, Gregorian timestamps and public fields are kept as they are.
// Design documents are skipped; any other document that is not a valid phone_number (an
// _id that is not E.164 included), or whose number came earlier in the file, is rejected
// with its position; numbers already stored are skipped, so an import can run twice.
// Malformed JSON is refused with its line and column. progress is as for Import; its
// total counts only the numbers' documents, so it reaches 100 %.
func (m *Manager) ImportKazoo(ctx context.Context, r io.Reader, progress func(done, total int)) (*ImportReport, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	docs, err := kazooDocs(data)
	if err != nil {
		return nil, err
	}
	numbers := 0 // the progress total: design documents are skipped, not imported
	for _, raw := range docs {
		if !isDesignDoc(raw) {
			numbers++
		}
	}
	b := m.newImportBatch(ImportOptions{}.withDefaults().BatchSize, numbers, progress)
	seen := make(map[uint64]struct{})
	a := m.authz(ctx, knm.SystemAccountID)
	for i, raw := range docs {
		if isDesignDoc(raw) {
			continue
		}
		b.rep.Rows++
		n := &knm.Number{}
		if err := n.UnmarshalKazoo(raw); err != nil {
			b.rep.reject(Rejection{Line: i + 1, Number: n.Number, Reason: err.Error()})
			continue
		}
		if reason := firstInFile(seen, n.Number); reason != "" {
			b.rep.reject(Rejection{Line: i + 1, Number: n.Number, Reason: reason})
			continue
		}
		if n.State == "" {
			n.State = knm.StateAvailable
		}
		if err := m.importFeatures(ctx, a, n); err != nil {
			return nil, err
		}
		if err := b.add(ctx, n); err != nil {
			return nil, err
		}
	}
	rep, err := b.finish(ctx)
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// isDesignDoc reports whether raw is a CouchDB design document, which holds views, not a
// number.
func isDesignDoc(raw json.RawMessage) bool {
	var probe struct {
		ID string `json:"_id"`
	}
	const design = "_design/"
	return json.Unmarshal(raw, &probe) == nil && len(probe.ID) > len(design) && strings.HasPrefix(probe.ID, design)
}

// kazooDocs splits the accepted file shapes into raw documents.
func kazooDocs(data []byte) ([]json.RawMessage, error) {
	var docs []json.RawMessage
	if err := json.Unmarshal(data, &docs); err == nil {
		return docs, nil
	}
	var view struct {
		Rows []struct {
			Doc json.RawMessage `json:"doc"`
		} `json:"rows"`
		ID string `json:"_id"`
	}
	if line, col, se, bad := jsonpos.Syntax(data); bad {
		return nil, knm.Errorf(knm.ErrInvalid, "malformed JSON at line %d, column %d: %v", line, col, se)
	}
	if err := json.Unmarshal(data, &view); err != nil {
		return nil, knm.Errorf(knm.ErrInvalid, "not phone_number documents: %v", err)
	}
	if view.ID != "" {
		return []json.RawMessage{data}, nil
	}
	if view.Rows == nil {
		return nil, knm.Errorf(knm.ErrInvalid,
			`expected an array of phone_number documents, one document, or CouchDB's {"rows":[{"doc":…}]}`)
	}
	for i, row := range view.Rows {
		if len(row.Doc) == 0 {
			return nil, knm.Errorf(knm.ErrInvalid, "row %d has no doc (export with include_docs=true)", i+1)
		}
		docs = append(docs, row.Doc)
	}
	return docs, nil
}

// importFeatures brings an imported number's pvt_features in line with its public fields,
// as the first write in Kazoo would. A document whose features its settings would refuse
// (a local number with cnam, written before the settings changed) is kept exactly as
// Kazoo stored it: an import moves numbers, it does not edit them.
func (m *Manager) importFeatures(ctx context.Context, a *authz, n *knm.Number) error {
	err := m.applyFeatures(ctx, a, n)
	if knm.IsErrorName(err, knm.ErrForbidden) || knm.IsErrorName(err, knm.ErrInvalid) {
		m.logger.Info("kazoo import: features kept as stored", "number", n.Number, "reason", err)
		return nil
	}
	return err
}
