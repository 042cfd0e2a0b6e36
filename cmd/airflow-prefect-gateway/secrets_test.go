package main

import (
	"encoding/base64"
	"strings"
	"syscall"
	"testing"
	"time"

	"airflow-prefect-gateway/e2e/harness"
)

// A password in PREFECT_API_URL never reaches the log, at start or after (issue 12, item 8).
func TestStartLogHidesTheURLPassword(t *testing.T) {
	bin := harness.BuildGateway(t)
	const pw = "urlPassw0rdXYZ"
	gw := harness.StartProcess(t, bin, []string{"PREFECT_API_URL=http://ops:" + pw + "@" + harness.FreeLoopbackAddr(t) + "/api"},
		"--auth-mode", "none")
	_ = gw.Signal(syscall.SIGTERM)
	_ = gw.Wait(15 * time.Second)
	log := gw.Stderr.String()
	if !strings.Contains(log, "prefect_api_url") {
		t.Fatalf("no start line naming the Prefect URL:\n%s", log)
	}
	for _, s := range []string{pw, base64.StdEncoding.EncodeToString([]byte("ops:" + pw))} {
		if strings.Contains(log, s) {
			t.Errorf("the log carries %q:\n%s", s, log)
		}
	}
}
