package gateway

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"strings"

	"airflow-prefect-gateway/translate"
)

// Go's HTTP server answers some requests before any handler runs: a request line or header
// it cannot parse (400), headers over MaxHeaderBytes (431), a transfer coding it does not know
// (501). It writes those answers itself, in plain text, straight to the connection:
//
//	HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request
//
// net/http offers no hook for them, so the listener's connections recognise that one shape
// (the only answer Go writes with those two headers in that order, in one write, at the
// start of an answer) and send the same status as the gateway's problem JSON instead.

const goErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

type problemListener struct {
	net.Listener
	airflowJSON bool
}

func (l *problemListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &problemConn{Conn: c, airflowJSON: l.airflowJSON}, nil
}

type problemConn struct {
	net.Conn
	airflowJSON bool
}

// CloseWrite keeps the half-close Go uses after a 431 (closeWriteAndWait).
func (c *problemConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *problemConn) Write(p []byte) (int, error) {
	if answer, ok := goErrorAsProblem(p, c.airflowJSON); ok {
		if _, err := c.Conn.Write(answer); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// goErrorAsProblem rewrites one of Go's own plain-text error answers as problem JSON.
func goErrorAsProblem(p []byte, airflowJSON bool) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(p, []byte("HTTP/1.1 "))
	if !ok {
		return nil, false
	}
	statusLine, body, ok := bytes.Cut(rest, []byte(goErrorHeaders))
	if !ok || len(statusLine) < 3 || bytes.ContainsAny(statusLine, "\r\n") {
		return nil, false
	}
	code, err := strconv.Atoi(string(statusLine[:3]))
	if err != nil || code < 400 || code > 599 {
		return nil, false
	}
	pr := NewProblem(code, "", goErrorDetail(code, string(body)))
	raw, _ := pr.MarshalJSON()
	if airflowJSON {
		if out, err := translate.AppendAirflowJSON(nil, raw); err == nil {
			raw = out
		}
	}
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n")
	b.WriteString("Content-Type: " + problemContentType + "\r\n")
	b.WriteString("Content-Length: " + strconv.Itoa(len(raw)) + "\r\n")
	b.WriteString("Connection: close\r\n\r\n")
	b.Write(raw)
	return b.Bytes(), true
}

// goErrorDetail says in words what Go refused; Go's own text follows the status when it
// gives one ("400 Bad Request: missing required Host header").
func goErrorDetail(code int, body string) string {
	prefix := strconv.Itoa(code) + " " + http.StatusText(code)
	if why, ok := strings.CutPrefix(body, prefix+": "); ok && why != "" {
		return "The request could not be read: " + why + "."
	}
	switch code {
	case http.StatusRequestHeaderFieldsTooLarge:
		return "The request's header fields are larger than the gateway accepts."
	case http.StatusNotImplemented:
		return "The request uses a transfer encoding the gateway does not implement (only chunked)."
	}
	return "The request could not be read as HTTP/1.1."
}
