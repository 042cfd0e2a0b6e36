package translate

import (
	"encoding/json"
	"regexp"
	"sort"
	"unicode/utf8"

	"airflow-prefect-gateway/prefect/wire"
)

// Airflow connections ↔ block documents of the gateway's block type "airflow-connection".
//
//   - connection_id ↔ the block document's name, through EncodeName/DecodeName (BlockNames:
//     block names are [a-z0-9-], so postgres_default is airflow-postgres-5fdefault);
//   - conn_type, description, host, login, schema, port, extra ↔ the block's data fields of
//     the same names; password ↔ the data field "password", a secret field of the block schema:
//     Prefect stores it encrypted and shows it obfuscated, and the gateway never reads it back
//     (it never asks Prefect for secrets), so no answer can hold it.

// ConnectionBlockSlug is the slug of the block type that holds Airflow connections.
const ConnectionBlockSlug = "airflow-connection"

// ConnectionBlockFields is the block schema of that type: the JSON schema of its data, with
// Prefect's own keys (block_type_slug, secret_fields) so that Prefect's UI shows a form whose
// password field is secret.
func ConnectionBlockFields() map[string]any {
	nullable := func(title string, s map[string]any) map[string]any {
		s = map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}, "default": nil, "title": title}
		return s
	}
	str := map[string]any{"type": "string"}
	return map[string]any{
		"title":       "AirflowConnection",
		"description": "An Apache Airflow connection, kept by airflow-prefect-gateway for Airflow's /connections API.",
		"type":        "object",
		"properties": map[string]any{
			"conn_type":   map[string]any{"type": "string", "title": "Connection type"},
			"description": nullable("Description", str),
			"host":        nullable("Host", str),
			"login":       nullable("Login", str),
			"password":    nullable("Password", map[string]any{"type": "string", "format": "password", "writeOnly": true}),
			"schema":      nullable("Schema", str),
			"port":        nullable("Port", map[string]any{"type": "integer"}),
			"extra":       nullable("Extra", str),
		},
		"required":                []any{"conn_type"},
		"block_type_slug":         ConnectionBlockSlug,
		"secret_fields":           []any{"password"},
		"block_schema_references": map[string]any{},
	}
}

// Connection is Airflow's connection without its password, generation-neutral.
type Connection struct {
	ConnID      string
	ConnType    string
	Description *string
	Host        *string
	Login       *string
	Schema      *string
	Port        *int
	Extra       *string
}

// ConnectionFromBlock is the connection a block document holds.
func ConnectionFromBlock(b wire.BlockDocument) Connection {
	c := Connection{ConnID: DecodeName(b.Name, BlockNames)}
	str := func(k string) *string {
		var s *string
		if raw, ok := b.Data[k]; ok {
			_ = json.Unmarshal(raw, &s) // not a string (edited by hand in Prefect): shown as null
		}
		return s
	}
	if t := str("conn_type"); t != nil {
		c.ConnType = *t
	}
	c.Description, c.Host, c.Login, c.Schema, c.Extra = str("description"), str("host"), str("login"), str("schema"), str("extra")
	if raw, ok := b.Data["port"]; ok {
		var p *int
		if json.Unmarshal(raw, &p) == nil {
			c.Port = p
		}
	}
	return c
}

// ConnectionWrite is what a create or an update writes: the fields named in Set.
type ConnectionWrite struct {
	Connection
	Password *string
	// Set names the block data fields written (create: all of them).
	Set []string
	// HasConnID is set when the body names a connection_id.
	HasConnID bool
}

// BlockData is the data of the write, for POST /block_documents/ or a merging PATCH.
func (w ConnectionWrite) BlockData() map[string]any {
	data := map[string]any{}
	for _, k := range w.Set {
		switch k {
		case "conn_type":
			data[k] = w.ConnType
		case "description":
			data[k] = w.Description
		case "host":
			data[k] = w.Host
		case "login":
			data[k] = w.Login
		case "schema":
			data[k] = w.Schema
		case "port":
			data[k] = w.Port
		case "extra":
			data[k] = w.Extra
		case "password":
			data[k] = w.Password
		}
	}
	return data
}

// Apply is c with the write's fields set.
func (w ConnectionWrite) Apply(c Connection) Connection {
	for _, k := range w.Set {
		switch k {
		case "conn_type":
			c.ConnType = w.ConnType
		case "description":
			c.Description = w.Description
		case "host":
			c.Host = w.Host
		case "login":
			c.Login = w.Login
		case "schema":
			c.Schema = w.Schema
		case "port":
			c.Port = w.Port
		case "extra":
			c.Extra = w.Extra
		}
	}
	return c
}

// --- the v1 edge ---

// connFields are the Connection schema's fields, in its order, as (body key, attribute).
var connFields = [][2]string{
	{"connection_id", "conn_id"}, {"conn_type", "conn_type"}, {"description", "description"}, {"host", "host"},
	{"login", "login"}, {"schema", "schema"}, {"port", "port"}, {"password", "password"}, {"extra", "extra"},
}

// connKeyPattern is Airflow's KEY_REGEX (^[\w.-]+$, \w being Unicode-aware in Python).
var connKeyPattern = regexp.MustCompile(`^[\p{L}\p{N}_.-]+$`)

// ParseConnectionBody reads a Connection body as Airflow's ConnectionSchema loads it: on
// create (partial false) connection_id and conn_type are required; the other fields may be
// null; an unknown or read-only field is refused. The write names every field the body has
// (for a create, every field).
func ParseConnectionBody(body []byte, partial bool) (ConnectionWrite, error) {
	keys := make([]string, len(connFields))
	for i, f := range connFields {
		keys[i] = f[0]
	}
	sb, err := loadSchemaBody(body, keys...)
	if err != nil {
		return ConnectionWrite{}, err
	}
	var w ConnectionWrite
	id, hasID := sb.str("connection_id", !partial, false)
	typ, hasType := sb.str("conn_type", !partial, false)
	var has [9]bool
	has[0], has[1] = hasID, hasType
	w.Description, has[2] = sb.str("description", false, true)
	w.Host, has[3] = sb.str("host", false, true)
	w.Login, has[4] = sb.str("login", false, true)
	w.Schema, has[5] = sb.str("schema", false, true)
	w.Port, has[6] = sb.integer("port", false, true)
	w.Password, has[7] = sb.str("password", false, true)
	w.Extra, has[8] = sb.str("extra", false, true)
	if err := sb.done(""); err != nil {
		return ConnectionWrite{}, err
	}
	if id != nil {
		w.ConnID, w.HasConnID = *id, true
	}
	if typ != nil {
		w.ConnType = *typ
	}
	for i, f := range connFields {
		if i > 0 && (has[i] || !partial) {
			w.Set = append(w.Set, f[1])
		}
	}
	return w, nil
}

// ValidateConnectionID is Airflow's helpers.validate_key(conn_id, max_length=200).
func ValidateConnectionID(id string) error {
	if utf8.RuneCountInString(id) > 200 {
		return badInput("The key has to be less than 200 characters")
	}
	if !connKeyPattern.MatchString(id) {
		return badInput("The key %s has to be made of alphanumeric characters, dashes, dots and underscores exclusively", pyRepr(id))
	}
	return nil
}

// ConnectionPatch applies Airflow's PATCH rules after the connection was found: a body
// connection_id other than the path's is refused; an update_mask names attributes
// (conn_type, host, ..., password, extra; never connection_id or conn_id) that the body has.
func ConnectionPatch(pathID string, w ConnectionWrite, mask []string) (ConnectionWrite, error) {
	if w.HasConnID && w.ConnID != "" && w.ConnID != pathID {
		return ConnectionWrite{}, badInput("The connection_id cannot be updated.")
	}
	if len(mask) == 0 {
		return w, nil
	}
	var set []string
	for _, f := range mask {
		if f == "connection_id" || f == "conn_id" || !containsString(w.Set, f) {
			return ConnectionWrite{}, badInput("'%s' is unknown or cannot be updated.", f)
		}
		set = append(set, f)
	}
	w.Set = set
	return w, nil
}

// ConnectionOrderFields are the order_by values Airflow allows on GET /connections.
var ConnectionOrderFields = []string{"connection_id", "conn_type", "description", "host", "port", "id"}

// SortConnections orders connections as Airflow's order_by does (id: creation order; nulls
// first, as SQLite sorts them).
func SortConnections(conns []Connection, created []int64, o OrderBy) {
	idx := make([]int, len(conns))
	for i := range idx {
		idx[i] = i
	}
	cmpStr := func(a, b *string) int {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return -1
		case b == nil:
			return 1
		case *a < *b:
			return -1
		case *a > *b:
			return 1
		}
		return 0
	}
	key := func(i, j int) int {
		a, b := conns[i], conns[j]
		switch o.Field {
		case "connection_id":
			return cmpStr(&a.ConnID, &b.ConnID)
		case "conn_type":
			return cmpStr(&a.ConnType, &b.ConnType)
		case "description":
			return cmpStr(a.Description, b.Description)
		case "host":
			return cmpStr(a.Host, b.Host)
		case "port":
			switch {
			case a.Port == nil || b.Port == nil:
				return boolInt(b.Port == nil) - boolInt(a.Port == nil)
			case *a.Port != *b.Port:
				return boolInt(*a.Port > *b.Port)*2 - 1
			}
		}
		return 0
	}
	sort.SliceStable(idx, func(x, y int) bool {
		i, j := idx[x], idx[y]
		if o.Desc {
			i, j = j, i
		}
		if c := key(i, j); c != 0 {
			return c < 0
		}
		return created[i] < created[j]
	})
	sc, sd := make([]Connection, len(conns)), make([]int64, len(conns))
	for i, k := range idx {
		sc[i], sd[i] = conns[k], created[k]
	}
	copy(conns, sc)
	copy(created, sd)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
