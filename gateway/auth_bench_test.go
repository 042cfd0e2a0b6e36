package gateway

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkBasicAuth measures a whole authenticated request (router, middleware, a handler
// that answers at once) with bcrypt at production costs: a verification-cache hit, and a
// miss that runs bcrypt. Run: go test -run '^$' -bench BasicAuth ./gateway/
func BenchmarkBasicAuth(b *testing.B) {
	b.Run("mode-none-baseline", func(b *testing.B) {
		stub := httptest.NewServer(http.HandlerFunc(emptyPrefect))
		b.Cleanup(stub.Close)
		s := newAuthServer(b, stub.URL+"/api", AuthOptions{Mode: AuthModeNone}, nil)
		for i := 0; i < b.N; i++ {
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/probe/whoami", nil))
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
	for _, cost := range []int{10, DefaultBcryptCost} {
		hash, err := HashPassword([]byte("bench-pw"), cost)
		if err != nil {
			b.Fatal(err)
		}
		file := writeUsersFile(b, "users:\n  - username: bench\n    password_bcrypt: \""+hash+"\"\n    role: Viewer\n")
		stub := httptest.NewServer(http.HandlerFunc(emptyPrefect))
		b.Cleanup(stub.Close)
		s := newAuthServer(b, stub.URL+"/api", AuthOptions{Mode: AuthModeUsers, UsersFile: file}, nil)
		req := func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/api/v1/probe/whoami", nil)
			r.SetBasicAuth("bench", "bench-pw")
			return r
		}
		serve := func(b *testing.B) {
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req())
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
		b.Run(fmt.Sprintf("cost%d/cached", cost), func(b *testing.B) {
			serve(b) // fills the cache
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				serve(b)
			}
		})
		b.Run(fmt.Sprintf("cost%d/uncached", cost), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				s.auth.verified.Flush()
				serve(b)
			}
		})
	}
}
