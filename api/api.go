// Package api holds Zhengxiang's public API: the protos (proto/), the code
// generated from them (gen/), the services (server/), the keys (auth/) and
// the OpenAPI document, embedded here for the servers to serve.
package api

import _ "embed"

// OpenAPI is the OpenAPI (Swagger 2.0) document of the REST API, generated
// from the protos and http.yaml by `make generate`.
//
//go:embed gen/openapi/zhengxiang.swagger.json
var OpenAPI []byte
