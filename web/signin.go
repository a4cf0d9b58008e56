package web

import (
	"net/http"
	"time"

	"github.com/knmproject/knm"
)

// signInView is the sign-in form's data.
type signInView struct {
	Next   string
	Errors fieldErrors
}

func (s *Server) signInForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	next := safeNext(r.URL.Query().Get("next"))
	if _, ok := s.sess.read(r); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	pre := s.sess.preSession(w, r)
	s.render(
		w,
		r,
		http.StatusOK,
		"signin",
		view{Title: "Sign in", CSRF: s.sess.csrfToken(r.Context(), pre), Data: signInView{Next: next}},
	)
}

// signIn exchanges an API key (or a one-time link's token) for a session, exactly as PUT
// /v2/api_auth decides who a key belongs to; a wrong key gets the form again with the
// reason, and nothing says whether an account exists.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, nil, knm.Errorf(knm.ErrInvalid, "the form could not be read"))
		return
	}
	pre := s.sess.preSession(w, r)
	next := safeNext(r.PostFormValue("next"))
	if !s.sess.checkCSRF(r, pre) {
		s.renderError(
			w,
			r,
			nil,
			knm.Forbidden("csrf").
				WithCause("the form's security token is missing or stale; reload the page and try again"),
		)
		return
	}
	var acc *knm.Account
	var err error
	if tok := r.PostFormValue("once"); tok != "" {
		acc, err = s.useOnceLink(r, tok)
	} else {
		acc, err = s.mgr.AccountByAPIKey(r.Context(), r.PostFormValue("api_key"))
	}
	if err != nil {
		errs, ferr := fieldError(err, "api_key")
		if ferr != nil {
			s.renderError(w, r, nil, ferr)
			return
		}
		if msg, ok := errs["api_key"]; ok {
			errs = fieldErrors{"": msg}
		}
		if knm.IsErrorName(err, knm.ErrUnauthorized) {
			errs = fieldErrors{"": "That API key is not valid (unknown key or disabled account)."}
		}
		s.render(w, r, http.StatusUnauthorized, "signin", view{Title: "Sign in", CSRF: s.sess.csrfToken(r.Context(), pre),
			Data: signInView{Next: next, Errors: errs}})
		return
	}
	if _, err := s.sess.open(w, r, acc.ID); err != nil {
		s.renderError(w, r, nil, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request, _ *knm.Account) error {
	s.sess.close(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

// signOutEverywhere ends every session of the caller's account, on every instance: the
// browsers signed in elsewhere go back to sign in at their next request.
func (s *Server) signOutEverywhere(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	if err := s.sess.endAll(r.Context(), me.ID); err != nil {
		return err
	}
	s.sess.close(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

// rotateSessions replaces the console's session secret (master only): every session of
// every account ends, this one included.
func (s *Server) rotateSessions(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	if !me.SuperduperAdmin {
		return knm.Forbidden("master account only")
	}
	if err := s.sess.rotate(r.Context()); err != nil {
		return err
	}
	s.logger.InfoContext(r.Context(), "web: console session key rotated; every session ended", "by", me.ID)
	s.sess.close(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

// onceLinkTTL is how long a one-time sign-in link lives.
const onceLinkTTL = 15 * time.Minute

// onceLink is a sign-in link made for the person who started the process (knm demo
// prints one), valid once, on this instance only.
type onceLink struct {
	accountID string
	expires   time.Time
}

// OneTimeLink returns the path of a link that signs the browser in as accountID once,
// within onceLinkTTL, without typing a key. The token lives in this process only.
func (s *Server) OneTimeLink(accountID string) string {
	tok := randomHex(24)
	s.onceMu.Lock()
	defer s.onceMu.Unlock()
	for k, l := range s.once {
		if s.now().After(l.expires) {
			delete(s.once, k)
		}
	}
	s.once[tok] = onceLink{accountID: accountID, expires: s.now().Add(onceLinkTTL)}
	return "/signin/once/" + tok
}

// onceForm shows the one-time link's confirmation: following a link never signs in by
// itself (a GET changes nothing); the button posts the token.
func (s *Server) onceForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	tok := r.PathValue("token")
	s.onceMu.Lock()
	l, ok := s.once[tok]
	s.onceMu.Unlock()
	if !ok || s.now().After(l.expires) {
		s.renderError(w, r, nil, knm.Errorf(knm.ErrNotFound, "this sign-in link was used already or has expired").
			WithCause("sign in with the API key instead"))
		return
	}
	acc, err := s.store.GetAccount(r.Context(), l.accountID)
	if err != nil {
		s.renderError(w, r, nil, err)
		return
	}
	pre := s.sess.preSession(w, r)
	s.render(w, r, http.StatusOK, "once", view{Title: "Sign in", CSRF: s.sess.csrfToken(r.Context(), pre),
		Data: struct{ Name, Token string }{acc.Name, tok}})
}

// useOnceLink consumes a one-time token and returns its account.
func (s *Server) useOnceLink(r *http.Request, tok string) (*knm.Account, error) {
	s.onceMu.Lock()
	l, ok := s.once[tok]
	delete(s.once, tok)
	s.onceMu.Unlock()
	if !ok || s.now().After(l.expires) {
		return nil, knm.Errorf(knm.ErrUnauthorized, "this sign-in link was used already or has expired")
	}
	acc, err := s.store.GetAccount(r.Context(), l.accountID)
	if err != nil || !acc.Enabled {
		return nil, knm.Errorf(knm.ErrUnauthorized, "invalid credentials")
	}
	return acc, nil
}
