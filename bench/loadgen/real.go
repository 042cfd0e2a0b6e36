package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
)

// compareReal is part (c): list runs and trigger through the gateway against the same work
// done by calling the real Prefect server directly, at the same concurrency.
func compareReal(bin, prefectURL string, conc int, dur time.Duration, max int64) error {
	u, err := url.Parse(prefectURL)
	if err != nil {
		return err
	}
	if host, _, err := net.SplitHostPort(u.Host); err != nil || !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("-prefect %q is not a loopback address", prefectURL)
	}
	ctx := context.Background()
	seeder, err := prefect.New(prefect.Options{BaseURL: prefectURL, MaxConcurrentWrites: 1})
	if err != nil {
		return err
	}
	flow, err := seeder.CreateFlow(ctx, "bench_real_flow", nil)
	if err != nil {
		return fmt.Errorf("seed flow: %w", err)
	}
	dep, err := seeder.CreateDeployment(ctx, map[string]any{"name": "load", "flow_id": flow.ID, "enforce_parameter_schema": false})
	if err != nil {
		return fmt.Errorf("seed deployment: %w", err)
	}
	for i := 0; i < 40; i++ {
		at := time.Date(2024, 5, 1, i, 0, 0, 0, time.UTC)
		body := wire.FlowRunCreate{Name: "seed-" + strconv.Itoa(i), IdempotencyKey: "bench-seed-" + strconv.Itoa(i),
			State: &wire.StateCreate{Type: wire.Scheduled, StateDetails: &wire.StateDetails{ScheduledTime: &at}}}
		// A busy SQLite Prefect answers 503 now and then: the keyed create is safe to repeat.
		for try := 1; ; try++ {
			_, _, err := seeder.CreateFlowRun(ctx, dep.ID, body)
			if err == nil {
				break
			}
			if try == 5 {
				return fmt.Errorf("seed run: %w", err)
			}
			time.Sleep(time.Duration(try) * time.Second)
		}
	}
	gw, err := startGateway(bin, prefectURL)
	if err != nil {
		return err
	}
	defer gw.stop()
	client := newClient(conc)
	base := gw.url + "/api/v1/dags/bench_real_flow.load/dagRuns"
	api := prefectURL

	// The direct equivalent of a list is the one call the gateway makes for it, body for body:
	// a page of flow runs together with their count (/flow_runs/paginate), filtered on the
	// run's own deployment_id. (A filter on deployments.id, which Prefect answers with a join,
	// made the direct side some 15 % slower than the gateway's.)
	directList := send(client, func(int64) (string, string, []byte) {
		return "POST", api + "/flow_runs/paginate",
			[]byte(`{"flow_runs":{"deployment_id":{"any_":["` + dep.ID + `"]}},"sort":"EXPECTED_START_TIME_DESC","limit":25,"page":1}`)
	})
	gatewayList := send(client, func(int64) (string, string, []byte) { return "GET", base + "?limit=25&order_by=-execution_date", nil })
	directTrigger := send(client, func(n int64) (string, string, []byte) {
		id := "direct-" + strconv.FormatInt(n, 10)
		return "POST", api + "/deployments/" + dep.ID + "/create_flow_run",
			[]byte(`{"name":"` + id + `","idempotency_key":"airflow:` + dep.ID + `:` + id + `"}`)
	})
	gatewayTrigger := send(client, func(n int64) (string, string, []byte) {
		return "POST", base, []byte(`{"dag_run_id":"gw-` + strconv.FormatInt(n, 10) + `"}`)
	})

	// Warm-up: connections and the gateway's DAG cache.
	driveAction(2, time.Second, 20, gatewayList)
	driveAction(2, time.Second, 20, directList)

	fmt.Printf("(c) through the gateway vs the same calls made directly, real Prefect %s; %d connections, %s each\n", prefectURL, conc, dur)
	fmt.Printf("%-12s %12s %12s %12s %12s %8s %s\n", "operation", "gateway ok/s", "direct ok/s", "gateway mean", "direct mean", "ratio", "failed answers")
	// Lists never fail, so the two are compared call by call: every connection alternates a
	// call through the gateway and a direct one (which goes first alternates too), and both
	// see the same moments of a SQLite Prefect, whose pace swings by ±20 % from one
	// few-second stretch to the next (taking turns in rounds, list ratios still ranged from
	// 0.84 to 1.13 with identical bodies). The ratio is of mean latencies, which for a closed
	// loop is the inverse ratio of throughputs.
	sum0, _ := metricSum(gw.url, "airflow_prefect_gateway_prefect_call_duration_seconds_sum", `endpoint="flow_runs/paginate"`)
	n0, _ := metricSum(gw.url, "airflow_prefect_gateway_prefect_call_duration_seconds_count", `endpoint="flow_runs/paginate"`)
	g, d, diff := drivePaired(conc, dur, max, gatewayList, directList)
	sum1, _ := metricSum(gw.url, "airflow_prefect_gateway_prefect_call_duration_seconds_sum", `endpoint="flow_runs/paginate"`)
	n1, _ := metricSum(gw.url, "airflow_prefect_gateway_prefect_call_duration_seconds_count", `endpoint="flow_runs/paginate"`)
	fmt.Printf("%-12s %12.1f %12.1f %12s %12s %8.3f gateway: %s; direct: %s\n", "list runs", g.okRate(), d.okRate(),
		ms(g.mean()), ms(d.mean()), float64(g.mean())/float64(d.mean()), orNone(nonOK(g)), orNone(nonOK(d)))
	if dm := float64(d.mean()); dm > 0 && diff.n > 1 {
		fmt.Printf("%-12s ratio ± %.3f (two standard errors of the mean difference over %d pairs)\n", "", 2*diff.stderr()/dm, diff.n)
	}
	if n1 > n0 {
		call := time.Duration((sum1 - sum0) / (n1 - n0) * float64(time.Second))
		own := g.mean() - call
		fmt.Printf("%-12s of the gateway's mean, its call to Prefect took %s (its /metrics): its own part is %s, %.1f %%\n", "",
			ms(call), ms(own), 100*float64(own)/float64(g.mean()))
	}
	// Direct triggers fail (503 "database is locked") where the gateway retries them, so
	// triggers are compared by successes per second, the two taking turns in short rounds.
	const realRounds = 12 // more than (a)/(b)'s rounds: a SQLite Prefect swings more
	g, d = result{}, result{}
	for round := 0; round < realRounds; round++ {
		g = merge(g, driveAction(conc, dur/realRounds, max, gatewayTrigger))
		d = merge(d, driveAction(conc, dur/realRounds, max, directTrigger))
	}
	fmt.Printf("%-12s %12.1f %12.1f %12s %12s %8.3f gateway: %s; direct: %s\n", "trigger", g.okRate(), d.okRate(),
		ms(g.mean()), ms(d.mean()), d.okRate()/g.okRate(), orNone(nonOK(g)), orNone(nonOK(d)))
	fmt.Println("ratio: lists, mean latency through the gateway / direct, calls interleaved; triggers, direct successes per second /",
		"the gateway's. 1.00 means the gateway costs nothing (target ≤ 1.05)")
	return nil
}

// pairDiffs accumulates the differences a−b of the pairs where both calls answered, in
// nanoseconds, for the standard error of the mean difference.
type pairDiffs struct {
	n          int
	sum, sumSq float64
}

func (p pairDiffs) stderr() float64 {
	mean := p.sum / float64(p.n)
	variance := (p.sumSq - float64(p.n)*mean*mean) / float64(p.n-1)
	return math.Sqrt(max(variance, 0) / float64(p.n))
}

// drivePaired runs a and b from c workers, each worker alternating one call of each (which
// goes first alternates as well), until d passes or max pairs were done.
func drivePaired(c int, d time.Duration, max int64, a, b action) (ra, rb result, diff pairDiffs) {
	var turn atomic.Int64
	var pairs atomic.Int64
	deadline := time.Now().Add(d)
	schedule := func() (time.Time, bool) {
		now := time.Now()
		return now, now.Before(deadline) && pairs.Add(1) <= max
	}
	// One worker pool whose action is the pair: each half is timed on its own.
	var mu sync.Mutex
	ra, rb = result{statuses: map[int]int64{}}, result{statuses: map[int]int64{}}
	timed := func(act action, n int64, into *result) (time.Duration, bool) {
		start := time.Now()
		status, err := act(n)
		elapsed := time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			into.errors++
			return 0, false
		}
		into.latencies = append(into.latencies, elapsed)
		into.statuses[status]++
		return elapsed, status < 300
	}
	start := time.Now()
	runWorkers(c, schedule, func(n int64) (int, error) {
		var la, lb time.Duration
		var okA, okB bool
		if turn.Add(1)%2 == 0 {
			la, okA = timed(a, n, &ra)
			lb, okB = timed(b, n, &rb)
		} else {
			lb, okB = timed(b, n, &rb)
			la, okA = timed(a, n, &ra)
		}
		if okA && okB {
			x := float64(la - lb)
			mu.Lock()
			diff.n++
			diff.sum += x
			diff.sumSq += x * x
			mu.Unlock()
		}
		return http.StatusOK, nil
	})
	elapsed := time.Since(start)
	for _, r := range []*result{&ra, &rb} {
		r.elapsed = elapsed
		r.requests = int64(len(r.latencies))
		sortDurations(r.latencies)
	}
	return ra, rb, diff
}

func merge(a, b result) result {
	if a.statuses == nil {
		return b
	}
	out := result{requests: a.requests + b.requests, errors: a.errors + b.errors, elapsed: a.elapsed + b.elapsed,
		statuses: map[int]int64{}, latencies: append(append([]time.Duration{}, a.latencies...), b.latencies...)}
	for k, v := range a.statuses {
		out.statuses[k] += v
	}
	for k, v := range b.statuses {
		out.statuses[k] += v
	}
	sortDurations(out.latencies)
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
