package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"airflow-prefect-gateway/bench/stubprefect"
)

// hardening measures what hostile requests cost the gateway binary (issue 12): Prefect
// calls, goroutines and resident memory for a dotted dag_id and a batch list of many long
// ids, what unknown ids cost twice over, another user's latency while three users flood it,
// and a user's latency during a flood of wrong passwords. Each scenario gets a fresh gateway
// process in front of the in-process stub Prefect, so that peaks do not mix. Run it on two
// builds to compare them:
//
//	loadgen hardening -gateway BIN [-flood 6s]
func hardening(args []string) error {
	fs := flag.NewFlagSet("hardening", flag.ExitOnError)
	bin := fs.String("gateway", "", "the gateway binary")
	flood := fs.Duration("flood", 6*time.Second, "length of the login flood and of its baseline")
	onlyFlood := fs.Bool("only-flood", false, "run the login flood only")
	_ = fs.Parse(args)
	if *bin == "" {
		return errors.New("-gateway is required")
	}
	dir, err := os.MkdirTemp("", "hardening-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	users, err := benchUsers(*bin, dir)
	if err != nil {
		return err
	}
	var delay atomic.Int64 // per Prefect call, for the fair-share scenario
	stub := stubprefect.New(25)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(delay.Load()); d > 0 && !strings.HasSuffix(r.URL.Path, "/ready") {
			time.Sleep(d)
		}
		stub.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	prefectURL := "http://" + ln.Addr().String() + "/api"

	if *onlyFlood {
		return loginFlood(*bin, prefectURL, users, *flood)
	}
	fmt.Printf("%-46s %6s %10s %13s %15s %11s %12s\n", "hardening scenario", "status", "latency", "Prefect calls",
		"calls after end", "goroutines+", "RSS growth")
	dotted := func(prefix string, dots int) string { return prefix + strings.Repeat("a.", dots) + "b" }
	single := []struct{ name, path string }{
		{"(1) GET dag_id with 1,000 dots (Viewer)", "/api/v1/dags/" + dotted("etl.", 1000)},
		{"(1) GET dag_id with 50,000 dots (Viewer)", "/api/v1/dags/" + dotted("etl.", 50000)},
	}
	for _, sc := range single {
		if err := measureOne(*bin, prefectURL, users, sc.name, http.MethodGet, sc.path, nil); err != nil {
			return err
		}
	}
	long := make([]string, 400) // 400 ids of ~500 bytes: a 200 KB body, as in the issue
	for i := range long {
		long[i] = dotted(fmt.Sprintf("etl%d.", i), 248)
	}
	under := make([]string, 400) // 400 ids just under Airflow's 250 characters, 120 dots each
	for i := range under {
		under[i] = dotted(fmt.Sprintf("e%03d.", i), 120)
	}
	for _, sc := range []struct {
		name string
		ids  []string
	}{{"(2) batch list, 400 ids of 500 bytes (200 KB)", long}, {"(2) batch list, 400 ids of 245 characters", under}} {
		body, _ := json.Marshal(map[string]any{"dag_ids": sc.ids, "page_limit": 5})
		if err := measureOne(*bin, prefectURL, users, sc.name, http.MethodPost, "/api/v1/dags/~/dagRuns/list", body); err != nil {
			return err
		}
	}
	if err := unknownTwice(*bin, prefectURL, users); err != nil {
		return err
	}
	if err := fairShare(*bin, prefectURL, users, under, &delay); err != nil {
		return err
	}
	delay.Store(0)
	return loginFlood(*bin, prefectURL, users, *flood)
}

// benchUsers writes a users file (bcrypt cost 10) with the binary's own hash-password:
// admin (Admin), and viewer0..viewer2 (Viewers limited to etl.*, as in the issue).
func benchUsers(bin, dir string) (string, error) {
	var buf bytes.Buffer
	buf.WriteString("users:\n")
	add := func(name, role string, extra ...string) error {
		cmd := exec.Command(bin, append([]string{"hash-password", "--username", name, "--role", role, "--cost", "10"}, extra...)...)
		cmd.Stdin = strings.NewReader(name + "-pw")
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("hash-password %s: %w", name, err)
		}
		buf.Write(out)
		return nil
	}
	if err := add("admin", "Admin"); err != nil {
		return "", err
	}
	for i := 0; i < 3; i++ {
		if err := add(fmt.Sprintf("viewer%d", i), "Viewer", "--dags", "etl*,e*"); err != nil {
			return "", err
		}
	}
	path := filepath.Join(dir, "users.yaml")
	return path, os.WriteFile(path, buf.Bytes(), 0o600)
}

func startUsersGateway(bin, prefectURL, users string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--listen", addr, "--prefect-api-url", prefectURL)
	cmd.Env = append(os.Environ(), "GATEWAY_LOG_LEVEL=error", "GATEWAY_USERS_FILE="+users)
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, url: "http://" + addr}
	for i := 0; i < 400; i++ {
		if res, err := http.Get(p.url + "/api/v1/version"); err == nil {
			res.Body.Close()
			return p, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	p.stop()
	return nil, errors.New("the gateway did not start")
}

func authRequest(method, url, user string, body []byte) *http.Request {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.SetBasicAuth(user, user+"-pw")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func residentMiB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// measureOne sends one request as viewer0 to a fresh gateway and reports what it cost.
func measureOne(bin, prefectURL, users, name, method, path string, body []byte) error {
	gw, err := startUsersGateway(bin, prefectURL, users)
	if err != nil {
		return err
	}
	defer gw.stop()
	client := &http.Client{Timeout: 120 * time.Second}
	// Warm the login (bcrypt) so that only the request itself is measured.
	if res, err := client.Do(authRequest(http.MethodGet, gw.url+"/api/v1/dags?limit=1", "viewer0", nil)); err == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	pid := gw.cmd.Process.Pid
	rssBefore := residentMiB(pid, "VmRSS")
	callsBefore, _ := prefectCalls(gw.url)
	goBefore, _ := metricSum(gw.url, "go_goroutines")
	var peakGo atomic.Int64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if g, err := metricSum(gw.url, "go_goroutines"); err == nil && int64(g) > peakGo.Load() {
				peakGo.Store(int64(g))
			}
		}
	}()
	start := time.Now()
	status := "error"
	res, err := client.Do(authRequest(method, gw.url+path, "viewer0", body))
	latency := time.Since(start)
	if err == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		status = strconv.Itoa(res.StatusCode)
	}
	callsAtEnd, _ := prefectCalls(gw.url)
	time.Sleep(2 * time.Second) // does work go on once the answer is out?
	close(stop)
	sampler.Wait()
	callsLater, _ := prefectCalls(gw.url)
	growth := residentMiB(pid, "VmHWM") - rssBefore
	fmt.Printf("%-46s %6s %10s %13.0f %15.0f %11.0f %9.1f MiB\n", name, status, ms(latency),
		callsAtEnd-callsBefore, callsLater-callsAtEnd, float64(peakGo.Load())-goBefore, growth)
	return nil
}

// unknownTwice sends the same batch of 2,000 unknown dot-free ids twice (issue 12, item 4).
func unknownTwice(bin, prefectURL, users string) error {
	gw, err := startUsersGateway(bin, prefectURL, users)
	if err != nil {
		return err
	}
	defer gw.stop()
	ids := make([]string, 2000)
	for i := range ids {
		ids[i] = fmt.Sprintf("unknown_%d", i)
	}
	body, _ := json.Marshal(map[string]any{"dag_ids": ids})
	client := &http.Client{Timeout: 120 * time.Second}
	for round := 1; round <= 2; round++ {
		before, _ := prefectCalls(gw.url)
		start := time.Now()
		res, err := client.Do(authRequest(http.MethodPost, gw.url+"/api/v1/dags/~/dagRuns/list", "admin", body))
		status := "error"
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			status = strconv.Itoa(res.StatusCode)
		}
		after, _ := prefectCalls(gw.url)
		fmt.Printf("%-46s %6s %10s %13.0f\n", fmt.Sprintf("(4) batch of 2,000 unknown ids, round %d", round), status,
			ms(time.Since(start)), after-before)
	}
	return nil
}

// fairShare measures an Admin's small list while three Viewers each send batches of 400
// dotted ids, Prefect answering every call in 20 ms (issue 12, item 3).
func fairShare(bin, prefectURL, users string, ids []string, delay *atomic.Int64) error {
	gw, err := startUsersGateway(bin, prefectURL, users)
	if err != nil {
		return err
	}
	defer gw.stop()
	delay.Store(int64(20 * time.Millisecond))
	client := &http.Client{Timeout: 120 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	admin := func() time.Duration {
		start := time.Now()
		res, err := client.Do(authRequest(http.MethodGet, gw.url+"/api/v1/dags/"+stubprefect.DAGID+"/dagRuns?limit=5", "admin", nil))
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		return time.Since(start)
	}
	median := func(n int) time.Duration {
		d := make([]time.Duration, n)
		for i := range d {
			d[i] = admin()
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[n/2]
	}
	admin() // the login and the DAG, cached
	idle := median(5)
	body, _ := json.Marshal(map[string]any{"dag_ids": ids})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for v := 0; v < 3; v++ {
		user := fmt.Sprintf("viewer%d", v)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := client.Do(authRequest(http.MethodPost, gw.url+"/api/v1/dags/~/dagRuns/list", user, body))
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			}
		}()
	}
	time.Sleep(time.Second) // let the floods fill the upstream slots
	busy := median(5)
	close(stop)
	wg.Wait()
	fmt.Printf("(3) Admin's list of 5 runs, Prefect at 20 ms a call: median %s alone, %s while 3 Viewers send 400-id batches (%.1fx)\n",
		ms(idle), ms(busy), float64(busy)/float64(idle))
	return nil
}

// loginFlood measures a verified user's median latency alone and while 24 clients send wrong
// passwords (issue 12, item 11), and how many password checks the flood got.
func loginFlood(bin, prefectURL, users string, d time.Duration) error {
	gw, err := startUsersGateway(bin, prefectURL, users)
	if err != nil {
		return err
	}
	defer gw.stop()
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	victim := func(until time.Time) time.Duration {
		var lat []time.Duration
		for time.Now().Before(until) {
			start := time.Now()
			res, err := client.Do(authRequest(http.MethodGet, gw.url+"/api/v1/dags?limit=1", "admin", nil))
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			lat = append(lat, time.Since(start))
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		return lat[len(lat)/2]
	}
	victim(time.Now().Add(time.Second)) // the login, cached
	alone := victim(time.Now().Add(d))
	var refused, throttled, other atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func() { // every attempt a username of its own: no two share a check
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				// At most 10 attempts a second per client (240/s in all): the old code's
				// bcrypt let through about 77/s, so both builds face the same offer.
				time.Sleep(100 * time.Millisecond)
				req, _ := http.NewRequest(http.MethodGet, gw.url+"/api/v1/dags?limit=1", nil)
				req.SetBasicAuth(fmt.Sprintf("intruder%d-%d", i, n), "wrong")
				res, err := client.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				switch res.StatusCode {
				case http.StatusUnauthorized:
					refused.Add(1)
				case http.StatusTooManyRequests:
					throttled.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}
	busy := victim(time.Now().Add(d))
	close(stop)
	wg.Wait()
	fmt.Printf("(11) a verified user's median: %s alone, %s during a flood of wrong passwords from 24 clients (%.2fx); "+
		"the flood got %.1f password checks/s (401), %.0f/s 429s, %.0f/s other answers\n",
		ms(alone), ms(busy), float64(busy)/float64(alone), float64(refused.Load())/d.Seconds(), float64(throttled.Load())/d.Seconds(), float64(other.Load())/d.Seconds())
	return nil
}
