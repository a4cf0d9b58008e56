package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/manager"
)

// accountNode is an account and the accounts under it, for the tree.
type accountNode struct {
	Account  *knm.Account
	Children []*accountNode
}

// accountsView is the accounts page's data.
type accountsView struct {
	Roots    []*accountNode
	Accounts []*knm.Account
	Form     map[string]string
	Errors   fieldErrors
	Created  *knm.Account
	Key      string // the new account's API key, shown once
}

// accountTree arranges accounts under their parents; an account whose parent is not in
// the list is a root of what the caller sees.
func accountTree(accs []*knm.Account) []*accountNode {
	nodes := make(map[string]*accountNode, len(accs))
	for _, a := range accs {
		nodes[a.ID] = &accountNode{Account: a}
	}
	var roots []*accountNode
	for _, a := range accs {
		if p, ok := nodes[a.ParentID]; ok && a.ParentID != "" {
			p.Children = append(p.Children, nodes[a.ID])
		} else {
			roots = append(roots, nodes[a.ID])
		}
	}
	var sortTree func([]*accountNode)
	sortTree = func(ns []*accountNode) {
		slices.SortFunc(ns, func(x, y *accountNode) int { return strings.Compare(x.Account.Name, y.Account.Name) })
		for _, n := range ns {
			sortTree(n.Children)
		}
	}
	sortTree(roots)
	return roots
}

// accounts shows the tree of accounts the caller may see and the sub-account form.
func (s *Server) accounts(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	return s.renderAccounts(w, r, me, http.StatusOK, accountsView{Form: map[string]string{"parent_id": me.ID}})
}

func (s *Server) renderAccounts(
	w http.ResponseWriter,
	r *http.Request,
	me *knm.Account,
	status int,
	v accountsView,
) error {
	accs, err := s.mgr.ListAccounts(r.Context(), me.ID)
	if err != nil {
		return err
	}
	v.Accounts, v.Roots = accs, accountTree(accs)
	s.render(w, r, status, "accounts", view{Title: "Accounts", Nav: "accounts", Me: me, Data: v})
	return nil
}

// createAccount creates a sub-account exactly as PUT /v2/accounts does and shows its API
// key once (the page is not cached; only the key's hash is stored).
func (s *Server) createAccount(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	req := manager.NewAccount{Name: strings.TrimSpace(r.PostFormValue("name")), ParentID: r.PostFormValue("parent_id"),
		Reseller: r.PostFormValue("is_reseller") != ""}
	acc, key, err := s.mgr.CreateAccountWithKey(r.Context(), me, req)
	if err != nil {
		errs, ferr := fieldError(err, "name", "parent_id")
		if ferr != nil {
			return ferr
		}
		form := map[string]string{"name": req.Name, "parent_id": req.ParentID}
		return s.renderAccounts(w, r, me, http.StatusBadRequest, accountsView{Form: form, Errors: errs})
	}
	return s.renderAccounts(w, r, me, http.StatusCreated, accountsView{Form: map[string]string{"parent_id": me.ID},
		Created: acc, Key: key})
}
