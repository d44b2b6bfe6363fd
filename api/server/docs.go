package server

import (
	"cmp"
	"encoding/json"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"zhengxiang/api"
)

// docOp is one operation of the API page.
type docOp struct {
	Method, Path, Summary, ID string
	Params                    []docParam
	Body                      []docField
}

type docParam struct{ Name, In, Type, Description string }

type docField struct{ Name, Type, Description string }

type docTag struct {
	Name string
	Ops  []docOp
}

type docPage struct {
	Title, Description string
	Tags               []docTag
}

var docsTmpl = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{border-bottom:2px solid #c0392b;padding-bottom:.2rem;margin-top:2.5rem}
.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
.m{display:inline-block;min-width:3.5rem;font-weight:bold;color:#fff;border-radius:4px;padding:0 .4rem;text-align:center}
.GET{background:#2e86c1}.POST{background:#28a745}
code{font-size:14px}table{border-collapse:collapse;margin:.4rem 0}td{padding:.1rem .6rem;vertical-align:top;border-top:1px solid #eee}
p.s{white-space:pre-line;margin:.4rem 0}
</style></head><body>
<h1>{{.Title}}</h1><p>{{.Description}}</p>
<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a> (OpenAPI 2.0).</p>
{{range .Tags}}<h2 id="{{.Name}}">{{.Name}}</h2>
{{range .Ops}}<div class="op" id="{{.ID}}"><span class="m {{.Method}}">{{.Method}}</span> <code>{{.Path}}</code>
<p class="s">{{.Summary}}</p>
{{if .Params}}<table>{{range .Params}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{.Type}}</td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
{{if .Body}}<b>Body</b><table>{{range .Body}}<tr><td><code>{{.Name}}</code></td><td>{{.Type}}</td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
</div>{{end}}{{end}}
</body></html>`))

var (
	docsOnce sync.Once
	docsHTML []byte
	docsErr  error
)

// serveDocs serves the API page, rendered once from the OpenAPI document.
func serveDocs(w http.ResponseWriter, _ *http.Request) {
	docsOnce.Do(func() { docsHTML, docsErr = renderDocs(api.OpenAPI) })
	if docsErr != nil {
		http.Error(w, "the API page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(docsHTML)
}

type swagSchema struct {
	Ref         string                `json:"$ref"`
	Type        string                `json:"type"`
	Format      string                `json:"format"`
	Description string                `json:"description"`
	Title       string                `json:"title"`
	Items       *swagSchema           `json:"items"`
	Properties  map[string]swagSchema `json:"properties"`
}

// typeName is a schema's type in a few words.
func (s swagSchema) typeName() string {
	switch {
	case s.Ref != "":
		return strings.TrimPrefix(s.Ref[strings.LastIndexByte(s.Ref, '/')+1:], "v1")
	case s.Type == "array" && s.Items != nil:
		return s.Items.typeName() + "[]"
	case s.Format != "":
		return s.Type + " (" + s.Format + ")"
	}
	return s.Type
}

func renderDocs(doc []byte) ([]byte, error) {
	var sw struct {
		Info struct {
			Title, Description string
		}
		Paths map[string]map[string]struct {
			Summary     string
			OperationID string `json:"operationId"`
			Tags        []string
			Parameters  []struct {
				Name, In, Type, Description string
				Schema                      *swagSchema
			}
		}
		Definitions map[string]swagSchema
	}
	if err := json.Unmarshal(doc, &sw); err != nil {
		return nil, err
	}
	byTag := map[string][]docOp{}
	for path, ops := range sw.Paths {
		for method, op := range ops {
			d := docOp{Method: strings.ToUpper(method), Path: path, Summary: op.Summary, ID: op.OperationID}
			for _, p := range op.Parameters {
				if p.In == "body" && p.Schema != nil {
					def := sw.Definitions[strings.TrimPrefix(p.Schema.Ref, "#/definitions/")]
					for _, name := range slices.Sorted(maps.Keys(def.Properties)) {
						f := def.Properties[name]
						d.Body = append(d.Body, docField{Name: name, Type: f.typeName(), Description: cmp.Or(f.Description, f.Title)})
					}
					continue
				}
				d.Params = append(d.Params, docParam{Name: p.Name, In: p.In, Type: p.Type, Description: p.Description})
			}
			tag := "Other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			byTag[tag] = append(byTag[tag], d)
		}
	}
	page := docPage{Title: sw.Info.Title, Description: sw.Info.Description}
	order := []string{"PlatformService", "StoreService", "RiderService", "ConsumerService", "OperatorService", "BureauService"}
	for _, tag := range slices.Sorted(maps.Keys(byTag)) {
		if !slices.Contains(order, tag) {
			order = append(order, tag)
		}
	}
	for _, tag := range order {
		ops := byTag[tag]
		slices.SortFunc(ops, func(a, b docOp) int { return strings.Compare(a.Path+a.Method, b.Path+b.Method) })
		if len(ops) > 0 {
			page.Tags = append(page.Tags, docTag{Name: tag, Ops: ops})
		}
	}
	var b strings.Builder
	if err := docsTmpl.Execute(&b, page); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}
