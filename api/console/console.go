// Package console serves Zhengxiang's web console, built into dist/ and
// embedded in the binary:
//
//   - / is the dispatch console: a live map of the city in H3 hexagons
//     (demand heat of the active orders, pending and moving orders, riders),
//     the dispatcher's figures (GET /v1/dispatch, an operator key) and the
//     commerce bureau's festival charts (GET /v1/figures, a bureau key:
//     cancellations by reason, a section × day table, the CSV of the
//     figures by district and day, GET /v1/figures.csv fetched with the key,
//     and the campaigns with their days, sections and orders, GET
//     /v1/campaigns);
//   - /track/{token} is the consumer's tracking page (GET /v1/tracking/{token}),
//     with the locker's or drop point's code and the photo's reference once
//     delivered, and the rider's health card when the API carries one;
//   - /store is a store's ticket page (GET /v1/stores/{id}/tickets, accept,
//     reject, mark ready, hand over), with a merchant key;
//   - /receipt/{order_id} is the printable sales receipt (销售凭证) of an
//     order (GET /v1/orders/{id}/receipt);
//   - /console/ holds the assets: app.js, app.css, LICENSES.txt.
//
// The pages call the REST API on the same origin, so the handler is mounted
// on the mux that serves /v1/. Keys are typed into the pages and kept in the
// tab's sessionStorage; for a demo the console also takes
// ?operator_key=...&bureau_key=... once and moves them there.
//
// The sources are in web/: ES modules using h3-js (hexagons), d3-geo (the
// district outlines, from geo/data, bundled at build time) and Chart.js,
// bundled by esbuild. After changing them, rebuild dist/ and commit it:
//
//	cd api/console/web && npm ci && npm run build
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"time"
)

//go:embed dist
var dist embed.FS

// csp keeps the pages to their own scripts and to the API of their origin.
// Styles may be inline: Chart.js sizes its canvases through them.
const csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// asset is a file of dist/ held in memory with its ETag.
type asset struct {
	name string
	body []byte
	etag string
}

func load(name string) asset {
	b, err := fs.ReadFile(dist, path.Join("dist", name))
	if err != nil {
		panic("console: " + err.Error()) // dist/ is embedded: a missing file is a build error
	}
	sum := sha256.Sum256(b)
	return asset{name: name, body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

// serve writes the asset, answering If-None-Match with 304.
func (a asset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if ct := mime.TypeByExtension(path.Ext(a.name)); ct != "" {
		h.Set("Content-Type", ct)
	}
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
}

// page serves an HTML page: never cached (the tracking page's address holds
// the consumer's token), no referrer sent on, only the origin's scripts.
func page(name string) http.HandlerFunc {
	a := load(name)
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		a.serve(w, r)
	}
}

// Handler serves the console's pages and assets. Mount it as the catch-all
// ("/") of the mux that serves the API: it answers 404 to any other path.
func Handler() http.Handler {
	assets := map[string]asset{}
	entries, err := fs.ReadDir(dist, "dist")
	if err != nil {
		panic("console: " + err.Error())
	}
	for _, e := range entries {
		if !e.IsDir() {
			assets[e.Name()] = load(e.Name())
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", page("index.html"))
	mux.HandleFunc("GET /track/{token}", page("track.html"))
	mux.HandleFunc("GET /store", page("store.html"))
	mux.HandleFunc("GET /receipt/{order_id}", page("receipt.html"))
	mux.HandleFunc("GET /console/{file}", func(w http.ResponseWriter, r *http.Request) {
		a, ok := assets[r.PathValue("file")]
		if !ok || path.Ext(a.name) == ".html" {
			http.NotFound(w, r)
			return
		}
		// Revalidated each time: the names carry no hash, the ETag does.
		w.Header().Set("Cache-Control", "no-cache")
		a.serve(w, r)
	})
	return mux
}
