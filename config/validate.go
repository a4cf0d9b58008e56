package config

import (
	"context"
	"strings"

	"github.com/knmproject/knm"
)

// Validate checks a system_config document of a category knm reads (number_manager,
// number_manager.voxbone) as every node of it would read it: each section (default and
// each node or zone section) is checked with the same rules as at start-up. Writers call
// it before storing a document, so a bad value is refused where it is written instead of
// stopping the next start. Documents of other categories, and account documents, pass.
func Validate(ctx context.Context, doc *knm.ConfigDoc) error {
	if doc.Scope != "" || (doc.ID != NumberManagerCategory && doc.ID != VoxboneCategory) {
		return nil
	}
	ms, err := objectMembers(doc.Body)
	if err != nil {
		return knm.Errorf(knm.ErrInvalid, "config: %s is not a JSON object", doc.ID)
	}
	one := oneDoc{doc: doc}
	var problems []string
	for _, m := range ms {
		if m.Key == "_id" || strings.HasPrefix(m.Key, "_") || !isObject(m.Value) {
			continue
		}
		c := New(one, m.Key, "").WithoutWriteBack()
		if doc.ID == NumberManagerCategory {
			_, err = c.NumberManager(ctx)
		} else {
			_, err = c.Voxbone(ctx)
		}
		if err != nil {
			problems = append(problems, "section "+m.Key+": "+err.Error())
		}
	}
	if len(problems) > 0 {
		return knm.Errorf(knm.ErrInvalid, "%s", strings.Join(problems, "; "))
	}
	return nil
}

// oneDoc is a read-only knm.ConfigStore holding one document, to run the normal lookups
// over a document that is not stored yet.
type oneDoc struct{ doc *knm.ConfigDoc }

func (o oneDoc) GetConfig(_ context.Context, scope, id string) (*knm.ConfigDoc, error) {
	if scope == o.doc.Scope && id == o.doc.ID {
		return o.doc, nil
	}
	return nil, knm.Errorf(knm.ErrNotFound, "no config %s", id)
}

func (o oneDoc) PutConfig(context.Context, *knm.ConfigDoc) error {
	return knm.Errorf(knm.ErrInternal, "config: validation never writes")
}

func (o oneDoc) ImportConfigs(context.Context, []*knm.ConfigDoc) error {
	return knm.Errorf(knm.ErrInternal, "config: validation never writes")
}

func (o oneDoc) ListConfigs(context.Context, string) ([]*knm.ConfigDoc, error) {
	return []*knm.ConfigDoc{o.doc}, nil
}
