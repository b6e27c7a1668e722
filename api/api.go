// Package api holds the gateway API: the protobuf definitions under proto/,
// the generated Go code under gen/ (committed; `make proto` regenerates it
// and `make verify` fails when it is stale), and the OpenAPI document of
// the REST/JSON mapping, which this package embeds so that the gateway can
// serve it. It imports nothing of medprov.
package api

import _ "embed"

// OpenAPI is the OpenAPI (Swagger 2.0) document of the gateway's REST/JSON
// API, as generated from the .proto files and gateway.yaml.
//
//go:embed openapi/gateway.swagger.json
var OpenAPI []byte
