package gateway

import (
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"airflow-prefect-gateway/spec"
)

// expectedRoles is the least Airflow role of every operation of Airflow's API, as Airflow's
// own default roles grant them (airflow/www/security_manager.py: VIEWER_, USER_, OP_ and
// ADMIN_PERMISSIONS): Viewer reads DAGs, runs, task instances, logs and XComs; User also
// edits and deletes DAGs, runs and task instances; Op also owns connections, pools,
// variables, config and providers (a Viewer cannot even read those: variables hold
// secrets); Admin also owns users, roles and dataset writes. Health and version are open.
//
// TestEveryRouteEnforcesItsRole fails for a route missing here, so a new route cannot ship
// without its role being decided.
var expectedRoles = map[string]Role{
	"GET /connections":                    RoleOp,
	"POST /connections":                   RoleOp,
	"GET /connections/{connection_id}":    RoleOp,
	"PATCH /connections/{connection_id}":  RoleOp,
	"DELETE /connections/{connection_id}": RoleOp,
	"POST /connections/test":              RoleOp,

	"GET /dags":                                    RoleViewer,
	"PATCH /dags":                                  RoleUser,
	"GET /dags/{dag_id}":                           RoleViewer,
	"PATCH /dags/{dag_id}":                         RoleUser,
	"DELETE /dags/{dag_id}":                        RoleAdmin,
	"GET /dags/{dag_id}/details":                   RoleViewer,
	"GET /dags/{dag_id}/tasks":                     RoleViewer,
	"GET /dags/{dag_id}/tasks/{task_id}":           RoleViewer,
	"POST /dags/{dag_id}/clearTaskInstances":       RoleUser,
	"POST /dags/{dag_id}/updateTaskInstancesState": RoleUser,
	"GET /dagSources/{file_token}":                 RoleViewer,
	"PUT /parseDagFile/{file_token}":               RoleUser,
	"GET /dagStats":                                RoleViewer,
	"GET /dagWarnings":                             RoleViewer,
	"GET /importErrors":                            RoleViewer,
	"GET /importErrors/{import_error_id}":          RoleViewer,
	"GET /eventLogs":                               RoleViewer,
	"GET /eventLogs/{event_log_id}":                RoleViewer,
	"GET /plugins":                                 RoleOp, // can_read on Plugins is an Op permission

	"GET /dags/{dag_id}/dagRuns":                                    RoleViewer,
	"POST /dags/{dag_id}/dagRuns":                                   RoleUser,
	"POST /dags/~/dagRuns/list":                                     RoleViewer,
	"GET /dags/{dag_id}/dagRuns/{dag_run_id}":                       RoleViewer,
	"DELETE /dags/{dag_id}/dagRuns/{dag_run_id}":                    RoleUser,
	"PATCH /dags/{dag_id}/dagRuns/{dag_run_id}":                     RoleUser,
	"POST /dags/{dag_id}/dagRuns/{dag_run_id}/clear":                RoleUser,
	"PATCH /dags/{dag_id}/dagRuns/{dag_run_id}/setNote":             RoleUser,
	"GET /dags/{dag_id}/dagRuns/{dag_run_id}/upstreamDatasetEvents": RoleViewer,

	"GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances":                                               RoleViewer,
	"POST /dags/~/dagRuns/~/taskInstances/list":                                                           RoleViewer,
	"GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}":                                     RoleViewer,
	"PATCH /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}":                                   RoleUser,
	"GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}":                         RoleViewer,
	"PATCH /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}":                       RoleUser,
	"GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/listMapped":                          RoleViewer,
	"PATCH /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/setNote":                           RoleUser,
	"PATCH /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}/setNote":               RoleUser,
	"GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/dependencies":                        RoleViewer,
	"GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}/dependencies":            RoleViewer,
	"GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/tries":                               RoleViewer,
	"GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/tries/{task_try_number}":             RoleViewer,
	"GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}/tries":                   RoleViewer,
	"GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}/tries/{task_try_number}": RoleViewer,
	"GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/links":                               RoleViewer,
	"GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{task_try_number}":              RoleViewer,
	"GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries":                         RoleViewer,
	"GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries/{xcom_key}":              RoleViewer,

	"GET /datasets":                                    RoleViewer,
	"GET /datasets/{uri}":                              RoleViewer,
	"GET /datasets/events":                             RoleViewer,
	"POST /datasets/events":                            RoleAdmin,
	"GET /datasets/queuedEvent/{uri}":                  RoleViewer,
	"DELETE /datasets/queuedEvent/{uri}":               RoleAdmin,
	"GET /dags/{dag_id}/datasets/queuedEvent":          RoleViewer,
	"DELETE /dags/{dag_id}/datasets/queuedEvent":       RoleAdmin,
	"GET /dags/{dag_id}/datasets/queuedEvent/{uri}":    RoleViewer,
	"DELETE /dags/{dag_id}/datasets/queuedEvent/{uri}": RoleAdmin,

	"GET /pools":                RoleViewer, // Airflow's Viewer has can_read on Pools
	"POST /pools":               RoleOp,
	"GET /pools/{pool_name}":    RoleViewer,
	"PATCH /pools/{pool_name}":  RoleOp,
	"DELETE /pools/{pool_name}": RoleOp,

	"GET /variables":                   RoleOp,
	"POST /variables":                  RoleOp,
	"GET /variables/{variable_key}":    RoleOp,
	"PATCH /variables/{variable_key}":  RoleOp,
	"DELETE /variables/{variable_key}": RoleOp,

	"GET /config": RoleOp,
	"GET /config/section/{section}/option/{option}": RoleOp,
	"GET /providers": RoleOp,

	"GET /roles":                RoleAdmin,
	"POST /roles":               RoleAdmin,
	"GET /roles/{role_name}":    RoleAdmin,
	"PATCH /roles/{role_name}":  RoleAdmin,
	"DELETE /roles/{role_name}": RoleAdmin,
	"GET /permissions":          RoleAdmin,
	"GET /users":                RoleAdmin,
	"POST /users":               RoleAdmin,
	"GET /users/{username}":     RoleAdmin,
	"PATCH /users/{username}":   RoleAdmin,
	"DELETE /users/{username}":  RoleAdmin,
}

// openOperations need no credentials, as in Airflow; openMetaPaths are the gateway's own
// document and viewer beside the API.
var (
	openOperations = map[string]bool{"GET /health": true, "GET /version": true}
	openMetaPaths  = map[string]bool{"/openapi.yaml": true, "/openapi.json": true, "/ui": true, "/ui/*": true}
)

// The table names real operations only, and every operation exactly once.
func TestExpectedRolesCoverAirflow(t *testing.T) {
	ops := map[string]bool{}
	for _, op := range spec.AirflowOperations() {
		key := op.Method + " " + op.Path
		ops[key] = true
		if _, ok := expectedRoles[key]; !ok && !openOperations[key] {
			t.Errorf("Airflow operation %s (%s) has no expected role", key, op.OperationID)
		}
	}
	for key := range expectedRoles {
		if !ops[key] {
			t.Errorf("expectedRoles names %q, which is not an operation of Airflow's API", key)
		}
	}
}

// Role × route: every route the app registers under /api/v1 answers 401 with the challenge
// without credentials or with a wrong password, 403 to every role below its least role, and
// lets that role and those above through; open routes answer without credentials. The
// routes are read from the router, so a new route is covered the day it is added.
func TestEveryRouteEnforcesItsRole(t *testing.T) {
	stub := newRecordingPrefect(t, emptyPrefect)
	s := newAuthServer(t, stub.URL(), AuthOptions{Mode: AuthModeUsers, UsersFile: usersFixture}, nil)
	notImplemented := map[string]bool{}
	for _, op := range notImplementedOperations() {
		notImplemented[op.Method+" "+op.Path] = true
	}
	roleUsers := []struct {
		user string
		role Role
	}{{"viewer", RoleViewer}, {"user", RoleUser}, {"op", RoleOp}, {"admin", RoleAdmin}}

	routes := s.Echo().Routes()
	sort.Slice(routes, func(i, j int) bool { return routes[i].Path+routes[i].Method < routes[j].Path+routes[j].Method })
	checked := 0
	for _, r := range routes {
		rel, inAPI := strings.CutPrefix(r.Path, "/api/v1")
		if !inAPI || strings.HasPrefix(rel, "/probe/") {
			continue // outside Airflow's API (/metrics), or this file's own probes
		}
		key := r.Method + " " + openapiTemplate(rel)
		path := "/api/v1" + fillParams(rel, "etl.daily")
		t.Run(key, func(t *testing.T) {
			switch {
			case openOperations[key] || (r.Method == http.MethodGet && openMetaPaths[rel]):
				if rec := (authCall{method: r.Method, path: path}).do(s); rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden {
					t.Errorf("open route answered %d without credentials", rec.Code)
				}
				return
			case notImplemented[key]:
				return // a 501 that touches nothing (openapi.go)
			}
			want, ok := expectedRoles[key]
			if !ok {
				t.Fatalf("route %s has no row in expectedRoles: decide its least role", key)
			}
			assertChallenge(t, authCall{method: r.Method, path: path, body: "{}"}.do(s))
			assertChallenge(t, authCall{method: r.Method, path: path, body: "{}", auth: basicCred("admin", "viewer-pw")}.do(s))
			for _, ru := range roleUsers {
				rec := authCall{method: r.Method, path: path, body: "{}", auth: asUser(ru.user)}.do(s)
				if ru.role < want {
					p := authProblem(t, rec, http.StatusForbidden)
					if p.Title != "Forbidden" {
						t.Errorf("%s: %+v", ru.user, p)
					}
					continue
				}
				if rec.Code == http.StatusForbidden && (rec.Body.String() == testConnectionDisabled ||
					strings.Contains(rec.Body.String(), configNotExposed)) {
					continue // the role passed; Airflow's own answer for a feature that is off
				}
				if rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden {
					t.Errorf("%s (%s) may use %s but got %d: %s", ru.user, ru.role, key, rec.Code, rec.Body)
				}
			}
			checked++
		})
	}
	t.Logf("%d authenticated routes checked", checked)
}

// A DAG outside the caller's patterns looks exactly like a DAG that does not exist, on every
// route for one DAG, and costs no Prefect call, so that neither the answer nor its timing
// tells whether it exists. The stub Prefect knows etl.daily and secret.daily; etl_viewer and
// etl_user may see etl.* only.
func TestEveryDAGRouteHidesForeignDAGs(t *testing.T) {
	stub := newRecordingPrefect(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/deployments/name/etl/daily", "/api/deployments/name/secret/daily":
			_, _ = io.WriteString(w, `{"id":"00000000-0000-4000-8000-000000000001","name":"daily","flow_id":"00000000-0000-4000-8000-000000000002"}`)
			return
		}
		emptyPrefect(w, r)
	})
	s := newAuthServer(t, stub.URL(), AuthOptions{Mode: AuthModeUsers, UsersFile: usersFixture}, nil)
	limited := map[Role]string{RoleViewer: "etl_viewer", RoleUser: "etl_user"}
	notImplemented := map[string]bool{}
	for _, op := range notImplementedOperations() {
		notImplemented[op.Method+" "+op.Path] = true
	}
	// Bodies the routes accept, so that the request reaches the handler's DAG check.
	bodies := map[string]string{
		"PATCH /dags/{dag_id}":                              `{"is_paused": true}`,
		"POST /dags/{dag_id}/dagRuns":                       `{}`,
		"PATCH /dags/{dag_id}/dagRuns/{dag_run_id}":         `{"state": "failed"}`,
		"POST /dags/{dag_id}/dagRuns/{dag_run_id}/clear":    `{"dry_run": true}`,
		"PATCH /dags/{dag_id}/dagRuns/{dag_run_id}/setNote": `{"note": "n"}`,
	}
	checked := 0
	for _, r := range s.Echo().Routes() {
		rel, inAPI := strings.CutPrefix(r.Path, "/api/v1")
		if !inAPI || !strings.Contains(rel, "/:dag_id") || strings.HasPrefix(rel, "/probe/") {
			continue
		}
		key := r.Method + " " + openapiTemplate(rel)
		want, ok := expectedRoles[key]
		user := limited[want]
		if !ok || user == "" || notImplemented[key] {
			// Unlisted routes fail TestEveryRouteEnforcesItsRole; no fixture user above User
			// is limited; a 501 reads nothing.
			continue
		}
		t.Run(key, func(t *testing.T) {
			body := bodies[key]
			if body == "" && (r.Method == http.MethodPost || r.Method == http.MethodPatch) {
				body = "{}"
			}
			before := len(stub.Calls())
			hidden := authCall{method: r.Method, path: "/api/v1" + fillParams(rel, "secret.daily"), body: body, auth: asUser(user)}.do(s)
			if n := len(stub.Calls()) - before; n != 0 {
				t.Errorf("a hidden DAG cost %d Prefect calls: %+v", n, stub.Calls()[before:])
			}
			missing := authCall{method: r.Method, path: "/api/v1" + fillParams(rel, "etl.missing"), body: body, auth: asUser(user)}.do(s)
			hiddenBody := strings.ReplaceAll(hidden.Body.String(), "secret.daily", "<dag>")
			missingBody := strings.ReplaceAll(missing.Body.String(), "etl.missing", "<dag>")
			if hidden.Code != missing.Code || hiddenBody != missingBody {
				t.Errorf("hidden DAG: %d %s\nmissing DAG: %d %s", hidden.Code, hidden.Body, missing.Code, missing.Body)
			}
			if hidden.Code == http.StatusBadRequest {
				t.Errorf("the request never reached the DAG check (400: %s); give the route a valid body", hidden.Body)
			}
			seen := authCall{method: r.Method, path: "/api/v1" + fillParams(rel, "etl.daily"), body: body, auth: asUser(user)}.do(s)
			if seen.Code == http.StatusForbidden || seen.Code == http.StatusUnauthorized {
				t.Errorf("a visible DAG: %d %s", seen.Code, seen.Body)
			}
			checked++
		})
	}
	t.Logf("%d DAG routes checked", checked)
}

// openapiTemplate turns Echo's /dags/:dag_id into the spec's /dags/{dag_id}.
func openapiTemplate(echoPath string) string {
	parts := strings.Split(echoPath, "/")
	for i, p := range parts {
		if name, ok := strings.CutPrefix(p, ":"); ok {
			parts[i] = "{" + name + "}"
		}
	}
	return strings.Join(parts, "/")
}

// fillParams puts plausible values into an Echo path: dagID for :dag_id, numbers where the
// spec wants integers, a word elsewhere.
func fillParams(echoPath, dagID string) string {
	parts := strings.Split(echoPath, "/")
	for i, p := range parts {
		switch {
		case p == ":dag_id":
			parts[i] = dagID
		case p == ":map_index" || p == ":task_try_number" || p == ":event_log_id" || p == ":import_error_id":
			parts[i] = "1"
		case strings.HasPrefix(p, ":") || p == "*":
			parts[i] = "x1"
		}
	}
	return strings.Join(parts, "/")
}
