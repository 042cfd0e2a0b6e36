package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ok.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer failing.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cases := []struct {
		url  string
		want int
	}{
		{ok.URL, 0},
		{failing.URL, 1},
		{closed.URL, 1},
		{"::not a url", 1},
	}
	for _, tc := range cases {
		if got := healthcheck([]string{tc.url}, io.Discard); got != tc.want {
			t.Errorf("healthcheck(%s) = %d, want %d", tc.url, got, tc.want)
		}
	}
}
