package main

import (
	"bytes"
	"encoding/json"

	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"airflow-prefect-gateway/e2e/harness"
)

// A SIGTERM while a slow request is in flight lets that request finish with its real answer,
// then the process exits 0.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	bin := harness.BuildGateway(t)
	inFlight := make(chan struct{}, 1)
	// A slow Prefect: /ready takes a second and a half.
	prefect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/ready" {
			select {
			case inFlight <- struct{}{}:
			default:
			}
			time.Sleep(1500 * time.Millisecond)
		}
		_, _ = io.WriteString(w, `{"message":"OK"}`)
	}))
	defer prefect.Close()

	gw := harness.StartProcess(t, bin, []string{"GATEWAY_SHUTDOWN_TIMEOUT=10s"},
		"--auth-mode", "none", "--prefect-api-url", prefect.URL+"/api")
	addr := gw.Addr

	type answer struct {
		status int
		body   []byte
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := http.Get("http://" + addr + "/api/v1/health")
		if err != nil {
			done <- answer{err: err}
			return
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		done <- answer{status: res.StatusCode, body: body, err: err}
	}()
	select {
	case <-inFlight:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow request never reached Prefect")
	}
	if err := gw.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	a := <-done
	if a.err != nil {
		t.Fatalf("in-flight request failed during shutdown: %v\nlog:\n%s", a.err, gw.Stderr)
	}
	var h struct {
		Metadatabase struct{ Status string } `json:"metadatabase"`
	}
	if err := json.Unmarshal(a.body, &h); err != nil || a.status != 200 || h.Metadatabase.Status != "healthy" {
		t.Fatalf("in-flight request answered %d %s, want 200 healthy", a.status, a.body)
	}
	if err := gw.Wait(15 * time.Second); err != nil {
		t.Fatalf("after SIGTERM: %v, want exit 0\nlog:\n%s", err, gw.Stderr)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("still accepting connections after exit")
	}
}

func TestBadSettingStopsTheStart(t *testing.T) {
	bin := harness.BuildGateway(t)
	cases := []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--upstream-timeout", "forever"}, "", "--upstream-timeout"},
		{nil, "PREFECT_API_URL=nope", "PREFECT_API_URL"},
		{[]string{"--auth-mode", "none", "--listen", "256.0.0.1:80"}, "", "GATEWAY_LISTEN"},
	}
	for _, tc := range cases {
		cmd := exec.Command(bin, tc.args...)
		cmd.Env = os.Environ()
		if tc.env != "" {
			cmd.Env = append(cmd.Env, tc.env)
		}
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if err == nil || !asExit(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("%v %s: err=%v, want exit 2", tc.args, tc.env, err)
		}
		lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
		if len(lines) != 1 || !bytes.Contains(out, []byte(tc.want)) {
			t.Errorf("%v %s: output %q, want one line naming %s", tc.args, tc.env, out, tc.want)
		}
	}
}

func asExit(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}
