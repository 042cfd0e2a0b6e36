// Package spectest finds and loads Airflow's own v1.yaml for the drift tests of spec/ and
// gateway/. It is imported by tests only.
package spectest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// AirflowSpecPath is Airflow's v1.yaml: $AIRFLOW_V1_SPEC when set, else
// ../shared/airflow/v1.yaml relative to the module root (where the workspace and CI put it).
func AirflowSpecPath() (string, error) {
	p := os.Getenv("AIRFLOW_V1_SPEC")
	if p == "" {
		root, err := ModuleRoot()
		if err != nil {
			return "", err
		}
		p = filepath.Join(root, "..", "shared", "airflow", "v1.yaml")
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("Airflow's v1.yaml not found at %s (set AIRFLOW_V1_SPEC): %w", p, err)
	}
	return p, nil
}

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
