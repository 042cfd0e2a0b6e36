package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/translate"
)

// DAG files (issue 15): GET /dagSources/{file_token} and PUT /parseDagFile/{file_token}.
//
// A DAG's file_token (in /dags and /dags/{dag_id}/details) is its deployment's id, so a token
// resolves to the deployment without a lookup table and stays valid for as long as the
// deployment exists. Airflow signs its tokens so that they cannot be forged; here a forged
// token can only name a deployment id, which is checked against what the caller may see.
//
// Prefect calls: 1 (the deployment, read fresh by id), plus its flow's name when it is not
// cached yet (flow names are cached forever).
//
// Re-parsing: Airflow queues a request for its DAG processor to read the file again soon.
// Prefect has no parse step: a deployment is registered by `prefect deploy` or the API, and
// every run fetches the flow's code afresh through its pull steps. So there is never a stale
// parse to refresh, and the request is fulfilled as soon as it is made: 201, as Airflow
// answers a queued request, after checking that the token names a DAG the caller may see.

func (s *Server) registerDAGSourceRoutes(g *echo.Group) {
	s.route(g, http.MethodGet, "/dagSources/:file_token", s.getDAGSource, RoleViewer)
	s.route(g, http.MethodPut, "/parseDagFile/:file_token", s.reparseDAGFile, RoleUser)
}

type dagSourceJSON struct {
	Content string `json:"content"`
}

func (s *Server) getDAGSource(c echo.Context) error {
	mediaType, ok := negotiate(c.Request().Header.Get(echo.HeaderAccept), mimeTextPlain, echo.MIMEApplicationJSON)
	if !ok {
		return NewProblem(http.StatusNotAcceptable, "", "Not Allowed Accept Header")
	}
	notFound := NewProblem(http.StatusNotFound, "Dag source not found", "")
	dag, err := s.dagOfFileToken(c.Request().Context(), principalOf(c), decodedPathParam(c, "file_token"), notFound)
	if err != nil {
		return err
	}
	text := translate.DAGSourceText(translate.DAGSourceInfo{DAGID: dag.DAGID, FlowName: dag.FlowName, Deployment: dag.Deployment})
	if mediaType == mimeTextPlain {
		return c.Blob(http.StatusOK, mimeTextPlain, []byte(text))
	}
	return c.JSON(http.StatusOK, dagSourceJSON{Content: text})
}

func (s *Server) reparseDAGFile(c echo.Context) error {
	notFound := NewProblem(http.StatusNotFound, "File not found", "")
	if _, err := s.dagOfFileToken(c.Request().Context(), principalOf(c), decodedPathParam(c, "file_token"), notFound); err != nil {
		return err
	}
	return c.NoContent(http.StatusCreated)
}

// dagOfFileToken is the DAG whose file_token is token, read fresh; notFound is the answer
// for a token that names no deployment, or one the caller may not see.
func (s *Server) dagOfFileToken(ctx context.Context, p *Principal, token string, notFound *Problem) (prefect.ResolvedDAG, error) {
	if !looksLikeUUID(token) {
		return prefect.ResolvedDAG{}, notFound
	}
	dep, err := s.prefect.ReadDeployment(ctx, token)
	if prefect.IsNotFound(err) {
		return prefect.ResolvedDAG{}, notFound
	}
	if err != nil {
		return prefect.ResolvedDAG{}, FromUpstream(fmt.Errorf("read deployment %s: %w", token, err))
	}
	names, err := s.dags.FlowNames(ctx, []string{dep.FlowID})
	if err != nil {
		return prefect.ResolvedDAG{}, FromUpstream(err)
	}
	flow, ok := names[dep.FlowID]
	if !ok {
		return prefect.ResolvedDAG{}, notFound // its flow is being deleted, and the deployment with it
	}
	res := prefect.ResolvedDAG{DAGID: s.dags.DAGID(dep, flow), FlowName: flow, Deployment: dep}
	if !p.CanAccessDAG(res.DAGID) {
		return prefect.ResolvedDAG{}, notFound
	}
	return res, nil
}

// looksLikeUUID reports whether s has the 8-4-4-4-12 hex shape of a Prefect id, so that a
// token that cannot be one costs no call.
func looksLikeUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if ch != '-' {
				return false
			}
		case '0' <= ch && ch <= '9', 'a' <= ch && ch <= 'f', 'A' <= ch && ch <= 'F':
		default:
			return false
		}
	}
	return true
}

const mimeTextPlain = "text/plain"

// negotiate picks, among offers (in the server's order of preference), the media type the
// Accept header ranks highest, as werkzeug's best_match does for Airflow: the highest
// quality wins, ties go to the earlier offer, and a missing header accepts anything. ok is
// false when the header accepts none of them.
func negotiate(accept string, offers ...string) (string, bool) {
	if strings.TrimSpace(accept) == "" {
		return offers[0], true
	}
	best, bestQ := "", 0.0
	for _, offer := range offers {
		q := acceptQuality(accept, offer)
		if q > bestQ {
			best, bestQ = offer, q
		}
	}
	return best, bestQ > 0
}

// acceptQuality is the q the Accept header gives mediaType: its most specific matching range
// (type/subtype over type/* over */*) decides.
func acceptQuality(accept, mediaType string) float64 {
	typ, _, _ := strings.Cut(mediaType, "/")
	q, specificity := 0.0, -1
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		rng := strings.ToLower(strings.TrimSpace(fields[0]))
		spec := -1
		switch {
		case rng == mediaType:
			spec = 2
		case rng == typ+"/*":
			spec = 1
		case rng == "*/*" || rng == "*":
			spec = 0
		}
		if spec < specificity || spec < 0 {
			continue
		}
		weight := 1.0
		for _, param := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(param), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
					weight = f
				}
			}
		}
		q, specificity = weight, spec
	}
	return q
}
