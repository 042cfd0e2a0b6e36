package gateway

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/spec"
)

// registerV2SpecRoutes serves the gateway's v2 document where Airflow 3 serves its own
// (/openapi.json, which airflow-mcp-server and other spec-driven clients read) and beside the
// v1 one (/api/v2/openapi.json and .yaml), with the viewer at /api/v2/ui; /docs, Airflow 3's
// viewer address, leads there. All open, as in Airflow.
func (s *Server) registerV2SpecRoutes(e *echo.Echo, v2 *echo.Group) {
	js, err := spec.V2JSON()
	if err != nil {
		panic(err) // the embedded document is checked by spec's tests
	}
	spec.MustV2Document()
	doc := newStaticDocOf(spec.V2YAML(), js)
	e.GET(rootSpecJSONPath, doc.json.serve)
	v2.GET(specJSONPath, doc.json.serve)
	v2.GET(specYAMLPath, doc.yaml.serve)
	v2.GET(uiPath, doc.index.serve)
	v2.GET(uiAssetPath, doc.asset)
	toViewer := func(c echo.Context) error { return c.Redirect(http.StatusTemporaryRedirect, v2Prefix+uiPath) }
	e.GET(rootDocsPath, toViewer)
	e.GET(rootDocsPath+"/*", toViewer)
}
