package prefect

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"

	"airflow-prefect-gateway/prefect/wire"
)

// --- block documents (Airflow connections, pool details) ---

// ReadBlockDocument reads the block document name of the block type slug, secrets obfuscated
// (404 "Block document not found", also when the type does not exist).
func (c *Client) ReadBlockDocument(ctx context.Context, slug, name string) (wire.BlockDocument, error) {
	var b wire.BlockDocument
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/block_types/slug/" + esc(slug) + "/block_documents/name/" + esc(name),
		query: url.Values{"include_secrets": {"false"}}, out: &b, endpoint: "block_types/slug/{slug}/block_documents/name/{name}", retry: true})
	return b, err
}

// FilterAllBlockDocuments reads every named block document of the block type slug, by name.
func (c *Client) FilterAllBlockDocuments(ctx context.Context, slug string) ([]wire.BlockDocument, error) {
	notAnonymous := false
	return readAll(ctx, "block documents", func(ctx context.Context, offset, limit int) ([]wire.BlockDocument, error) {
		var out []wire.BlockDocument
		q := wire.BlockDocumentQuery{BlockTypes: &wire.BlockTypeFilter{Slug: &wire.AnyOf{Any: []string{slug}}},
			BlockDocuments: &wire.BlockDocumentFilter{IsAnonymous: &wire.BoolEq{Eq: &notAnonymous}},
			Sort:           "NAME_ASC", Limit: &limit, Offset: offset}
		_, err := c.do(ctx, call{method: http.MethodPost, path: "/block_documents/filter", body: q, out: &out, endpoint: "block_documents/filter", retry: true})
		return out, err
	}, func(b wire.BlockDocument) string { return b.ID })
}

// CreateBlockDocument creates a block document (409 "Block already exists" for a taken
// name). Not repeated after a lost answer, which would turn into a false conflict.
func (c *Client) CreateBlockDocument(ctx context.Context, body wire.BlockDocumentCreate) (wire.BlockDocument, error) {
	var b wire.BlockDocument
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/block_documents/", body: body, out: &b, endpoint: "block_documents"})
	return b, err
}

// UpdateBlockDocument writes body over the block document id (204).
func (c *Client) UpdateBlockDocument(ctx context.Context, id string, body wire.BlockDocumentUpdate) error {
	_, err := c.do(ctx, call{method: http.MethodPatch, path: "/block_documents/" + esc(id), body: body, endpoint: "block_documents/{id}", retry: true})
	return err
}

// DeleteBlockDocument deletes the block document id.
func (c *Client) DeleteBlockDocument(ctx context.Context, id string) error {
	_, err := c.do(ctx, call{method: http.MethodDelete, path: "/block_documents/" + esc(id), endpoint: "block_documents/{id}",
		retry: true, goneMeansDone: true})
	return err
}

// IsBlockNameTaken tells a create's 409 for a taken name from the 409 Prefect answers when
// the block type or schema it names is gone ("Data integrity conflict").
func IsBlockNameTaken(err error) bool {
	pe, ok := AsError(err)
	return ok && pe.Kind == KindConflict && strings.Contains(pe.Message, "Block already exists")
}

// --- block types the gateway registers ---

// BlockTypeSpec is a block type the gateway needs and its one schema.
type BlockTypeSpec struct {
	Name, Slug, Description string
	Fields                  map[string]any // the block schema's JSON schema, with secret_fields
}

// RegisteredBlockType is what a block document create needs.
type RegisteredBlockType struct {
	TypeID, SchemaID string
}

// BlockTypes registers block types at first use and remembers their ids. Registration is
// idempotent on Prefect's side too: an existing type is found by slug, and a schema with the
// same fields is Prefect's existing one (it answers 200 with it). Concurrent first uses make
// one registration.
type BlockTypes struct {
	c     *Client
	mu    sync.Mutex
	known map[string]RegisteredBlockType
	sf    singleflight.Group
}

// NewBlockTypes is a registry for c.
func NewBlockTypes(c *Client) *BlockTypes {
	return &BlockTypes{c: c, known: map[string]RegisteredBlockType{}}
}

// Ensure returns the ids of spec's type and schema, registering them when needed (3 calls
// the first time: read the type by slug, create it, create the schema; none later).
func (r *BlockTypes) Ensure(ctx context.Context, spec BlockTypeSpec) (RegisteredBlockType, error) {
	r.mu.Lock()
	reg, ok := r.known[spec.Slug]
	r.mu.Unlock()
	if ok {
		return reg, nil
	}
	v, err, _ := r.sf.Do(spec.Slug, func() (any, error) {
		reg, err := r.register(ctx, spec)
		if err == nil {
			r.mu.Lock()
			r.known[spec.Slug] = reg
			r.mu.Unlock()
		}
		return reg, err
	})
	if err != nil {
		return RegisteredBlockType{}, err
	}
	return v.(RegisteredBlockType), nil
}

// Forget drops what is known of slug (its type or schema was deleted in Prefect).
func (r *BlockTypes) Forget(slug string) {
	r.mu.Lock()
	delete(r.known, slug)
	r.mu.Unlock()
}

func (r *BlockTypes) register(ctx context.Context, spec BlockTypeSpec) (RegisteredBlockType, error) {
	var bt wire.BlockType
	_, err := r.c.do(ctx, call{method: http.MethodGet, path: "/block_types/slug/" + esc(spec.Slug), out: &bt, endpoint: "block_types/slug/{slug}", retry: true})
	if IsNotFound(err) {
		_, err = r.c.do(ctx, call{method: http.MethodPost, path: "/block_types/", endpoint: "block_types", retry: true,
			body: wire.BlockTypeCreate{Name: spec.Name, Slug: spec.Slug, Description: spec.Description}, out: &bt})
		if IsConflict(err) { // registered meanwhile (another replica)
			_, err = r.c.do(ctx, call{method: http.MethodGet, path: "/block_types/slug/" + esc(spec.Slug), out: &bt, endpoint: "block_types/slug/{slug}", retry: true})
		}
	}
	if err != nil {
		return RegisteredBlockType{}, err
	}
	var schema wire.BlockSchema
	_, err = r.c.do(ctx, call{method: http.MethodPost, path: "/block_schemas/", endpoint: "block_schemas", retry: true,
		body: wire.BlockSchemaCreate{Fields: spec.Fields, BlockTypeID: bt.ID, Capabilities: []string{}, Version: "1"}, out: &schema})
	if err != nil {
		return RegisteredBlockType{}, err
	}
	return RegisteredBlockType{TypeID: bt.ID, SchemaID: schema.ID}, nil
}
