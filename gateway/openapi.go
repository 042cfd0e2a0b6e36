package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/spec"
)

// Meta routes under /api/v1: the gateway's own OpenAPI document and its viewer. They are
// outside the Airflow API (and outside the document) and need no authentication.
const (
	specYAMLPath = "/openapi.yaml"
	specJSONPath = "/openapi.json"
	uiPath       = "/ui"
	uiAssetPath  = "/ui/*"
)

// metaRoutes are the routes registerSpecRoutes adds beside the Airflow API, relative to
// /api/v1. The drift tests exempt exactly these.
var metaRoutes = []string{specYAMLPath, specJSONPath, uiPath, uiAssetPath}

// registerSpecRoutes serves the gateway's OpenAPI document and viewer, and answers 501 for
// Airflow operations the gateway does not implement.
func (s *Server) registerSpecRoutes(g *echo.Group) {
	doc := newStaticDoc()
	g.GET(specYAMLPath, doc.yaml.serve)
	g.GET(specJSONPath, doc.json.serve)
	g.GET(uiPath, doc.index.serve)
	g.GET(uiAssetPath, doc.asset)
	registerNotImplemented(g)
}

// staticFile is a response computed once: body, content type and an ETag for revalidation.
type staticFile struct {
	body        []byte
	contentType string
	etag        string
}

func newStaticFile(body []byte, contentType string) *staticFile {
	sum := sha256.Sum256(body)
	return &staticFile{body: body, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

func (f *staticFile) serve(c echo.Context) error {
	h := c.Response().Header()
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "no-cache")
	if inm := c.Request().Header.Get("If-None-Match"); inm != "" && etagMatches(inm, f.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, f.contentType, f.body)
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

type staticDoc struct {
	yaml, json, index *staticFile
	assets            map[string]*staticFile
}

// newStaticDoc loads the embedded document and viewer. They are checked by spec's tests, so
// a failure here is a build defect: panic at startup rather than serve a broken gateway.
func newStaticDoc() *staticDoc {
	js, err := spec.JSON()
	if err != nil {
		panic(err)
	}
	spec.MustDocument()
	ui := spec.UI()
	d := &staticDoc{
		yaml:   newStaticFile(spec.YAML(), "application/yaml; charset=utf-8"),
		json:   newStaticFile(js, echo.MIMEApplicationJSON),
		assets: map[string]*staticFile{},
	}
	types := map[string]string{
		".html": echo.MIMETextHTMLCharsetUTF8,
		".js":   "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".txt":  echo.MIMETextPlainCharsetUTF8,
		".md":   "text/markdown; charset=utf-8",
		"":      echo.MIMETextPlainCharsetUTF8, // LICENSE.swagger-ui, NOTICE.swagger-ui
	}
	err = fs.WalkDir(ui, ".", func(name string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(ui, name)
		if err != nil {
			return err
		}
		ext := path.Ext(name)
		if strings.HasPrefix(ext, ".swagger-ui") {
			ext = ""
		}
		ct, ok := types[ext]
		if !ok {
			return fmt.Errorf("ui/%s: no content type for %q", name, ext)
		}
		d.assets[name] = newStaticFile(b, ct)
		return nil
	})
	if err != nil {
		panic(err)
	}
	d.index = d.assets["index.html"]
	if d.index == nil {
		panic("spec: ui/index.html is not embedded")
	}
	return d
}

// asset serves /api/v1/ui/<file>. /api/v1/ui/ redirects to /api/v1/ui, whose relative links
// the viewer relies on.
func (d *staticDoc) asset(c echo.Context) error {
	name := c.Param("*")
	if name == "" {
		return c.Redirect(http.StatusMovedPermanently, "../ui")
	}
	if f := d.assets[name]; f != nil && name != "index.html" {
		return f.serve(c)
	}
	return NotFound("", "The viewer has no file %q.", name)
}

// EchoPath turns an OpenAPI path template (/dags/{dag_id}) into Echo's syntax (/dags/:dag_id).
func EchoPath(openapiPath string) string {
	var b strings.Builder
	b.Grow(len(openapiPath))
	for i := 0; i < len(openapiPath); i++ {
		switch ch := openapiPath[i]; ch {
		case '{':
			b.WriteByte(':')
		case '}':
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// registerNotImplemented answers 501 for every operation of Airflow's API that the gateway's
// document does not list. Only (method, path) pairs absent from the document get a route, so
// a 501 route never takes the place of an implemented one, whichever order they are added in;
// Echo prefers static segments to parameters and backtracks, so /dags/~/dagRuns/list and
// /dags/:dag_id/dagRuns/:dag_run_id coexist.
func registerNotImplemented(g *echo.Group) {
	for _, op := range notImplementedOperations() {
		detail := fmt.Sprintf("Airflow operation %s (%s %s) is not implemented by airflow-prefect-gateway",
			op.OperationID, op.Method, op.Path)
		g.Add(op.Method, EchoPath(op.Path), func(echo.Context) error {
			return NewProblem(http.StatusNotImplemented, "Not Implemented", detail)
		})
	}
}

// notImplementedOperations are Airflow's operations that the gateway's document leaves out.
func notImplementedOperations() []spec.Operation {
	implemented := map[[2]string]bool{}
	for _, op := range mustOperations() {
		implemented[[2]string{op.Method, op.Path}] = true
	}
	var out []spec.Operation
	for _, op := range spec.AirflowOperations() {
		if !implemented[[2]string{op.Method, op.Path}] {
			out = append(out, op)
		}
	}
	return out
}

func mustOperations() []spec.Operation {
	ops, err := spec.Operations()
	if err != nil {
		panic(err)
	}
	return ops
}
