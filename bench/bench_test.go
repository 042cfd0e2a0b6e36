// Package bench holds the gateway's benchmarks (go test -bench ./bench/, or make bench):
// the pure translation on its own, and the hot handlers end to end in process, in front of
// the stub Prefect. Benchmarks measure; no test here asserts a speed.
package bench

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"airflow-prefect-gateway/bench/stubprefect"
	"airflow-prefect-gateway/gateway"
	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// stubRuns are the stub's runs as the gateway decodes them.
func stubRuns(b *testing.B, n int) []wire.FlowRun {
	b.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/api/flow_runs/filter", strings.NewReader(`{"limit":`+strconv.Itoa(n)+`}`))
	stubprefect.New(n).ServeHTTP(rec, req)
	var runs []wire.FlowRun
	if err := json.Unmarshal(rec.Body.Bytes(), &runs); err != nil || len(runs) != n {
		b.Fatalf("stub runs: %v (%d)", err, len(runs))
	}
	return runs
}

func BenchmarkTranslateFlowRunPage25(b *testing.B) {
	runs := stubRuns(b, 25)
	b.ReportAllocs()
	for b.Loop() {
		out := make([]translate.DAGRun, 0, len(runs))
		for _, r := range runs {
			out = append(out, translate.FromPrefectFlowRun(r, stubprefect.DAGID))
		}
		if raw := translate.AppendDAGRunCollection(nil, out, 0, len(out)); len(raw) == 0 {
			b.Fatal("nothing written")
		}
	}
}

// BenchmarkTranslatePrefectPage25 is the list path: Airflow's collection written straight
// from the bytes of Prefect's /paginate answer of 25 runs (translate.AppendDAGRunPageAnswer).
func BenchmarkTranslatePrefectPage25(b *testing.B) {
	rec := httptest.NewRecorder()
	stubprefect.New(25).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/flow_runs/paginate", strings.NewReader(`{"limit":25,"page":1}`)))
	raw := rec.Body.Bytes()
	dagOf := func([]byte) (string, bool) { return stubprefect.DAGID, true }
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	buf := make([]byte, 0, 64<<10)
	for b.Loop() {
		out, ok := translate.AppendDAGRunPageAnswer(buf[:0], raw, dagOf, 0)
		if !ok || len(out) == 0 {
			b.Fatal("the page went the ordinary way")
		}
	}
}

func BenchmarkDecodePrefectPage25(b *testing.B) {
	rec := httptest.NewRecorder()
	stubprefect.New(25).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/flow_runs/filter", strings.NewReader(`{"limit":25}`)))
	raw := rec.Body.Bytes()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		var runs []wire.FlowRun
		if err := prefect.Decode(raw, &runs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDAGRunListQuery(b *testing.B) {
	q, _ := url.ParseQuery("limit=25&offset=50&order_by=-execution_date&state=success&state=failed&execution_date_gte=2024-01-01T00:00:00%2B00:00")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := translate.ParseDAGRunListQuery(q, 100); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTrigger(b *testing.B) {
	body := []byte(`{"dag_run_id":"manual_1","logical_date":"2024-05-01T00:00:00+00:00","conf":{"batch_size":10,"region":"eu"},"note":"bench"}`)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		req, err := translate.ParseTrigger(body, now)
		if err != nil {
			b.Fatal(err)
		}
		_ = req.ToFlowRunCreate(stubprefect.DeploymentID)
	}
}

func BenchmarkParseTime(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := translate.ParseTime("2024-05-01T12:30:00.123456+02:00"); err != nil {
			b.Fatal(err)
		}
	}
}

// handlerGateway is the real gateway in process (auth off) in front of the stub on loopback.
func handlerGateway(b *testing.B) http.Handler {
	b.Helper()
	stub := httptest.NewServer(stubprefect.New(100))
	b.Cleanup(stub.Close)
	client, err := prefect.New(prefect.Options{BaseURL: stub.URL + "/api"})
	if err != nil {
		b.Fatal(err)
	}
	s, err := gateway.New(gateway.Options{Prefect: client, Logger: zap.NewNop(), Auth: gateway.AuthOptions{Mode: "none"}})
	if err != nil {
		b.Fatal(err)
	}
	return s.Handler()
}

func benchHandler(b *testing.B, method, path string, body func(i int) string) {
	h := handlerGateway(b)
	serve := func(i int) *httptest.ResponseRecorder {
		var r *http.Request
		if body != nil {
			r = httptest.NewRequest(method, path, strings.NewReader(body(i)))
			r.Header.Set("Content-Type", "application/json")
		} else {
			r = httptest.NewRequest(method, path, nil)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	if rec := serve(-1); rec.Code != http.StatusOK { // warms the DAG cache too
		b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if rec := serve(i); rec.Code != http.StatusOK {
			b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		i++
	}
}

func BenchmarkHandlerVersion(b *testing.B) {
	benchHandler(b, http.MethodGet, "/api/v1/version", nil)
}

func BenchmarkHandlerGetDAGRun(b *testing.B) {
	benchHandler(b, http.MethodGet, "/api/v1/dags/"+stubprefect.DAGID+"/dagRuns/scheduled__2024-05-05T04:00:00+00:00", nil)
}

func BenchmarkHandlerListDAGRuns25(b *testing.B) {
	benchHandler(b, http.MethodGet, "/api/v1/dags/"+stubprefect.DAGID+"/dagRuns?limit=25&order_by=-execution_date", nil)
}

// BenchmarkHandlerListDAGRuns25DefaultOrder is a list in Airflow's default order (ascending
// id, what clients send without order_by): a count, then Prefect's page read backwards.
func BenchmarkHandlerListDAGRuns25DefaultOrder(b *testing.B) {
	benchHandler(b, http.MethodGet, "/api/v1/dags/"+stubprefect.DAGID+"/dagRuns?limit=25&offset=25", nil)
}

func BenchmarkHandlerTrigger(b *testing.B) {
	benchHandler(b, http.MethodPost, "/api/v1/dags/"+stubprefect.DAGID+"/dagRuns", func(i int) string {
		return `{"dag_run_id":"bench-` + strconv.Itoa(i) + `","conf":{"batch_size":10}}`
	})
}

func BenchmarkHandlerGetDAG(b *testing.B) {
	benchHandler(b, http.MethodGet, "/api/v1/dags/"+stubprefect.DAGID, nil)
}
