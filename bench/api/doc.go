// Package api holds the end-to-end checks of the public API run against the
// built command: schemathesis.sh checks every REST response against the
// OpenAPI document with schemathesis, an independent tool, and load.sh
// measures tracking reads and order creation with wrk on loopback. The
// test here runs schemathesis.sh in CI.
package api
