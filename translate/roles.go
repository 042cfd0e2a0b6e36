package translate

// Airflow's default roles and the permissions it gives them, as Airflow 2.10's FAB security
// manager lists them (providers/fab/auth_manager/security_manager/override.py:
// VIEWER_PERMISSIONS, USER_PERMISSIONS, OP_PERMISSIONS, ADMIN_PERMISSIONS; each role has its
// own and those of the roles before it). Airflow also gives Admin every permission that
// exists, users and permissions included; the two of those the gateway's Admin-only reads
// need are listed.

// Permission is an action on a resource.
type Permission struct {
	Action, Resource string
}

// Role is one of Airflow's default roles.
type Role struct {
	Name        string
	Permissions []Permission
}

var viewerPermissions = []Permission{
	{"can_read", "DAGs"}, {"can_read", "DAG Dependencies"}, {"can_read", "DAG Code"}, {"can_read", "DAG Runs"},
	{"can_read", "Datasets"}, {"can_read", "Cluster Activity"}, {"can_read", "Pools"}, {"can_read", "ImportError"},
	{"can_read", "DAG Warnings"}, {"can_read", "Jobs"}, {"can_read", "My Password"}, {"can_edit", "My Password"},
	{"can_read", "My Profile"}, {"can_edit", "My Profile"}, {"can_read", "SLA Misses"}, {"can_read", "Task Instances"},
	{"can_read", "Task Logs"}, {"can_read", "XComs"}, {"can_read", "Website"}, {"menu_access", "Browse"},
	{"menu_access", "DAGs"}, {"menu_access", "DAG Dependencies"}, {"menu_access", "DAG Runs"}, {"menu_access", "Datasets"},
	{"menu_access", "Cluster Activity"}, {"menu_access", "Documentation"}, {"menu_access", "Docs"}, {"menu_access", "Jobs"},
	{"menu_access", "SLA Misses"}, {"menu_access", "Task Instances"},
}

var userPermissions = []Permission{
	{"can_edit", "DAGs"}, {"can_delete", "DAGs"}, {"can_create", "Task Instances"}, {"can_edit", "Task Instances"},
	{"can_delete", "Task Instances"}, {"can_create", "DAG Runs"}, {"can_edit", "DAG Runs"}, {"can_delete", "DAG Runs"},
	{"can_create", "Datasets"},
}

var opPermissions = []Permission{
	{"can_read", "Configurations"}, {"menu_access", "Admin"}, {"menu_access", "Configurations"}, {"menu_access", "Connections"},
	{"menu_access", "Pools"}, {"menu_access", "Plugins"}, {"menu_access", "Variables"}, {"menu_access", "Providers"},
	{"menu_access", "XComs"}, {"can_create", "Connections"}, {"can_read", "Connections"}, {"can_edit", "Connections"},
	{"can_delete", "Connections"}, {"can_create", "Pools"}, {"can_edit", "Pools"}, {"can_delete", "Pools"},
	{"can_read", "Plugins"}, {"can_read", "Providers"}, {"can_create", "Variables"}, {"can_read", "Variables"},
	{"can_edit", "Variables"}, {"can_delete", "Variables"}, {"can_delete", "XComs"}, {"can_delete", "Datasets"},
	{"can_create", "Datasets"},
}

var adminPermissions = []Permission{
	{"can_read", "Audit Logs"}, {"menu_access", "Audit Logs"}, {"can_read", "Task Reschedules"},
	{"menu_access", "Task Reschedules"}, {"can_read", "Triggers"}, {"menu_access", "Triggers"}, {"can_read", "Passwords"},
	{"can_edit", "Passwords"}, {"can_read", "Roles"}, {"can_edit", "Roles"},
	{"can_read", "Users"}, {"can_read", "Permissions"},
}

func concat(lists ...[]Permission) []Permission {
	var out []Permission
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// DefaultRoles are the gateway's roles in Airflow's role-id order (Admin is made first).
var DefaultRoles = []Role{
	{"Admin", concat(viewerPermissions, userPermissions, opPermissions, adminPermissions)},
	{"Viewer", viewerPermissions},
	{"User", concat(viewerPermissions, userPermissions)},
	{"Op", concat(viewerPermissions, userPermissions, opPermissions)},
}

// PermissionActions are the actions the roles are made of, Airflow's action rows.
var PermissionActions = []string{"can_edit", "can_read", "can_create", "can_delete", "menu_access"}
