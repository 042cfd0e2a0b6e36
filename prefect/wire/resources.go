package wire

import (
	"encoding/json"
	"time"
)

// Variables, concurrency limits and blocks: the Prefect objects behind Airflow's variables,
// pools and connections (prefect/server/api/variables.py, concurrency_limits_v2.py,
// block_types.py, block_schemas.py, block_documents.py).

// Variable is Prefect's Variable. Value is any JSON (Prefect allows strings, numbers,
// booleans, null, objects and lists), kept as sent.
type Variable struct {
	ID      string          `json:"id"`
	Created *time.Time      `json:"created"`
	Updated *time.Time      `json:"updated"`
	Name    string          `json:"name"`
	Value   json.RawMessage `json:"value"`
	Tags    []string        `json:"tags"`
}

// VariableCreate is the body of POST /variables/.
type VariableCreate struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
	Tags  []string        `json:"tags"`
}

// VariableUpdate is the body of PATCH /variables/name/{name}: nil fields are left alone.
type VariableUpdate struct {
	Value json.RawMessage `json:"value,omitempty"`
	Tags  *[]string       `json:"tags,omitempty"`
}

// VariableFilter is the `variables` key of /variables/filter.
type VariableFilter struct {
	Name *NameMatch `json:"name,omitempty"`
}

// VariableQuery is the body of POST /variables/filter.
type VariableQuery struct {
	Variables *VariableFilter `json:"variables,omitempty"`
	Sort      string          `json:"sort,omitempty"`
	Limit     *int            `json:"limit,omitempty"`
	Offset    int             `json:"offset,omitempty"`
}

// ConcurrencyLimitCreate is the body of POST /v2/concurrency_limits/.
type ConcurrencyLimitCreate struct {
	Name   string `json:"name"`
	Limit  int    `json:"limit"`
	Active bool   `json:"active"`
}

// ConcurrencyLimitUpdate is the body of PATCH /v2/concurrency_limits/{id_or_name}.
type ConcurrencyLimitUpdate struct {
	Name   *string `json:"name,omitempty"`
	Limit  *int    `json:"limit,omitempty"`
	Active *bool   `json:"active,omitempty"`
}

// PageQuery is a filter body of only limit and offset (/v2/concurrency_limits/filter).
type PageQuery struct {
	Limit  *int `json:"limit,omitempty"`
	Offset int  `json:"offset,omitempty"`
}

// BlockType is Prefect's BlockType.
type BlockType struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Slug string `json:"slug"`
}

// BlockTypeCreate is the body of POST /block_types/.
type BlockTypeCreate struct {
	Name             string `json:"name"`
	Slug             string `json:"slug"`
	Description      string `json:"description,omitempty"`
	DocumentationURL string `json:"documentation_url,omitempty"`
	CodeExample      string `json:"code_example,omitempty"`
}

// BlockSchema is Prefect's BlockSchema (the fields of interest).
type BlockSchema struct {
	ID          string `json:"id"`
	Checksum    string `json:"checksum"`
	BlockTypeID string `json:"block_type_id"`
}

// BlockSchemaCreate is the body of POST /block_schemas/: Fields is the JSON schema of the
// block's data, with Prefect's `secret_fields` and `block_type_slug` keys.
type BlockSchemaCreate struct {
	Fields       map[string]any `json:"fields"`
	BlockTypeID  string         `json:"block_type_id"`
	Capabilities []string       `json:"capabilities"`
	Version      string         `json:"version"`
}

// BlockDocument is Prefect's BlockDocument. Data holds secret fields obfuscated unless it
// was read with include_secrets (the gateway never asks for them).
type BlockDocument struct {
	ID            string                     `json:"id"`
	Created       *time.Time                 `json:"created"`
	Updated       *time.Time                 `json:"updated"`
	Name          string                     `json:"name"`
	Data          map[string]json.RawMessage `json:"data"`
	BlockSchemaID string                     `json:"block_schema_id"`
	BlockTypeID   string                     `json:"block_type_id"`
	IsAnonymous   bool                       `json:"is_anonymous"`
}

// BlockDocumentCreate is the body of POST /block_documents/.
type BlockDocumentCreate struct {
	Name          string         `json:"name"`
	Data          map[string]any `json:"data"`
	BlockSchemaID string         `json:"block_schema_id"`
	BlockTypeID   string         `json:"block_type_id"`
}

// BlockDocumentUpdate is the body of PATCH /block_documents/{id}. With MergeExistingData
// the keys of Data replace those stored and the others (the secret ones included) stay.
type BlockDocumentUpdate struct {
	BlockSchemaID     string         `json:"block_schema_id,omitempty"`
	Data              map[string]any `json:"data"`
	MergeExistingData bool           `json:"merge_existing_data"`
}

// BlockDocumentQuery is the body of POST /block_documents/filter.
type BlockDocumentQuery struct {
	BlockDocuments *BlockDocumentFilter `json:"block_documents,omitempty"`
	BlockTypes     *BlockTypeFilter     `json:"block_types,omitempty"`
	IncludeSecrets bool                 `json:"include_secrets"`
	Sort           string               `json:"sort,omitempty"`
	Limit          *int                 `json:"limit,omitempty"`
	Offset         int                  `json:"offset,omitempty"`
}

// BlockDocumentFilter is the `block_documents` key of /block_documents/filter.
type BlockDocumentFilter struct {
	IsAnonymous *BoolEq    `json:"is_anonymous,omitempty"`
	Name        *NameMatch `json:"name,omitempty"`
}

// BlockTypeFilter is the `block_types` key of /block_documents/filter.
type BlockTypeFilter struct {
	Slug *AnyOf `json:"slug,omitempty"`
}
