package spec

import (
	_ "embed"
	"fmt"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// The gateway's document of Airflow 3's API (/api/v2 and /auth/token), OpenAPI 3.1 as
// Airflow's own. It is generated (see v2_generate.go); kin-openapi reads 3.1 documents
// (anyOf with type null, additionalProperties false), which is all Airflow's uses.

//go:embed v2.yaml
var v2YAMLDoc []byte

// V2YAML is the document as generated. The slice is shared: callers must not modify it.
func V2YAML() []byte { return v2YAMLDoc }

var v2JSONDoc = sync.OnceValues(func() ([]byte, error) { return yamlToJSON(v2YAMLDoc) })

// V2JSON is the document as JSON, keys in the YAML's order. Shared: do not modify.
func V2JSON() ([]byte, error) { return v2JSONDoc() }

var v2Document = sync.OnceValues(func() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(v2YAMLDoc)
	if err != nil {
		return nil, fmt.Errorf("spec: load v2.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("spec: v2.yaml is not a valid OpenAPI document: %w", err)
	}
	return doc, nil
})

// V2Document is the parsed and validated v2 document, loaded once. Shared: do not modify.
func V2Document() (*openapi3.T, error) { return v2Document() }

// MustV2Document is V2Document for callers that cannot go on without it (a build defect).
func MustV2Document() *openapi3.T {
	doc, err := V2Document()
	if err != nil {
		panic(err)
	}
	return doc
}

// V2Operations lists the operations of the gateway's v2 document (full paths, /api/v2/...
// and /auth/...), ordered by path, then method.
func V2Operations() ([]Operation, error) {
	doc, err := V2Document()
	if err != nil {
		return nil, err
	}
	var ops []Operation
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			ops = append(ops, Operation{Method: method, Path: path, OperationID: op.OperationID})
		}
	}
	sortOperations(ops)
	return ops, nil
}

// AirflowV2Operations lists every operation of Airflow 3.3.2's /api/v2 and token endpoints,
// served or not (v2_airflow_operations.go, generated).
func AirflowV2Operations() []Operation {
	return append([]Operation(nil), airflowV2Operations...)
}
