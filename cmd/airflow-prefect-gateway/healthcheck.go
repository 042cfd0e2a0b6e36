package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthcheck is for container health checks in images without a shell or curl: it asks the
// gateway's open /api/v1/version and exits 0 when it answers 200.
func healthcheck(args []string, stdout io.Writer) int {
	url := "http://127.0.0.1:8080/api/v1/version"
	if len(args) > 0 {
		url = args[0]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintln(stdout, "healthcheck:", err)
		return 1
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stdout, "healthcheck:", err)
		return 1
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		fmt.Fprintln(stdout, "healthcheck: status", res.StatusCode)
		return 1
	}
	return 0
}
