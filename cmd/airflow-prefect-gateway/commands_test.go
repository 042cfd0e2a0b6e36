package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
)

func runCLI(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// --help lists the commands and exits 0; each command has its own --help (issue 21).
func TestHelpListsTheCommands(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, out, errOut := runCLI(args...)
		if code != 0 || errOut != "" {
			t.Errorf("%v: exit %d, stderr %q; want 0 and nothing", args, code, errOut)
		}
		for _, c := range commands() {
			if !strings.Contains(out, "\n  "+c.Name+" ") {
				t.Errorf("%v: the help does not list %s:\n%s", args, c.Name, out)
			}
		}
	}
	for _, c := range commands() {
		for _, args := range [][]string{{c.Name, "--help"}, {"help", c.Name}} {
			code, out, errOut := runCLI(args...)
			if code != 0 || errOut != "" || !strings.HasPrefix(out, "Usage: airflow-prefect-gateway "+c.Name) {
				t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
			}
		}
	}
	if _, out, _ := runCLI("serve", "--help"); !strings.Contains(out, "GATEWAY_UPSTREAM_TIMEOUT") || !strings.Contains(out, "default 30s") {
		t.Errorf("serve --help does not name the variables and defaults:\n%s", out)
	}
	if code, _, errOut := runCLI("bogus"); code != 2 || !strings.Contains(errOut, `unknown command "bogus"`) || !strings.Contains(errOut, "hash-password") {
		t.Errorf("an unknown command: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI("version", "--bogus"); code != 2 || !strings.Contains(errOut, "bogus") {
		t.Errorf("a bad flag: exit %d, %q", code, errOut)
	}
	if code, out, _ := runCLI("version"); code != 0 || strings.TrimSpace(out) != version {
		t.Errorf("version: %d %q", code, out)
	}
}

// A port someone else holds is not an invalid setting: the message says it is in use.
func TestBusyPortSaysSo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, _, errOut := runCLI("--auth-mode", "none", "--listen", ln.Addr().String())
	if code != 2 || !strings.Contains(errOut, "already in use") || strings.Contains(errOut, "invalid") {
		t.Errorf("exit %d, %q; want 2 and a message that the address is in use", code, errOut)
	}
	if n := strings.Count(strings.TrimSpace(errOut), "\n"); n != 0 {
		t.Errorf("%d lines, want one: %q", n+1, errOut)
	}
}
