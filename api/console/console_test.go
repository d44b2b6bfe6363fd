package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"zhengxiang/api/console"
)

func TestHandler(t *testing.T) {
	h := console.Handler()
	get := func(method, path string, header ...string) *http.Response {
		t.Helper()
		req := httptest.NewRequest(method, path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Result()
	}
	for _, tc := range []struct {
		name, method, path string
		status             int
		contentType, page  string // page: the body's data-page
	}{
		{name: "console", path: "/", status: 200, contentType: "text/html", page: "console"},
		{name: "tracking", path: "/track/O1.secret", status: 200, contentType: "text/html", page: "track"},
		{name: "store", path: "/store", status: 200, contentType: "text/html", page: "store"},
		{name: "receipt", path: "/receipt/O1", status: 200, contentType: "text/html", page: "receipt"},
		{name: "script", path: "/console/app.js", status: 200, contentType: "text/javascript"},
		{name: "styles", path: "/console/app.css", status: 200, contentType: "text/css"},
		{name: "licences", path: "/console/LICENSES.txt", status: 200, contentType: "text/plain"},
		{name: "head of a page", method: "HEAD", path: "/store", status: 200, contentType: "text/html"},
		{name: "a page by its file name", path: "/console/index.html", status: 404},
		{name: "unknown asset", path: "/console/nope.js", status: 404},
		{name: "unknown path", path: "/nope", status: 404},
		{name: "tracking without a token", path: "/track/", status: 404},
		{name: "post", method: "POST", path: "/", status: 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = "GET"
			}
			resp := get(method, tc.path)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s: %d, want %d", method, tc.path, resp.StatusCode, tc.status)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("content type %q, want %q", ct, tc.contentType)
			}
			if tc.page != "" && !strings.Contains(string(body), `data-page="`+tc.page+`"`) {
				t.Errorf("body is not the %s page:\n%s", tc.page, body)
			}
		})
	}

	t.Run("pages", func(t *testing.T) {
		asset := regexp.MustCompile(`(?:src|href)="([^"]+)"`)
		for _, p := range []string{"/", "/track/O1.secret", "/store", "/receipt/O1"} {
			resp := get("GET", p)
			for k, want := range map[string]string{
				"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
			} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s: %s %q, want %q", p, k, got, want)
				}
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("%s: Content-Security-Policy %q", p, csp)
			}
			// Every page loads its assets from the binary, nothing from elsewhere.
			body, _ := io.ReadAll(resp.Body)
			for _, m := range asset.FindAllStringSubmatch(string(body), -1) {
				ref := m[1]
				if strings.HasPrefix(ref, "data:") {
					continue
				}
				if !strings.HasPrefix(ref, "/console/") {
					t.Errorf("%s refers to %s, outside the console's assets", p, ref)
					continue
				}
				if r := get("GET", ref); r.StatusCode != 200 {
					t.Errorf("%s refers to %s: %d", p, ref, r.StatusCode)
				}
			}
		}
	})

	t.Run("revalidation", func(t *testing.T) {
		resp := get("GET", "/console/app.js")
		etag := resp.Header.Get("ETag")
		if etag == "" || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("ETag %q, Cache-Control %q", etag, resp.Header.Get("Cache-Control"))
		}
		if r := get("GET", "/console/app.js", "If-None-Match", etag); r.StatusCode != http.StatusNotModified {
			t.Errorf("with If-None-Match: %d, want 304", r.StatusCode)
		}
	})
}
