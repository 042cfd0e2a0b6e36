// Package spectest finds and loads Airflow's own OpenAPI documents, from the pinned Airflow
// packages, for the drift tests of spec/ and gateway/ and the e2e conformance checks. It is
// imported by tests only.
package spectest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// ModuleRoot is the directory holding go.mod, found from the working directory upwards.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// AirflowSpecPath is Airflow's own v1.yaml as the pinned apache-airflow 2.10.5 package ships
// it (airflow/api_connexion/openapi/v1.yaml in .venv-airflow2, which `make unit` and `make
// e2e` build first), or $AIRFLOW_V1_SPEC when set. A plain clone needs nothing beside it:
// when the venv is missing, scripts/airflow-spec.sh builds it (a few minutes, once).
func AirflowSpecPath() (string, error) {
	return packagedSpec("AIRFLOW_V1_SPEC", "v1",
		filepath.Join(".venv-airflow2", "lib", "python3*", "site-packages", "airflow", "api_connexion", "openapi", "v1.yaml"))
}

// AirflowV2SpecPath is Airflow 3's document of /api/v2 as apache-airflow-core 3.3.2 ships it
// (airflow/api_fastapi/core_api/openapi/v2-rest-api-generated.yaml, the package's files
// installed without dependencies into .airflow3-spec), or $AIRFLOW_V2_SPEC when set.
func AirflowV2SpecPath() (string, error) {
	return packagedSpec("AIRFLOW_V2_SPEC", "v2",
		filepath.Join(".airflow3-spec", "airflow", "api_fastapi", "core_api", "openapi", "v2-rest-api-generated.yaml"))
}

// packagedSpec finds a document: the environment variable, else the glob under the module
// root, else what scripts/airflow-spec.sh installs and prints.
func packagedSpec(env, generation, glob string) (string, error) {
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", env, p, err)
		}
		return p, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	if m, _ := filepath.Glob(filepath.Join(root, glob)); len(m) == 1 {
		return m[0], nil
	}
	installing.Lock()
	defer installing.Unlock()
	var stderr bytes.Buffer
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "airflow-spec.sh"), generation)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("scripts/airflow-spec.sh %s: %w\n%s", generation, err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

var installing sync.Mutex

var airflow = sync.OnceValues(func() (*openapi3.T, error) {
	path, err := AirflowSpecPath()
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return doc, nil
})

// LoadAirflow parses Airflow's v1.yaml once (without validating it: it uses a few
// non-standard formats). The document is shared: callers must not modify it.
func LoadAirflow() (*openapi3.T, error) { return airflow() }

// AirflowV2AuthSpecPath is the simple auth manager's document of the token endpoints
// (/auth/token, /auth/token/cli), shipped in the same apache-airflow-core package, or
// $AIRFLOW_V2_AUTH_SPEC when set.
func AirflowV2AuthSpecPath() (string, error) {
	core, err := AirflowV2SpecPath()
	if err != nil {
		return "", err
	}
	if p := os.Getenv("AIRFLOW_V2_AUTH_SPEC"); p != "" {
		return p, nil
	}
	// .../airflow/api_fastapi/core_api/openapi/<doc> → .../airflow/api_fastapi/auth/...
	apiRoot := filepath.Dir(filepath.Dir(filepath.Dir(core)))
	p := filepath.Join(apiRoot, "auth", "managers", "simple", "openapi", "v2-simple-auth-manager-generated.yaml")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the simple auth manager's document: %w", err)
	}
	return p, nil
}

var airflowV2 = sync.OnceValues(func() (*openapi3.T, error) {
	path, err := AirflowV2SpecPath()
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return doc, nil
})

// LoadAirflowV2 parses Airflow 3.3.2's v2 document once (OpenAPI 3.1, which kin-openapi
// reads). Shared: callers must not modify it.
func LoadAirflowV2() (*openapi3.T, error) { return airflowV2() }

var airflowV2Auth = sync.OnceValues(func() (*openapi3.T, error) {
	path, err := AirflowV2AuthSpecPath()
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return doc, nil
})

// LoadAirflowV2Auth parses the simple auth manager's token document once. Shared.
func LoadAirflowV2Auth() (*openapi3.T, error) { return airflowV2Auth() }
