package spec

// v2Served lists, by Airflow's operationId, every operation of Airflow 3's REST API that the
// gateway serves under /api/v2 (and the token endpoints at /auth). It is the one list to
// change when a v2 route is added: TestV2Document regenerates v2.yaml from it, and the drift
// tests in gateway/ require a route for each entry and an entry for each route.
var v2Served = []string{
	// Tokens (the simple auth manager's endpoints).
	"create_token",
	"create_token_all_admins",
	"create_token_cli",
	// Open.
	"get_version",
	"get_health",
	// DAGs.
	"get_dags",
	"patch_dags",
	"get_dag",
	"patch_dag",
	"get_dag_details",
	"get_tasks",
	"get_task",
}
