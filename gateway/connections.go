package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/translate"
)

// Connections (issue 15), /api/v1: Airflow's connection endpoints on block documents of the
// gateway's "airflow-connection" block type (connections_store.go). Op and Admin only, as in
// Airflow. The password is written to Prefect as a secret field and never answered.
//
// Prefect calls:
//
//	GET    /connections          1 per 200 connections (all are read: Airflow sorts by fields
//	                             Prefect cannot sort block documents by)
//	POST   /connections          1 (+3 once per process: register the block type and schema)
//	GET    /connections/{id}     1
//	PATCH  /connections/{id}     2 (read, write)
//	DELETE /connections/{id}     2 (read for the block's id, delete)
//	POST   /connections/test     0 (Airflow's "disabled" 403 by default; a TCP dial when enabled)

// Test-connection settings, Airflow's [core] test_connection values.
const (
	TestConnectionDisabled = "Disabled"
	TestConnectionEnabled  = "Enabled"
	TestConnectionHidden   = "Hidden"
)

// testConnectionDisabled is Airflow's own answer, plain text (not a problem), with status 403.
const testConnectionDisabled = "Testing connections is disabled in Airflow configuration. Contact your deployment admin to enable it."

// connectionTestTimeout bounds the TCP dial of an enabled test.
const connectionTestTimeout = 5 * time.Second

func (s *Server) registerConnectionRoutes(g *echo.Group) {
	a := &connectionAPI{s: s, store: connectionStore{pc: s.prefect, types: s.blockTypes}}
	s.route(g, http.MethodGet, "/connections", a.list, RoleOp)
	s.route(g, http.MethodPost, "/connections", a.post, RoleOp)
	s.route(g, http.MethodPost, "/connections/test", a.test, RoleOp)
	s.route(g, http.MethodGet, "/connections/:connection_id", a.get, RoleOp)
	s.route(g, http.MethodPatch, "/connections/:connection_id", a.patch, RoleOp)
	s.route(g, http.MethodDelete, "/connections/:connection_id", a.delete, RoleOp)
}

type connectionAPI struct {
	s     *Server
	store connectionStore
}

// v1ConnectionItem is Airflow's ConnectionCollectionItem; v1Connection adds extra.
type v1ConnectionItem struct {
	ConnectionID string  `json:"connection_id"`
	ConnType     string  `json:"conn_type"`
	Description  *string `json:"description"`
	Host         *string `json:"host"`
	Login        *string `json:"login"`
	Schema       *string `json:"schema"`
	Port         *int    `json:"port"`
}

type v1Connection struct {
	v1ConnectionItem
	Extra *string `json:"extra"`
}

type v1ConnectionCollection struct {
	Connections  []v1ConnectionItem `json:"connections"`
	TotalEntries int                `json:"total_entries"`
}

func toV1ConnectionItem(c translate.Connection) v1ConnectionItem {
	return v1ConnectionItem{ConnectionID: c.ConnID, ConnType: c.ConnType, Description: c.Description,
		Host: c.Host, Login: c.Login, Schema: c.Schema, Port: c.Port}
}

// toV1Connection is the connection with its extra redacted, as Airflow shows it.
func (a *connectionAPI) toV1Connection(c translate.Connection) v1Connection {
	out := v1Connection{v1ConnectionItem: toV1ConnectionItem(c)}
	if c.Extra != nil {
		x := a.s.sensitive.RedactJSONText(*c.Extra)
		out.Extra = &x
	}
	return out
}

func (a *connectionAPI) list(c echo.Context) error {
	q := c.QueryParams()
	lq, err := translate.ParseListQuery(q.Get("limit"), q.Get("offset"), q.Get("order_by"), "id",
		translate.ConnectionOrderFields, a.s.opts.MaxPageLimit)
	if err != nil {
		return BadRequest("%s", err)
	}
	conns, created, err := a.store.list(c.Request().Context())
	if err != nil {
		return err
	}
	translate.SortConnections(conns, created, lq.OrderBy)
	lo, hi := translate.PageBounds(len(conns), lq.Page)
	out := v1ConnectionCollection{Connections: make([]v1ConnectionItem, 0, hi-lo), TotalEntries: len(conns)}
	for _, x := range conns[lo:hi] {
		out.Connections = append(out.Connections, toV1ConnectionItem(x))
	}
	return c.JSON(http.StatusOK, out)
}

func (a *connectionAPI) get(c echo.Context) error {
	id := decodedPathParam(c, "connection_id")
	cur, err := a.store.get(c.Request().Context(), id)
	if err != nil {
		return connectionProblem(err, id)
	}
	return c.JSON(http.StatusOK, a.toV1Connection(cur.Connection))
}

func (a *connectionAPI) post(c echo.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	w, err := translate.ParseConnectionBody(body, false)
	if err != nil {
		return badInputProblem(err)
	}
	if err := translate.ValidateConnectionID(w.ConnID); err != nil {
		return badInputProblem(err)
	}
	conn, err := a.store.create(c.Request().Context(), w)
	if err != nil {
		return connectionProblem(err, w.ConnID)
	}
	return c.JSON(http.StatusOK, a.toV1Connection(conn))
}

func (a *connectionAPI) patch(c echo.Context) error {
	id := decodedPathParam(c, "connection_id")
	body, err := readBody(c)
	if err != nil {
		return err
	}
	w, err := translate.ParseConnectionBody(body, true)
	if err != nil {
		return badInputProblem(err)
	}
	ctx := c.Request().Context()
	cur, err := a.store.get(ctx, id)
	if err != nil {
		return connectionProblem(err, id)
	}
	w, err = translate.ConnectionPatch(id, w, translate.ParseUpdateMask(c.QueryParams()["update_mask"]))
	if err != nil {
		return badInputProblem(err)
	}
	conn, err := a.store.update(ctx, cur, w)
	if err != nil {
		return connectionProblem(err, id)
	}
	return c.JSON(http.StatusOK, a.toV1Connection(conn))
}

func (a *connectionAPI) delete(c echo.Context) error {
	id := decodedPathParam(c, "connection_id")
	if err := a.store.delete(c.Request().Context(), id); err != nil {
		return connectionProblem(err, id)
	}
	return c.NoContent(http.StatusNoContent)
}

type v1ConnectionTest struct {
	Status  bool   `json:"status"`
	Message string `json:"message"`
}

// test is POST /connections/test: Airflow's own plain-text 403 unless the gateway's
// test_connection setting is Enabled; then it checks that a TCP connection to the body's
// host and port opens (the gateway runs no Airflow hooks, so credentials are not checked,
// and the message says so).
func (a *connectionAPI) test(c echo.Context) error {
	if !strings.EqualFold(strings.TrimSpace(a.s.opts.TestConnection), TestConnectionEnabled) {
		return c.HTML(http.StatusForbidden, testConnectionDisabled)
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	w, err := translate.ParseConnectionBody(body, false)
	if err != nil {
		return badInputProblem(err)
	}
	return c.JSON(http.StatusOK, dialTest(c.Request().Context(), w.Host, w.Port))
}

func dialTest(ctx context.Context, host *string, port *int) v1ConnectionTest {
	if host == nil || *host == "" || port == nil {
		return v1ConnectionTest{Status: false, Message: "The gateway tests a connection by opening a TCP connection to its host and port; this one has no host or no port."}
	}
	addr := net.JoinHostPort(*host, strconv.Itoa(*port))
	ctx, cancel := context.WithTimeout(ctx, connectionTestTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return v1ConnectionTest{Status: false, Message: fmt.Sprintf("Could not open a TCP connection to %s: %v", addr, err)}
	}
	conn.Close()
	return v1ConnectionTest{Status: true, Message: fmt.Sprintf("A TCP connection to %s opened (the gateway checks reachability only, not credentials).", addr)}
}

// connectionProblem words a connection failure as Airflow does.
func connectionProblem(err error, id string) error {
	var ie *translate.InputError
	switch {
	case errors.Is(err, errConnectionNotFound):
		return NotFound("Connection not found", "The Connection with connection_id: `%s` was not found", id)
	case errors.Is(err, errConnectionExists):
		return Problemf(http.StatusConflict, "", "Connection already exist. ID: %s", id)
	case errors.As(err, &ie):
		return badInputProblem(err)
	}
	if pe, ok := prefect.AsError(err); ok && pe.Kind == prefect.KindInvalid {
		return FromUpstream(err)
	}
	return err
}
