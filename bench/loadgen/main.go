// Command loadgen measures what the gateway costs. It only ever talks to 127.0.0.1, sends a
// bounded number of requests for a bounded time, and stops by itself.
//
//	loadgen stub  -listen 127.0.0.1:0 [-runs 100]        a fast stub Prefect (bench/stubprefect)
//	loadgen proxy -listen 127.0.0.1:0 -upstream URL      a bare httputil.ReverseProxy
//	loadgen compare -gateway BIN [-prefect URL] [-c 64] [-duration 5s] [-fixed-duration 10s] [-server-cpus 1]
//	loadgen hardening -gateway BIN [-flood 6s]              what hostile requests cost (hardening.go)
//
// compare starts the stub, the real gateway binary in front of it and the bare proxy in front
// of it, drives both with the same load in the same run, and prints (a)/(b): at saturation
// (closed loop, the two taking turns), the throughput ratio, the latency the gateway adds at
// p50/p99, each process's CPU per operation and the Prefect calls each Airflow operation
// cost; then, at three fixed offered loads (open loop, 10, 25 and 40 % of the lower saturated
// rate, offered to both at once), the latency the gateway adds at p50/p99; then the gateway's
// peak RSS (VmHWM). With -prefect (a real Prefect API root) it then prints (c): list runs and
// trigger through the gateway against the equivalent direct calls.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"airflow-prefect-gateway/bench/stubprefect"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen stub|proxy|compare|hardening [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "stub":
		err = serveStub(os.Args[2:])
	case "proxy":
		err = serveProxy(os.Args[2:])
	case "compare":
		err = compare(os.Args[2:])
	case "hardening":
		err = hardening(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// loopbackListener refuses anything but a loopback address: load stays on this machine.
func loopbackListener(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		return nil, fmt.Errorf("listen address %q is not on the loopback interface", addr)
	}
	return net.Listen("tcp", addr)
}

func serveUntilSignal(ln net.Listener, h http.Handler) error {
	fmt.Println("http://" + ln.Addr().String())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func serveStub(args []string) error {
	fs := flag.NewFlagSet("stub", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:0", "loopback address")
	runs := fs.Int("runs", 100, "runs of the stub's deployment")
	_ = fs.Parse(args)
	ln, err := loopbackListener(*listen)
	if err != nil {
		return err
	}
	return serveUntilSignal(ln, stubprefect.New(*runs))
}

func serveProxy(args []string) error {
	fs := flag.NewFlagSet("proxy", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:0", "loopback address")
	upstream := fs.String("upstream", "", "URL to forward to")
	_ = fs.Parse(args)
	u, err := url.Parse(*upstream)
	if err != nil || u.Host == "" {
		return fmt.Errorf("-upstream %q is not a URL", *upstream)
	}
	ln, err := loopbackListener(*listen)
	if err != nil {
		return err
	}
	p := httputil.NewSingleHostReverseProxy(u)
	// The same connection pool sizing as the gateway's Prefect client, so that only the
	// work in between differs.
	p.Transport = &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 128, IdleConnTimeout: 4 * time.Second}
	return serveUntilSignal(ln, p)
}

// --- the load itself ---

// request is one operation's HTTP request; seq makes each one unique where needed.
type request func(seq int64) (method, url string, body []byte)

type result struct {
	requests  int64
	errors    int64
	statuses  map[int]int64
	latencies []time.Duration
	elapsed   time.Duration
}

func (r result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// okRate is the operations per second that ended in a 2xx.
func (r result) okRate() float64 {
	var ok int64
	for code, n := range r.statuses {
		if code >= 200 && code < 300 {
			ok += n
		}
	}
	return float64(ok) / r.elapsed.Seconds()
}

func (r result) mean() time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	var sum time.Duration
	for _, l := range r.latencies {
		sum += l
	}
	return sum / time.Duration(len(r.latencies))
}

func (r result) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, int(q*float64(len(r.latencies))))]
}

var seq atomic.Int64

// action is one operation; it reports the status it ended with.
type action func(seq int64) (status int, err error)

// send turns a request into an action.
func send(client *http.Client, req request) action {
	return func(n int64) (int, error) {
		method, target, body := req(n)
		r, _ := http.NewRequest(method, target, bytes.NewReader(body))
		if body != nil {
			r.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(r)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
}

// drive sends req from c workers until d passes or max requests were sent.
func drive(client *http.Client, c int, d time.Duration, max int64, req request) result {
	return driveAction(c, d, max, send(client, req))
}

// driveAction runs act from c workers until d passes or max operations were done (closed
// loop: each worker sends its next request as soon as the last one is answered).
func driveAction(c int, d time.Duration, max int64, act action) result {
	var sent atomic.Int64
	deadline := time.Now().Add(d)
	return runWorkers(c, func() (time.Time, bool) {
		now := time.Now()
		return now, now.Before(deadline) && sent.Add(1) <= max
	}, act)
}

// drivePaced offers req at a fixed rate from c workers for d (open loop): request k is due
// at start + k/rate, and its latency counts from then, so a request that waited for a free
// worker carries that wait too (no coordinated omission).
func drivePaced(client *http.Client, c int, rate float64, d time.Duration, req request) result {
	interval := time.Duration(float64(time.Second) / rate)
	var next atomic.Int64
	start := time.Now()
	deadline := start.Add(d)
	return runWorkers(c, func() (time.Time, bool) {
		due := start.Add(time.Duration(next.Add(1)-1) * interval)
		return due, !due.After(deadline)
	}, send(client, req))
}

// runWorkers runs act from c workers. Each asks schedule when its next operation is due
// (false: stop), waits until then, and records the latency from then.
func runWorkers(c int, schedule func() (due time.Time, ok bool), act action) result {
	var mu sync.Mutex
	res := result{statuses: map[int]int64{}}
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			statuses := map[int]int64{}
			var errs int64
			for {
				due, ok := schedule()
				if !ok {
					break
				}
				time.Sleep(time.Until(due))
				status, err := act(seq.Add(1))
				if err != nil {
					errs++
					continue
				}
				local = append(local, time.Since(due))
				statuses[status]++
			}
			mu.Lock()
			res.latencies = append(res.latencies, local...)
			for k, v := range statuses {
				res.statuses[k] += v
			}
			res.errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.requests = int64(len(res.latencies))
	sortDurations(res.latencies)
	return res
}

func sortDurations(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }

func newClient(c int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: c * 2, MaxIdleConnsPerHost: c * 2, IdleConnTimeout: 30 * time.Second}}
}

// --- processes ---

type proc struct {
	cmd *exec.Cmd
	url string
}

// startURLPrinter runs a command that prints its URL as its first line of output.
func startURLPrinter(name string, args ...string) (*proc, error) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line := make([]byte, 0, 64)
	buf := make([]byte, 1)
	for {
		if _, err := out.Read(buf); err != nil {
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("%s printed no URL: %w", name, err)
		}
		if buf[0] == '\n' {
			break
		}
		line = append(line, buf[0])
	}
	return &proc{cmd: cmd, url: strings.TrimSpace(string(line))}, nil
}

func (p *proc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startGateway runs the real binary (auth off: the bench measures the API path, not bcrypt)
// and waits until it answers.
func startGateway(bin, prefectURL string) (*proc, error) {
	return startGatewayOn("", bin, prefectURL)
}

// pinned is the command line argv run on the given CPUs (taskset's list, e.g. "1"); ""
// leaves it wherever the scheduler likes.
func pinned(cpus string, argv ...string) []string {
	if cpus == "" {
		return argv
	}
	return append([]string{"taskset", "-c", cpus}, argv...)
}

// startGatewayOn is startGateway on the given CPUs.
func startGatewayOn(cpus, bin, prefectURL string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	argv := pinned(cpus, bin, "--listen", addr, "--auth-mode", "none", "--prefect-api-url", prefectURL)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "GATEWAY_LOG_LEVEL=error")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, url: "http://" + addr}
	for i := 0; i < 200; i++ {
		if res, err := http.Get(p.url + "/api/v1/version"); err == nil {
			res.Body.Close()
			return p, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	p.stop()
	return nil, errors.New("the gateway did not start")
}

// peakRSS is a process's high-water resident set (VmHWM), in MiB.
func peakRSS(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, errors.New("no VmHWM")
}

// cpuTime is a process's user+system CPU time so far, from /proc/<pid>/stat.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is USER_HZ, which is 100 on every Linux this runs on.
const clockTicks = 100

// prefectCalls sums the gateway's airflow_prefect_gateway_prefect_calls_total.
func prefectCalls(gatewayURL string) (float64, error) {
	return metricSum(gatewayURL, "airflow_prefect_gateway_prefect_calls_total")
}

// metricSum adds up the samples of a metric on the gateway's /metrics whose line holds every
// one of match (label pairs such as `endpoint="flow_runs/paginate"`).
func metricSum(gatewayURL, name string, match ...string) (float64, error) {
	res, err := http.Get(gatewayURL + "/metrics")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var total float64
lines:
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		for _, m := range match {
			if !strings.Contains(line, m) {
				continue lines
			}
		}
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		total += v
	}
	return total, nil
}

// --- compare ---

type op struct {
	name     string
	gateway  request
	baseline request // the equivalent Prefect call(s), sent through the bare proxy or directly
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000) }

// rounds is how many turns the gateway and the proxy take at each saturated measurement of
// (a)/(b), so that the shared machine's slow patches fall on both alike.
const rounds = 6

func compare(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ExitOnError)
	bin := fs.String("gateway", "bin/airflow-prefect-gateway", "gateway binary")
	realPrefect := fs.String("prefect", "", "a real Prefect API root for part (c) (loopback only)")
	conc := fs.Int("c", 64, "concurrent connections for (a)/(b)")
	dur := fs.Duration("duration", 5*time.Second, "time per measurement at saturation")
	fixedDur := fs.Duration("fixed-duration", 10*time.Second, "time per measurement at a fixed load (a p99 wants many requests)")
	max := fs.Int64("max", 300000, "most requests per measurement")
	realConc := fs.Int("real-c", 4, "concurrent connections for (c)")
	realDur := fs.Duration("real-duration", 8*time.Second, "time per measurement of (c)")
	serverCPUs := fs.String("server-cpus", "", "run the gateway and the proxy on these CPUs (taskset -c), apart from the load generator and the stub")
	_ = fs.Parse(args)
	self, err := os.Executable()
	if err != nil {
		return err
	}

	stub, err := startURLPrinter(self, "stub", "-listen", "127.0.0.1:0", "-runs", "100")
	if err != nil {
		return err
	}
	defer stub.stop()
	proxyArgv := pinned(*serverCPUs, self, "proxy", "-listen", "127.0.0.1:0", "-upstream", stub.url)
	proxy, err := startURLPrinter(proxyArgv[0], proxyArgv[1:]...)
	if err != nil {
		return err
	}
	defer proxy.stop()
	gw, err := startGatewayOn(*serverCPUs, *bin, stub.url+"/api")
	if err != nil {
		return err
	}
	defer gw.stop()

	dag := stubprefect.DAGID
	runsPath := gw.url + "/api/v1/dags/" + dag + "/dagRuns"
	getRunFilter := []byte(`{"flow_runs":{"name":{"any_":["scheduled__2024-05-05T04:00:00+00:00"]}},"deployments":{"id":{"any_":["` + stubprefect.DeploymentID + `"]}},"limit":2}`)
	listFilter := []byte(`{"deployments":{"id":{"any_":["` + stubprefect.DeploymentID + `"]}},"sort":"ID_DESC","limit":25}`)
	ops := []op{
		{"get DAG run",
			func(int64) (string, string, []byte) {
				return "GET", runsPath + "/scheduled__2024-05-05T04:00:00+00:00", nil
			},
			func(int64) (string, string, []byte) { return "POST", proxy.url + "/api/flow_runs/filter", getRunFilter }},
		{"list DAG runs (25)",
			func(int64) (string, string, []byte) {
				return "GET", runsPath + "?limit=25&order_by=-execution_date", nil
			},
			func(int64) (string, string, []byte) { return "POST", proxy.url + "/api/flow_runs/filter", listFilter }},
		{"trigger",
			func(n int64) (string, string, []byte) {
				return "POST", runsPath, []byte(`{"dag_run_id":"bench-` + strconv.FormatInt(n, 10) + `","conf":{"batch_size":10}}`)
			},
			func(n int64) (string, string, []byte) {
				return "POST", proxy.url + "/api/deployments/" + stubprefect.DeploymentID + "/create_flow_run",
					[]byte(`{"name":"bench-` + strconv.FormatInt(n, 10) + `","parameters":{"batch_size":10},"idempotency_key":"airflow:` + stubprefect.DeploymentID + `:bench-` + strconv.FormatInt(n, 10) + `"}`)
			}},
	}

	client := newClient(*conc)
	// Warm both paths (connections, the DAG cache) outside the measurement.
	for _, o := range ops {
		drive(client, 4, time.Second, 200, o.gateway)
		drive(client, 4, time.Second, 200, o.baseline)
	}
	fmt.Printf("(a) gateway vs (b) bare httputil.ReverseProxy, both in front of the same stub Prefect; %d connections, %s each\n", *conc, *dur)
	fmt.Printf("%-20s %12s %12s %7s %12s %12s %14s %13s %13s\n", "operation", "gateway rps", "proxy rps", "ratio", "added p50", "added p99", "Prefect calls", "gateway CPU", "proxy CPU")
	var sumG, sumB float64
	worstRatio := 10.0
	saturated := make([]float64, len(ops)) // the lower of the two saturated rates, per operation
	for i, o := range ops {
		// Alternate the two in short rounds, so that a slow patch of the shared machine hits
		// both alike.
		var g, b result
		var calls0, calls1 float64
		var gwCPU, proxyCPU time.Duration
		for round := 0; round < rounds; round++ {
			before, _ := prefectCalls(gw.url)
			cpu0 := cpuTime(gw.cmd.Process.Pid)
			g = merge(g, drive(client, *conc, *dur/rounds, *max, o.gateway))
			gwCPU += cpuTime(gw.cmd.Process.Pid) - cpu0
			after, _ := prefectCalls(gw.url)
			calls0, calls1 = calls0+before, calls1+after
			cpu0 = cpuTime(proxy.cmd.Process.Pid)
			b = merge(b, drive(client, *conc, *dur/rounds, *max, o.baseline))
			proxyCPU += cpuTime(proxy.cmd.Process.Pid) - cpu0
		}
		before, after := calls0, calls1
		ratio := g.rps() / b.rps()
		worstRatio = min(worstRatio, ratio)
		saturated[i] = min(g.okRate(), b.okRate())
		sumG += g.rps()
		sumB += b.rps()
		calls := (after - before) / float64(max64(g.requests, 1))
		fmt.Printf("%-20s %12.0f %12.0f %7.2f %12s %12s %14.2f %10.0f µs %10.0f µs\n", o.name, g.rps(), b.rps(), ratio,
			ms(g.quantile(.5)-b.quantile(.5)), ms(g.quantile(.99)-b.quantile(.99)), calls,
			perOp(gwCPU, g.requests), perOp(proxyCPU, b.requests))
		if bad := nonOK(g); bad != "" {
			fmt.Printf("   gateway answers: %s\n", bad)
		}
		if bad := nonOK(b); bad != "" {
			fmt.Printf("   proxy answers: %s\n", bad)
		}
	}
	fmt.Printf("throughput ratio (a)/(b): %.2f overall, %.2f worst operation (target ≥ 0.8); added p99 above is at saturation\n", sumG/sumB, worstRatio)
	// Latency the gateway adds, measured where it is not hidden by queueing: both paths at
	// the same fixed offered load, a fraction of the lower of their saturated rates above,
	// offered to both at once on the same schedule. Taking turns, however short, the p99 of
	// either moved by milliseconds from run to run with the shared machine's slow patches;
	// side by side, a slow patch delays both alike. Together they make twice the load, so
	// the fractions stop short of half.
	fmt.Printf("\nadded latency at fixed loads (open loop, %d connections each, both at once on one schedule, %s): fractions of the lower saturated rate of the two\n", *conc, *fixedDur)
	fmt.Printf("%-20s %5s %10s %14s %14s %14s %14s %12s %12s\n", "operation", "load", "rate", "gateway p50", "gateway p99", "proxy p50", "proxy p99", "added p50", "added p99")
	worstAdded := map[float64]time.Duration{}
	loads := []float64{0.1, 0.25, 0.4}
	for i, o := range ops {
		for _, load := range loads {
			rate := saturated[i] * load
			var g, b result
			var both sync.WaitGroup
			both.Add(2)
			go func() { defer both.Done(); g = drivePaced(client, *conc, rate, *fixedDur, o.gateway) }()
			go func() { defer both.Done(); b = drivePaced(client, *conc, rate, *fixedDur, o.baseline) }()
			both.Wait()
			added := g.quantile(.99) - b.quantile(.99)
			if added > worstAdded[load] {
				worstAdded[load] = added
			}
			fmt.Printf("%-20s %4.0f%% %6.0f rps %14s %14s %14s %14s %12s %12s\n", o.name, load*100, rate, ms(g.quantile(.5)), ms(g.quantile(.99)),
				ms(b.quantile(.5)), ms(b.quantile(.99)), ms(g.quantile(.5)-b.quantile(.5)), ms(added))
			if bad := nonOK(g); bad != "" {
				fmt.Printf("   gateway answers: %s\n", bad)
			}
		}
	}
	for _, load := range loads {
		fmt.Printf("added p99 at %.0f%% load: %s worst operation (target ≤ 1 ms)\n", load*100, ms(worstAdded[load]))
	}

	rss, err := peakRSS(gw.cmd.Process.Pid)
	if err != nil {
		return err
	}
	fmt.Printf("gateway peak RSS (VmHWM): %.1f MiB (target ≤ 40)\n", rss)

	if *realPrefect != "" {
		return compareReal(*bin, *realPrefect, *realConc, *realDur, *max)
	}
	return nil
}

func nonOK(r result) string {
	var parts []string
	for code, n := range r.statuses {
		if code >= 300 {
			parts = append(parts, fmt.Sprintf("%d×%d", n, code))
		}
	}
	if r.errors > 0 {
		parts = append(parts, fmt.Sprintf("%d transport errors", r.errors))
	}
	return strings.Join(parts, ", ")
}

// perOp is a process's CPU time per operation, in µs.
func perOp(cpu time.Duration, ops int64) float64 {
	return float64(cpu.Microseconds()) / float64(max64(ops, 1))
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
