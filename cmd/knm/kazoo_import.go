package main

import (
	"context"
	"encoding/json"
	"io"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/manager"
)

// kazooBatch is how many numbers one ImportNumbers transaction takes.
const kazooBatch = 1000

// importKazooDocs loads Kazoo phone_number documents: a JSON array of documents, one
// document, or CouchDB's _all_docs?include_docs=true reply ({"rows":[{"doc":{…}}]}).
// Design documents (_design/…) are skipped; anything else that is not a valid phone_number
// document is rejected with its position, and numbers already stored are skipped, so an
// import can run twice.
func importKazooDocs(ctx context.Context, s knm.NumberStore, r io.Reader, progress func(done, total int)) (*manager.ImportReport, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	docs, err := kazooDocs(data)
	if err != nil {
		return nil, err
	}
	rep := &manager.ImportReport{}
	batch := make([]*knm.Number, 0, kazooBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		skipped, err := s.ImportNumbers(ctx, batch)
		if err != nil {
			return err
		}
		rep.Skipped += len(skipped)
		rep.Imported += len(batch) - len(skipped)
		batch = batch[:0]
		progress(rep.Rows, len(docs))
		return nil
	}
	for i, raw := range docs {
		var probe struct {
			ID string `json:"_id"`
		}
		if json.Unmarshal(raw, &probe) == nil && len(probe.ID) > 8 && probe.ID[:8] == "_design/" {
			continue
		}
		rep.Rows++
		n := &knm.Number{}
		if err := n.UnmarshalKazoo(raw); err != nil {
			rep.Rejected++
			if len(rep.Rejections) < manager.MaxRejections {
				rep.Rejections = append(rep.Rejections, manager.Rejection{Line: i + 1, Number: n.Number, Reason: err.Error()})
			}
			continue
		}
		if n.State == "" {
			n.State = knm.StateAvailable
		}
		batch = append(batch, n)
		if len(batch) == kazooBatch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return rep, nil
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
	if err := json.Unmarshal(data, &view); err != nil {
		return nil, knm.Errorf(knm.ErrInvalid, "not JSON: %v", err)
	}
	if view.ID != "" {
		return []json.RawMessage{data}, nil
	}
	if view.Rows == nil {
		return nil, knm.Errorf(knm.ErrInvalid, "expected an array of phone_number documents, one document, or CouchDB's {\"rows\":[{\"doc\":…}]}")
	}
	for i, row := range view.Rows {
		if len(row.Doc) == 0 {
			return nil, knm.Errorf(knm.ErrInvalid, "row %d has no doc (export with include_docs=true)", i+1)
		}
		docs = append(docs, row.Doc)
	}
	return docs, nil
}
