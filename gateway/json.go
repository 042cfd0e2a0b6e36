package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/translate"
)

// The gateway's one JSON writer. Every answer, whether Echo's c.JSON, a page written straight
// from Prefect's bytes or a problem, leaves through writeJSONBytes, which writes it in the
// configured format:
//
//   - JSONFormatAirflow (the default): Airflow 2.10's own bytes, json.dumps(indent=2,
//     sort_keys=True, ensure_ascii=True) and a newline (translate.AppendAirflowJSON), so that
//     scripts that grep Airflow's answers ("state": "success") work unchanged;
//   - JSONFormatCompact: the compact JSON the handlers build (keys in schema order, no white
//     space), about a third fewer bytes and no re-encoding pass, for clients that parse.

// JSON formats of Options.JSONFormat.
const (
	JSONFormatAirflow = "airflow"
	JSONFormatCompact = "compact"
)

// ParseJSONFormat checks a configured format name; empty is the default.
func ParseJSONFormat(s string) (string, error) {
	switch s {
	case "", JSONFormatAirflow:
		return JSONFormatAirflow, nil
	case JSONFormatCompact:
		return JSONFormatCompact, nil
	}
	return "", fmt.Errorf("json format %q: want %q or %q", s, JSONFormatAirflow, JSONFormatCompact)
}

// jsonWriter is Echo's JSONSerializer, so that c.JSON writes the configured format too.
type jsonWriter struct {
	airflow bool
}

// Serialize encodes i for c.JSON; Echo has already set the status and content type.
func (j *jsonWriter) Serialize(c echo.Context, i any, _ string) error {
	body, err := json.Marshal(i)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	res := c.Response()
	return j.write(c, res.Status, res.Header().Get(echo.HeaderContentType), body)
}

// Deserialize decodes a request body for c.Bind, as Echo's default does.
func (j *jsonWriter) Deserialize(c echo.Context, i any) error {
	return echo.DefaultJSONSerializer{}.Deserialize(c, i)
}

// airflowBuffers hold the re-encoded answers until they are sent.
var airflowBuffers = sync.Pool{New: func() any { return new([]byte) }}

// write sends body (compact JSON), re-encoded as Airflow writes it when so configured, with
// its length, so that it leaves in one write without chunk framing.
func (j *jsonWriter) write(c echo.Context, status int, contentType string, body []byte) error {
	// Airflow 3 (FastAPI) answers compact JSON: only /api/v1 is re-encoded as Airflow 2 writes.
	if j.airflow && generationOf(c) != generationV2 {
		buf := airflowBuffers.Get().(*[]byte)
		defer func() {
			if cap(*buf) <= 256<<10 {
				airflowBuffers.Put(buf)
			}
		}()
		out, err := translate.AppendAirflowJSON((*buf)[:0], body)
		if err != nil {
			return fmt.Errorf("re-encode answer: %w", err)
		}
		*buf = out[:0]
		body = out
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, contentType)
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	c.Response().WriteHeader(status)
	if isHead(c) {
		return nil
	}
	_, err := c.Response().Write(body)
	return err
}

// jsonWriterOf is the server's writer; an Echo without one (never in this package's servers)
// gets the Airflow format.
func jsonWriterOf(c echo.Context) *jsonWriter {
	if j, ok := c.Echo().JSONSerializer.(*jsonWriter); ok {
		return j
	}
	return &jsonWriter{airflow: true}
}

// writeJSONBytes answers status with body, compact JSON, in the configured format.
func writeJSONBytes(c echo.Context, status int, body []byte) error {
	return jsonWriterOf(c).write(c, status, echo.MIMEApplicationJSON, body)
}

// headKey marks a HEAD request that headAsGet turned into a GET.
const headKey = "gateway.head"

// headAsGet answers HEAD on every GET route as Flask does for Airflow: the GET's status and
// headers, Content-Length included, and no body. Echo routes HEAD nowhere by itself (405).
func headAsGet(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if r := c.Request(); r.Method == http.MethodHead {
			c.Set(headKey, true)
			r.Method = http.MethodGet
		}
		return next(c)
	}
}

func isHead(c echo.Context) bool {
	head, _ := c.Get(headKey).(bool)
	return head || c.Request().Method == http.MethodHead
}
