package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"airflow-prefect-gateway/e2e/harness"
)

// The HTTP edge, against the real binary (issue 12, items 12, 13, 15, 16).

// edgeGateway runs the binary in front of a Prefect that answers every read with nothing.
func edgeGateway(t *testing.T, env ...string) *harness.Process {
	t.Helper()
	prefect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		switch {
		case strings.HasSuffix(r.URL.Path, "/count"):
			_, _ = io.WriteString(w, "0")
		case r.URL.Path == "/api/ready":
			_, _ = io.WriteString(w, `{"message":"OK"}`)
		default:
			_, _ = io.WriteString(w, "[]")
		}
	}))
	t.Cleanup(prefect.Close)
	return harness.StartProcess(t, harness.BuildGateway(t), env, "--auth-mode", "none", "--prefect-api-url", prefect.URL+"/api")
}

func dialRaw(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	return c, bufio.NewReader(c)
}

// readProblem reads one answer and checks it is problem JSON with that status.
func readProblem(t *testing.T, r *bufio.Reader, status int, what string) *http.Response {
	t.Helper()
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("%s: no answer: %v", what, err)
	}
	body, _ := io.ReadAll(res.Body)
	var p struct {
		Status int     `json:"status"`
		Title  *string `json:"title"`
		Type   string  `json:"type"`
	}
	if res.StatusCode != status || res.Header.Get("Content-Type") != "application/problem+json" ||
		json.Unmarshal(body, &p) != nil || p.Status != status || p.Type == "" {
		t.Errorf("%s: %d %q %s, want a %d problem", what, res.StatusCode, res.Header.Get("Content-Type"), body, status)
	}
	return res
}

func TestGoOwnErrorAnswersAreProblems(t *testing.T) {
	gw := edgeGateway(t)
	cases := []struct {
		name, request string
		status        int
	}{
		{"a request line that is not HTTP", "GARBAGE\r\n\r\n", 400},
		{"HTTP/1.1 without Host", "GET /api/v1/version HTTP/1.1\r\n\r\n", 400},
		{"a header line without a colon", "GET /api/v1/version HTTP/1.1\r\nHost: x\r\nbogus\r\n\r\n", 400},
		{"an unknown transfer coding", "POST /api/v1/dags/~/dagRuns/list HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"headers over 1 MB", "GET /api/v1/version HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 2<<20) + "\r\n\r\n", 431},
	}
	for _, tc := range cases {
		c, r := dialRaw(t, gw.Addr)
		go func() { _, _ = io.WriteString(c, tc.request) }()
		readProblem(t, r, tc.status, tc.name)
	}
}

// Content-Length beside Transfer-Encoding: the answer closes the connection, so a pipelined
// request behind it is never served (it could be what a proxy in front read as a body).
func TestContentLengthWithTransferEncodingClosesTheConnection(t *testing.T) {
	gw := edgeGateway(t)
	c, r := dialRaw(t, gw.Addr)
	req := "POST /api/v1/dags/~/dagRuns/list HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
		"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n" +
		"GET /api/v1/version HTTP/1.1\r\nHost: x\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	if !res.Close {
		t.Errorf("the answer to a request with Content-Length and Transfer-Encoding keeps the connection (%d)", res.StatusCode)
	}
	if res2, err := http.ReadResponse(r, nil); err == nil {
		t.Errorf("the pipelined request behind it was answered too: %d", res2.StatusCode)
	}
}

// A body that arrives too slowly gets a 408 problem at the request deadline, logged as the
// client's delay, not as Prefect's.
func TestSlowBodyIsAnswered408(t *testing.T) {
	gw := edgeGateway(t, "GATEWAY_UPSTREAM_TIMEOUT=2s")
	c, r := dialRaw(t, gw.Addr)
	if _, err := io.WriteString(c, "POST /api/v1/dags/~/dagRuns/list HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"dag_ids\":"); err != nil {
		t.Fatal(err)
	}
	readProblem(t, r, http.StatusRequestTimeout, "a body still arriving at the deadline")
	// The access log line follows the answer: wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(gw.Stderr.String(), `"status":408`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	log := gw.Stderr.String()
	if strings.Contains(log, "Prefect did not answer") || !strings.Contains(log, `"status":408`) {
		t.Errorf("the log blames the wrong side:\n%s", log)
	}
}

// On SIGTERM a keep-alive client is never cut mid-request: an answer in flight, and a request
// sent on an idle connection during the drain, get full answers marked Connection: close.
func TestSIGTERMClosesKeepAliveConnectionsCleanly(t *testing.T) {
	gw := edgeGateway(t, "GATEWAY_SHUTDOWN_TIMEOUT=10s")
	get := "GET /api/v1/version HTTP/1.1\r\nHost: x\r\n\r\n"
	// Two keep-alive connections, each with one answered request, now idle.
	idle := make([]*bufio.Reader, 2)
	conns := make([]net.Conn, 2)
	for i := range idle {
		conns[i], idle[i] = dialRaw(t, gw.Addr)
		_, _ = io.WriteString(conns[i], get)
		res, err := http.ReadResponse(idle[i], nil)
		if err != nil || res.Close {
			t.Fatalf("warm-up: %v, close=%v", err, res != nil && res.Close)
		}
		_, _ = io.Copy(io.Discard, res.Body)
	}
	if err := gw.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // inside the drain, before the idle grace ends
	for i, c := range conns {
		if _, err := io.WriteString(c, get); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		res, err := http.ReadResponse(idle[i], nil)
		if err != nil {
			t.Fatalf("connection %d: a request on an idle keep-alive connection during the drain got no answer: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		if res.StatusCode != 200 || !res.Close {
			t.Errorf("connection %d: %d, close=%v; want 200 with Connection: close", i, res.StatusCode, res.Close)
		}
	}
	if err := gw.Wait(15 * time.Second); err != nil {
		t.Fatalf("exit: %v\n%s", err, gw.Stderr)
	}
}
