package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static templates
var files embed.FS

// asset is one embedded static file, served under a URL holding its content hash so the
// browser may cache it for good, and kept gzipped too so the first load stays small.
type asset struct {
	url      string
	ctype    string
	raw, gz  []byte
	original string // path inside static/
}

// assetSet maps a static file's path (e.g. "vendor/pico-2.1.1.min.css") to its asset and
// its URL path back to it.
type assetSet struct {
	byName map[string]*asset
	byURL  map[string]*asset
}

// loadAssets reads every file under static/ (licences and notes included, so they ship
// with the binary too) and compresses the text ones.
func loadAssets() (*assetSet, error) {
	set := &assetSet{byName: map[string]*asset{}, byURL: map[string]*asset{}}
	err := fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(raw)
		a := &asset{url: "/assets/" + hex.EncodeToString(sum[:6]) + "/" + name, raw: raw, original: name}
		a.ctype = mime.TypeByExtension(path.Ext(name))
		if a.ctype == "" || strings.HasSuffix(name, ".LICENSE") {
			a.ctype = "text/plain; charset=utf-8"
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(raw)
		if err := zw.Close(); err != nil {
			return err
		}
		if buf.Len() < len(raw) {
			a.gz = buf.Bytes()
		}
		set.byName[name] = a
		set.byURL[a.url] = a
		return nil
	})
	return set, err
}

// URL returns the cache-busting URL of a static file; it panics on a name that is not
// embedded, which templates would otherwise turn into a broken page.
func (s *assetSet) URL(name string) string {
	a, ok := s.byName[name]
	if !ok {
		panic(fmt.Sprintf("web: no static file %q", name))
	}
	return a.url
}

// ServeHTTP serves /assets/<hash>/<name>, gzipped when the client accepts it, cacheable
// for a year (the hash changes with the content).
func (s *assetSet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, ok := s.byURL[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Vary", "Accept-Encoding")
	body := a.raw
	if a.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
