package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

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

// staticFile is a document or viewer file served as it is, with an ETag for revalidation.
// Its bytes stay where the binary holds them (read through open) and its ETag is worked out
// on first use: the viewer is 1.9 MB that most gateways never serve, and copying and hashing
// it at startup kept twice that resident.
type staticFile struct {
	open        func() (io.ReadSeeker, int64, error)
	contentType string
	etag        func() (string, error)
}

func newStaticFile(open func() (io.ReadSeeker, int64, error), contentType string) *staticFile {
	return &staticFile{open: open, contentType: contentType, etag: sync.OnceValues(func() (string, error) {
		body, _, err := open()
		if err != nil {
			return "", err
		}
		defer closeIfCloser(body)
		sum := sha256.New()
		if _, err := io.Copy(sum, body); err != nil {
			return "", err
		}
		return `"` + hex.EncodeToString(sum.Sum(nil)[:16]) + `"`, nil
	})}
}

// bytesFile opens a document held in memory.
func bytesFile(b []byte) func() (io.ReadSeeker, int64, error) {
	return func() (io.ReadSeeker, int64, error) { return bytes.NewReader(b), int64(len(b)), nil }
}

// fsFile opens a file of fsys; an embedded file reads the binary's own bytes, uncopied.
func fsFile(fsys fs.FS, name string) func() (io.ReadSeeker, int64, error) {
	return func() (io.ReadSeeker, int64, error) {
		f, err := fsys.Open(name)
		if err != nil {
			return nil, 0, err
		}
		info, err := f.Stat()
		if err != nil {
			_ = f.Close()
			return nil, 0, fmt.Errorf("stat %s: %w", name, err)
		}
		rs, seekable := f.(io.ReadSeeker)
		if !seekable {
			_ = f.Close()
			return nil, 0, fmt.Errorf("open %s: cannot seek it", name)
		}
		return rs, info.Size(), nil
	}
}

func closeIfCloser(r io.Reader) {
	if c, ok := r.(io.Closer); ok {
		_ = c.Close()
	}
}

func (f *staticFile) serve(c echo.Context) error {
	etag, err := f.etag()
	if err != nil {
		return fmt.Errorf("serve %s: %w", c.Request().URL.Path, err)
	}
	h := c.Response().Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache")
	if inm := c.Request().Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
		return c.NoContent(http.StatusNotModified)
	}
	body, size, err := f.open()
	if err != nil {
		return fmt.Errorf("serve %s: %w", c.Request().URL.Path, err)
	}
	defer closeIfCloser(body)
	h.Set(echo.HeaderContentLength, strconv.FormatInt(size, 10))
	return c.Stream(http.StatusOK, f.contentType, body)
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
	return newStaticDocOf(spec.YAML(), js)
}

// newStaticDocOf serves a document (YAML and JSON) with the viewer beside it.
func newStaticDocOf(yamlDoc, js []byte) *staticDoc {
	var err error
	ui := spec.UI()
	d := &staticDoc{
		yaml:   newStaticFile(bytesFile(yamlDoc), "application/yaml; charset=utf-8"),
		json:   newStaticFile(bytesFile(js), echo.MIMEApplicationJSON),
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
		ext := path.Ext(name)
		if strings.HasPrefix(ext, ".swagger-ui") {
			ext = ""
		}
		ct, ok := types[ext]
		if !ok {
			return fmt.Errorf("ui/%s: no content type for %q", name, ext)
		}
		d.assets[name] = newStaticFile(fsFile(ui, name), ct)
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
