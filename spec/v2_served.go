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
	// DAG runs.
	"get_dag_runs",
	"trigger_dag_run",
	"get_dag_run",
	"patch_dag_run",
	"delete_dag_run",
	"clear_dag_run",
	"wait_dag_run_until_finished",
	"get_list_dag_runs_batch",
	// Task instances and their logs.
	"get_task_instances",
	"get_task_instances_batch",
	"get_task_instance",
	"get_mapped_task_instance",
	"get_mapped_task_instances",
	"get_task_instance_tries",
	"get_mapped_task_instance_tries",
	"get_task_instance_try_details",
	"get_mapped_task_instance_try_details",
	"get_log",
}
