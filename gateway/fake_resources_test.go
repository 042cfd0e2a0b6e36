package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	"airflow-prefect-gateway/prefect/wire"
)

// The fake Prefect's variables, global concurrency limits and blocks, as the real server
// (prefect 3.8.8, server/api/variables.py, concurrency_limits_v2.py, block_*.py) answers
// the calls the gateway makes: names checked with Prefect's rules (422), duplicates 409 with
// Prefect's messages, PATCH and DELETE 204, unknown objects 404, block secrets obfuscated on
// every read. Called from fakePrefect.handle with the fake's lock held.

type fakeResources struct {
	variables  []*wire.Variable
	limits     []*wire.GlobalConcurrencyLimit
	blockTypes []*wire.BlockType
	schemas    []*fakeBlockSchema
	blocks     []*wire.BlockDocument
	// blockSecrets keeps each block document's secret values (the data shows them obfuscated).
	blockSecrets map[string]map[string]json.RawMessage
}

type fakeBlockSchema struct {
	wire.BlockSchema
	secretFields []string
}

var (
	fakeVariableName = regexp.MustCompile(`^[a-z0-9_-]+$`)
	fakeBlockName    = regexp.MustCompile(`^[a-z0-9-]+$`)
)

const fakeObfuscated = "********"

func fakeUnprocessable(w http.ResponseWriter, msg string) {
	fakeJSON(w, 422, map[string]any{"exception_message": "Invalid request received.",
		"exception_detail": []any{map[string]any{"loc": []string{"body"}, "msg": msg}}})
}

// handleResource answers the resource calls; false when the path is none of them.
func (f *fakePrefect) handleResource(w http.ResponseWriter, r *http.Request, path string, parts []string) bool {
	switch {
	case strings.HasPrefix(path, "/variables"):
		f.handleVariable(w, r, path, parts)
	case strings.HasPrefix(path, "/v2/concurrency_limits"):
		f.handleLimit(w, r, path, parts)
	case strings.HasPrefix(path, "/block_types") || strings.HasPrefix(path, "/block_schemas") || strings.HasPrefix(path, "/block_documents"):
		f.handleBlock(w, r, path, parts)
	default:
		return false
	}
	return true
}

// --- variables ---

func (f *fakePrefect) variable(name string) (int, *wire.Variable) {
	for i, v := range f.resources.variables {
		if v.Name == name {
			return i, v
		}
	}
	return -1, nil
}

func (f *fakePrefect) handleVariable(w http.ResponseWriter, r *http.Request, path string, parts []string) {
	res := &f.resources
	switch {
	case r.Method == http.MethodPost && path == "/variables/":
		var body wire.VariableCreate
		if !fakeDecodeStrict(w, r, []string{"name", "value", "tags"}, &body) {
			return
		}
		if !fakeVariableName.MatchString(body.Name) || len(body.Name) > 255 {
			fakeUnprocessable(w, "Variable name must only contain lowercase letters, numbers, and dashes or underscores.")
			return
		}
		if len(body.Value) >= 5000 {
			fakeUnprocessable(w, "Variable value must be less than 5000 characters")
			return
		}
		if _, v := f.variable(body.Name); v != nil {
			fakeDetail(w, 409, fmt.Sprintf("A variable with the name '%s' already exists.", body.Name))
			return
		}
		v := &wire.Variable{ID: f.nextID(), Created: f.tick(), Name: body.Name, Value: body.Value, Tags: body.Tags}
		if v.Tags == nil {
			v.Tags = []string{}
		}
		v.Updated = v.Created
		res.variables = append(res.variables, v)
		fakeJSON(w, 201, v)
	case r.Method == http.MethodPost && path == "/variables/filter":
		var q wire.VariableQuery
		if !fakeDecodeStrict(w, r, []string{"variables", "sort", "limit", "offset"}, &q) || !f.checkLimit(w, q.Limit) {
			return
		}
		out := make([]wire.Variable, 0, len(res.variables))
		for _, v := range res.variables {
			out = append(out, *v)
		}
		switch q.Sort {
		case "CREATED_DESC":
			sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(*out[j].Created) })
		case "", "NAME_ASC":
			sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		default:
			fakeDetail(w, 422, "bad sort "+q.Sort)
			return
		}
		fakeJSON(w, 200, fakePage(out, q.Offset, q.Limit))
	case len(parts) == 3 && parts[1] == "name":
		i, v := f.variable(parts[2])
		if v == nil {
			fakeDetail(w, 404, "Variable not found.")
			return
		}
		switch r.Method {
		case http.MethodGet:
			fakeJSON(w, 200, v)
		case http.MethodDelete:
			res.variables = slices.Delete(res.variables, i, i+1)
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPatch:
			var body struct {
				Value json.RawMessage `json:"value"`
				Tags  *[]string       `json:"tags"`
			}
			if !fakeDecodeStrict(w, r, []string{"name", "value", "tags"}, &body) {
				return
			}
			if body.Value != nil {
				v.Value = body.Value
			}
			if body.Tags != nil {
				v.Tags = *body.Tags
			}
			v.Updated = f.tick()
			w.WriteHeader(http.StatusNoContent)
		default:
			fakeDetail(w, 405, "Method Not Allowed")
		}
	default:
		fakeDetail(w, 404, "Not Found")
	}
}

// addVariable stores a variable as a Prefect user would (any JSON value).
func (f *fakePrefect) addVariable(name, valueJSON string, tags ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if tags == nil {
		tags = []string{}
	}
	f.resources.variables = append(f.resources.variables, &wire.Variable{ID: f.nextID(), Created: f.tick(), Name: name,
		Value: json.RawMessage(valueJSON), Tags: tags})
}

// prefectVariable is a copy of the stored variable of name (nil when there is none).
func (f *fakePrefect) prefectVariable(name string) *wire.Variable {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, v := f.variable(name); v != nil {
		cp := *v
		return &cp
	}
	return nil
}

// --- global concurrency limits ---

func (f *fakePrefect) limit(idOrName string) (int, *wire.GlobalConcurrencyLimit) {
	for i, l := range f.resources.limits {
		if l.Name == idOrName || l.ID == idOrName {
			return i, l
		}
	}
	return -1, nil
}

func (f *fakePrefect) handleLimit(w http.ResponseWriter, r *http.Request, path string, parts []string) {
	res := &f.resources
	badName := func(n string) bool { return n == "" || strings.ContainsAny(n, "/%&><") }
	switch {
	case r.Method == http.MethodPost && path == "/v2/concurrency_limits/":
		var body wire.ConcurrencyLimitCreate
		if !fakeDecodeStrict(w, r, []string{"name", "limit", "active", "active_slots", "denied_slots", "slot_decay_per_second"}, &body) {
			return
		}
		if badName(body.Name) || body.Limit < 0 {
			fakeUnprocessable(w, "String should match pattern '^[^/%&><]+$'")
			return
		}
		if _, l := f.limit(body.Name); l != nil {
			fakeDetail(w, 409, "Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.")
			return
		}
		l := &wire.GlobalConcurrencyLimit{ID: f.nextID(), Created: f.tick(), Name: body.Name, Limit: body.Limit, Active: body.Active}
		res.limits = append(res.limits, l)
		fakeJSON(w, 201, l)
	case r.Method == http.MethodPost && path == "/v2/concurrency_limits/filter":
		var q wire.PageQuery
		if !fakeDecodeStrict(w, r, []string{"limit", "offset"}, &q) || !f.checkLimit(w, q.Limit) {
			return
		}
		out := make([]wire.GlobalConcurrencyLimit, 0, len(res.limits))
		for _, l := range res.limits {
			out = append(out, *l)
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		fakeJSON(w, 200, fakePage(out, q.Offset, q.Limit))
	case len(parts) == 3:
		i, l := f.limit(parts[2])
		if l == nil {
			fakeDetail(w, 404, "Concurrency Limit not found")
			return
		}
		switch r.Method {
		case http.MethodGet:
			fakeJSON(w, 200, l)
		case http.MethodDelete:
			res.limits = slices.Delete(res.limits, i, i+1)
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPatch:
			var body wire.ConcurrencyLimitUpdate
			if !fakeDecodeStrict(w, r, []string{"name", "limit", "active", "active_slots", "denied_slots", "slot_decay_per_second"}, &body) {
				return
			}
			if body.Name != nil {
				if badName(*body.Name) {
					fakeUnprocessable(w, "String should match pattern '^[^/%&><]+$'")
					return
				}
				if _, other := f.limit(*body.Name); other != nil && other != l {
					fakeDetail(w, 409, "Data integrity conflict.")
					return
				}
				l.Name = *body.Name
			}
			if body.Limit != nil {
				l.Limit = *body.Limit
			}
			if body.Active != nil {
				l.Active = *body.Active
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			fakeDetail(w, 405, "Method Not Allowed")
		}
	default:
		fakeDetail(w, 404, "Not Found")
	}
}

// addLimit stores a global concurrency limit with active slots taken.
func (f *fakePrefect) addLimit(name string, limit, active int, enabled bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resources.limits = append(f.resources.limits, &wire.GlobalConcurrencyLimit{ID: f.nextID(), Created: f.tick(),
		Name: name, Limit: limit, ActiveSlots: active, Active: enabled})
}

func (f *fakePrefect) prefectLimit(name string) *wire.GlobalConcurrencyLimit {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, l := f.limit(name); l != nil {
		cp := *l
		return &cp
	}
	return nil
}

// --- blocks ---

func (f *fakePrefect) blockTypeBySlug(slug string) *wire.BlockType {
	for _, bt := range f.resources.blockTypes {
		if bt.Slug == slug {
			return bt
		}
	}
	return nil
}

func (f *fakePrefect) blockByID(id string) (int, *wire.BlockDocument) {
	for i, b := range f.resources.blocks {
		if b.ID == id {
			return i, b
		}
	}
	return -1, nil
}

// shown is a block document as Prefect answers it without include_secrets.
func (f *fakePrefect) shown(b *wire.BlockDocument) wire.BlockDocument {
	cp := *b
	cp.Data = map[string]json.RawMessage{}
	for k, v := range b.Data {
		cp.Data[k] = v
	}
	for k := range f.resources.blockSecrets[b.ID] {
		cp.Data[k] = json.RawMessage(`"` + fakeObfuscated + `"`)
	}
	return cp
}

func (f *fakePrefect) secretFieldsOf(schemaID string) []string {
	for _, s := range f.resources.schemas {
		if s.ID == schemaID {
			return s.secretFields
		}
	}
	return nil
}

// storeBlockData writes data into b, secrets apart; merge keeps the keys data lacks.
func (f *fakePrefect) storeBlockData(b *wire.BlockDocument, data map[string]json.RawMessage, merge bool) {
	res := &f.resources
	if res.blockSecrets == nil {
		res.blockSecrets = map[string]map[string]json.RawMessage{}
	}
	if !merge || b.Data == nil {
		b.Data = map[string]json.RawMessage{}
		res.blockSecrets[b.ID] = map[string]json.RawMessage{}
	}
	if res.blockSecrets[b.ID] == nil {
		res.blockSecrets[b.ID] = map[string]json.RawMessage{}
	}
	secret := f.secretFieldsOf(b.BlockSchemaID)
	for k, v := range data {
		if slices.Contains(secret, k) {
			if string(v) == `"`+fakeObfuscated+`"` {
				continue // the obfuscated value sent back: Prefect keeps the secret
			}
			res.blockSecrets[b.ID][k] = v
			continue
		}
		b.Data[k] = v
	}
}

func (f *fakePrefect) handleBlock(w http.ResponseWriter, r *http.Request, path string, parts []string) {
	res := &f.resources
	switch {
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "block_types" && parts[1] == "slug":
		if bt := f.blockTypeBySlug(parts[2]); bt != nil {
			fakeJSON(w, 200, bt)
			return
		}
		fakeDetail(w, 404, "Block type not found")
	case r.Method == http.MethodPost && path == "/block_types/":
		var body wire.BlockTypeCreate
		if !fakeDecodeStrict(w, r, []string{"name", "slug", "description", "documentation_url", "code_example", "logo_url"}, &body) {
			return
		}
		if f.blockTypeBySlug(body.Slug) != nil {
			fakeDetail(w, 409, fmt.Sprintf("Block type with name %q already exists", body.Name))
			return
		}
		bt := &wire.BlockType{ID: f.nextID(), Name: body.Name, Slug: body.Slug}
		res.blockTypes = append(res.blockTypes, bt)
		fakeJSON(w, 201, bt)
	case r.Method == http.MethodPost && path == "/block_schemas/":
		var body wire.BlockSchemaCreate
		if !fakeDecodeStrict(w, r, []string{"fields", "block_type_id", "capabilities", "version"}, &body) {
			return
		}
		raw, _ := json.Marshal(body.Fields)
		checksum := fmt.Sprintf("sha256:%x", raw)
		for _, s := range res.schemas {
			if s.Checksum == checksum && s.BlockTypeID == body.BlockTypeID {
				fakeJSON(w, 200, s.BlockSchema)
				return
			}
		}
		var secret []string
		if sf, ok := body.Fields["secret_fields"].([]any); ok {
			for _, x := range sf {
				secret = append(secret, fmt.Sprint(x))
			}
		}
		s := &fakeBlockSchema{BlockSchema: wire.BlockSchema{ID: f.nextID(), Checksum: checksum, BlockTypeID: body.BlockTypeID}, secretFields: secret}
		res.schemas = append(res.schemas, s)
		fakeJSON(w, 201, s.BlockSchema)
	case r.Method == http.MethodGet && len(parts) == 6 && parts[0] == "block_types" && parts[3] == "block_documents" && parts[4] == "name":
		bt := f.blockTypeBySlug(parts[2])
		for _, b := range res.blocks {
			if bt != nil && b.BlockTypeID == bt.ID && b.Name == parts[5] {
				fakeJSON(w, 200, f.shown(b))
				return
			}
		}
		fakeDetail(w, 404, "Block document not found")
	case r.Method == http.MethodPost && path == "/block_documents/":
		var body struct {
			Name          string                     `json:"name"`
			Data          map[string]json.RawMessage `json:"data"`
			BlockSchemaID string                     `json:"block_schema_id"`
			BlockTypeID   string                     `json:"block_type_id"`
		}
		if !fakeDecodeStrict(w, r, []string{"name", "data", "block_schema_id", "block_type_id", "is_anonymous"}, &body) {
			return
		}
		if !fakeBlockName.MatchString(body.Name) {
			fakeUnprocessable(w, "Block document name must only contain lowercase letters, numbers, and dashes.")
			return
		}
		for _, b := range res.blocks {
			if b.BlockTypeID == body.BlockTypeID && b.Name == body.Name {
				fakeDetail(w, 409, "Block already exists")
				return
			}
		}
		now := f.tick()
		b := &wire.BlockDocument{ID: f.nextID(), Created: now, Updated: now, Name: body.Name,
			BlockSchemaID: body.BlockSchemaID, BlockTypeID: body.BlockTypeID}
		f.storeBlockData(b, body.Data, false)
		res.blocks = append(res.blocks, b)
		fakeJSON(w, 201, f.shown(b))
	case r.Method == http.MethodPost && path == "/block_documents/filter":
		var q wire.BlockDocumentQuery
		if !fakeDecodeStrict(w, r, []string{"block_documents", "block_types", "block_schemas", "include_secrets", "sort", "limit", "offset"}, &q) ||
			!f.checkLimit(w, q.Limit) {
			return
		}
		if q.IncludeSecrets {
			f.t.Errorf("the gateway asked Prefect for block secrets")
		}
		var out []wire.BlockDocument
		for _, b := range res.blocks {
			if q.BlockTypes != nil && q.BlockTypes.Slug != nil {
				bt := f.blockTypeByID(b.BlockTypeID)
				if bt == nil || !slices.Contains(q.BlockTypes.Slug.Any, bt.Slug) {
					continue
				}
			}
			out = append(out, f.shown(b))
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		fakeJSON(w, 200, fakePage(out, q.Offset, q.Limit))
	case len(parts) == 2 && parts[0] == "block_documents":
		i, b := f.blockByID(parts[1])
		if b == nil {
			fakeDetail(w, 404, "Block document not found")
			return
		}
		switch r.Method {
		case http.MethodDelete:
			res.blocks = slices.Delete(res.blocks, i, i+1)
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPatch:
			raw, _ := io.ReadAll(r.Body)
			var body struct {
				BlockSchemaID     string                     `json:"block_schema_id"`
				Data              map[string]json.RawMessage `json:"data"`
				MergeExistingData *bool                      `json:"merge_existing_data"`
			}
			if err := json.Unmarshal(raw, &body); err != nil {
				fakeDetail(w, 422, err.Error())
				return
			}
			merge := body.MergeExistingData == nil || *body.MergeExistingData
			f.storeBlockData(b, body.Data, merge)
			if body.BlockSchemaID != "" {
				b.BlockSchemaID = body.BlockSchemaID
			}
			b.Updated = f.tick()
			w.WriteHeader(http.StatusNoContent)
		default:
			fakeDetail(w, 405, "Method Not Allowed")
		}
	default:
		fakeDetail(w, 404, "Not Found")
	}
}

func (f *fakePrefect) blockTypeByID(id string) *wire.BlockType {
	for _, bt := range f.resources.blockTypes {
		if bt.ID == id {
			return bt
		}
	}
	return nil
}

// blockSecret is the secret value stored under key of the block document of name.
func (f *fakePrefect) blockSecret(name, key string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.resources.blocks {
		if b.Name == name {
			return string(f.resources.blockSecrets[b.ID][key])
		}
	}
	return ""
}
