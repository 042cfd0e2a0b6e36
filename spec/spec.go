// Package spec holds the gateway's own OpenAPI 3.0 document: the operations of Airflow's
// stable REST API (/api/v1) that the gateway implements, with Airflow's paths, parameters and
// schemas. The document is embedded in the binary; the gateway serves it, validates requests
// against it and answers 501 for every Airflow operation it leaves out (AirflowOperations).
package spec

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"
)

//go:embed openapi.yaml
var yamlDoc []byte

//go:embed ui
var uiFiles embed.FS

// YAML is the document as written. The slice is shared: callers must not modify it.
func YAML() []byte { return yamlDoc }

var jsonDoc = sync.OnceValues(func() ([]byte, error) { return yamlToJSON(yamlDoc) })

// JSON is the document converted to JSON once, keys in the YAML's order. The slice is
// shared: callers must not modify it.
func JSON() ([]byte, error) { return jsonDoc() }

var document = sync.OnceValues(func() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(yamlDoc)
	if err != nil {
		return nil, fmt.Errorf("spec: load openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("spec: openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	return doc, nil
})

// Document is the parsed and validated document, loaded once. It is shared: callers must
// not modify it.
func Document() (*openapi3.T, error) { return document() }

// MustDocument is Document for callers that cannot go on without it; the embedded document
// is checked by this package's tests, so a failure here is a build defect.
func MustDocument() *openapi3.T {
	doc, err := Document()
	if err != nil {
		panic(err)
	}
	return doc
}

// UI holds the offline viewer: index.html, init.js and the Swagger UI assets.
func UI() fs.FS {
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// Operation is one operation of an OpenAPI document: method, path template as the document
// writes it (`/dags/{dag_id}`), and operationId.
type Operation struct {
	Method      string
	Path        string
	OperationID string
}

// Operations lists the operations of the gateway's document, ordered by path, then method.
func Operations() ([]Operation, error) {
	doc, err := Document()
	if err != nil {
		return nil, err
	}
	var ops []Operation
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			ops = append(ops, Operation{Method: method, Path: path, OperationID: op.OperationID})
		}
	}
	sortOperations(ops)
	return ops, nil
}

// AirflowOperations lists every operation of Airflow's own v1.yaml (Airflow 2.10), whether
// the gateway implements it or not; see airflow_operations.go.
func AirflowOperations() []Operation {
	return append([]Operation(nil), airflowOperations...)
}

func sortOperations(ops []Operation) {
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return methodRank(ops[i].Method) < methodRank(ops[j].Method)
	})
}

var methodOrder = []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete,
	http.MethodOptions, http.MethodHead, http.MethodPatch, http.MethodTrace}

func methodRank(m string) int {
	for i, x := range methodOrder {
		if x == m {
			return i
		}
	}
	return len(methodOrder)
}

// yamlToJSON converts a YAML document to JSON, keeping the order of mapping keys so that the
// JSON reads like the YAML.
func yamlToJSON(src []byte) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, fmt.Errorf("spec: parse openapi.yaml: %w", err)
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, &root); err != nil {
		return nil, fmt.Errorf("spec: convert openapi.yaml to JSON: %w", err)
	}
	// Validate and indent in one go.
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("spec: convert openapi.yaml to JSON: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func writeJSON(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return fmt.Errorf("line %d: want one document, got %d", n.Line, len(n.Content))
		}
		return writeJSON(buf, n.Content[0])
	case yaml.AliasNode:
		return writeJSON(buf, n.Alias)
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				return fmt.Errorf("line %d: mapping keys must be plain scalars", k.Line)
			}
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeString(buf, k.Value); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := writeJSON(buf, v); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, c); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case yaml.ScalarNode:
		var v any
		switch n.ShortTag() {
		case "!!str", "!!binary", "!!timestamp":
			return writeString(buf, n.Value)
		case "!!null":
			buf.WriteString("null")
			return nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return err
			}
			v = b
		case "!!int":
			var i int64
			if err := n.Decode(&i); err != nil {
				return err
			}
			v = i
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				return err
			}
			v = f
		default:
			return fmt.Errorf("line %d: unsupported YAML tag %s", n.Line, n.ShortTag())
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		buf.Write(b)
		return nil
	}
	return fmt.Errorf("line %d: unsupported YAML node kind %d", n.Line, n.Kind)
}

// writeString writes s as a JSON string without HTML escaping, so that `<` and `>` in
// descriptions stay readable.
func writeString(buf *bytes.Buffer, s string) error {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return err
	}
	buf.WriteString(strings.TrimSuffix(b.String(), "\n"))
	return nil
}
