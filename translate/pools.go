package translate

import (
	"encoding/json"
	"sort"
	"strings"

	"airflow-prefect-gateway/prefect/wire"
)

// Airflow pools ↔ Prefect global concurrency limits (/v2/concurrency_limits).
//
// Both are named slot counters that work occupies while it runs, whatever its DAG or flow:
// an Airflow task takes pool_slots of its pool, a Prefect task or flow takes `occupy` slots of
// a limit (`with concurrency("name", occupy=n)`, or a tag-based limit, which Prefect keeps as
// the global limit "tag:<tag>"). Work pools, the other candidate, are where runs execute
// (infrastructure and workers): their concurrency counts flow runs, not tasks, and creating
// one makes infrastructure configuration, so they are Airflow's executor queues, not pools.
//
//   - name ↔ name; slots ↔ limit, and slots -1 (Airflow's "unlimited") ↔ an inactive limit
//     (Prefect enforces no inactive limit);
//   - occupied_slots and running_slots ↔ active_slots (the slots held now; a holder is
//     running code); queued, scheduled and deferred slots are 0: Prefect does not count the
//     work waiting for a limit;
//   - open_slots ↔ limit − active_slots (−1 for an unlimited pool, where Airflow's own
//     answer would be an infinite float JSON cannot carry);
//   - description and include_deferred, which limits lack, ↔ the data of a block document
//     of the gateway's "airflow-pool" type named after the limit's id (so a rename keeps it).
//
// default_pool is always there: the limit of that name when Prefect has one, else an
// unlimited pool with Airflow's description "Default pool" (Prefect limits nothing by
// default). Writing its slots creates the limit.

// DefaultPool is Airflow's default pool.
const DefaultPool = "default_pool"

// PoolBlockSlug is the block type that holds a pool's description and include_deferred.
const PoolBlockSlug = "airflow-pool"

// PoolBlockFields is the block schema of that type.
func PoolBlockFields() map[string]any {
	return map[string]any{
		"title":       "AirflowPoolDetails",
		"description": "What an Apache Airflow pool has beside its Prefect global concurrency limit (kept by airflow-prefect-gateway).",
		"type":        "object",
		"properties": map[string]any{
			"description":      map[string]any{"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "null"}}, "default": nil, "title": "Description"},
			"include_deferred": map[string]any{"type": "boolean", "default": false, "title": "Include deferred"},
		},
		"block_type_slug":         PoolBlockSlug,
		"secret_fields":           []any{},
		"block_schema_references": map[string]any{},
	}
}

// Pool is Airflow's pool, generation-neutral.
type Pool struct {
	Name            string
	Slots           int
	Description     *string
	IncludeDeferred bool
	Occupied        int
	Running         int
	Queued          int
	Scheduled       int
	Deferred        int
	Open            int
}

// PoolDetails is what the pool's block document holds.
type PoolDetails struct {
	Description     *string `json:"description"`
	IncludeDeferred bool    `json:"include_deferred"`
}

// PoolDetailsFromBlock reads a pool block's data.
func PoolDetailsFromBlock(b wire.BlockDocument) PoolDetails {
	var d PoolDetails
	if raw, ok := b.Data["description"]; ok {
		_ = json.Unmarshal(raw, &d.Description)
	}
	if raw, ok := b.Data["include_deferred"]; ok {
		_ = json.Unmarshal(raw, &d.IncludeDeferred)
	}
	return d
}

// PoolFromLimit is the pool a global concurrency limit is.
func PoolFromLimit(l wire.GlobalConcurrencyLimit, d PoolDetails) Pool {
	p := Pool{Name: l.Name, Description: d.Description, IncludeDeferred: d.IncludeDeferred,
		Occupied: l.ActiveSlots, Running: l.ActiveSlots}
	if l.Active {
		p.Slots, p.Open = l.Limit, l.Limit-l.ActiveSlots
	} else {
		p.Slots, p.Open = -1, -1
	}
	return p
}

// VirtualDefaultPool is default_pool while Prefect has no limit of that name.
func VirtualDefaultPool() Pool {
	d := "Default pool"
	return Pool{Name: DefaultPool, Slots: -1, Open: -1, Description: &d}
}

// LimitOf is the limit and active flag that store slots.
func LimitOf(slots int) (limit int, active bool, err error) {
	switch {
	case slots == -1:
		return 0, false, nil
	case slots < 0:
		return 0, false, badInput("Prefect's concurrency limits hold 0 or more slots, or -1 for no limit; %d cannot be stored", slots)
	}
	return slots, true, nil
}

// ValidatePoolName refuses names Prefect cannot give a concurrency limit.
func ValidatePoolName(name string) error {
	if name == "" {
		return badInput("The pool name must not be empty")
	}
	if strings.ContainsAny(name, "/%&><") {
		return badInput("Prefect's concurrency-limit names cannot hold '/', '%%', '&', '>' or '<': %q cannot be stored", name)
	}
	return nil
}

// --- the v1 edge ---

// PoolWrite is a pool body as Airflow's PoolSchema loads it; Set names the attributes it
// writes (name, slots, description, include_deferred).
type PoolWrite struct {
	Name            string
	Slots           int
	Description     *string
	IncludeDeferred bool
	Set             []string
}

// ParsePoolBody reads a Pool body: create needs name and slots (Airflow's "Missing required
// property(ies)"); read-only and unknown fields are refused with marshmallow's messages.
// include_deferred defaults to false, as Airflow's schema loads it.
func ParsePoolBody(body []byte, requireNameAndSlots bool) (PoolWrite, error) {
	sb, err := loadSchemaBody(body, "name", "slots", "description", "include_deferred")
	if err != nil {
		return PoolWrite{}, err
	}
	if requireNameAndSlots {
		if missing := missingOf(sb, "name", "slots"); missing != "" {
			return PoolWrite{}, badInput("Missing required property(ies): %s", missing)
		}
	}
	var w PoolWrite
	name, hasName := sb.str("name", false, false)
	slots, hasSlots := sb.integer("slots", false, false)
	w.Description, _ = sb.str("description", false, true)
	hasDesc := sb.has("description")
	deferred, _ := sb.boolean("include_deferred", false)
	if err := sb.done(""); err != nil {
		return PoolWrite{}, err
	}
	if name != nil {
		w.Name = *name
	}
	if slots != nil {
		w.Slots = *slots
	}
	if deferred != nil {
		w.IncludeDeferred = *deferred
	}
	for _, f := range []struct {
		name string
		has  bool
	}{{"name", hasName}, {"slots", hasSlots}, {"description", hasDesc}, {"include_deferred", true}} {
		if f.has {
			w.Set = append(w.Set, f.name)
		}
	}
	return w, nil
}

// missingOf is Python's repr of the sorted list of keys the body lacks ("" when none).
func missingOf(sb *schemaBody, keys ...string) string {
	var missing []string
	for _, k := range keys {
		if !sb.has(k) {
			missing = append(missing, pyRepr(k))
		}
	}
	if len(missing) == 0 {
		return ""
	}
	sort.Strings(missing)
	return "[" + strings.Join(missing, ", ") + "]"
}

// PoolPatch applies Airflow's PATCH /pools/{name} rules: default_pool keeps its name unless
// the mask names only slots and include_deferred; a mask names schema fields (other names are
// "Invalid field: x in update mask"); without a mask the body needs name and slots.
func PoolPatch(pathName string, body []byte, w PoolWrite, mask []string) (PoolWrite, error) {
	if pathName == DefaultPool && (!containsString(w.Set, "name") || w.Name != DefaultPool) {
		onlySlots := len(mask) > 0
		for _, f := range mask {
			if f != "slots" && f != "include_deferred" {
				onlySlots = false
			}
		}
		if !onlySlots {
			return PoolWrite{}, badInput("Default Pool's name can't be modified")
		}
	}
	if len(mask) == 0 {
		sb, err := loadSchemaBody(body)
		if err != nil {
			return PoolWrite{}, err
		}
		if missing := missingOf(sb, "name", "slots"); missing != "" {
			return PoolWrite{}, badInput("Missing required property(ies): %s", missing)
		}
		return w, nil
	}
	var set []string
	for _, f := range mask {
		switch f {
		case "name", "slots", "description", "include_deferred":
		case "occupied_slots", "running_slots", "queued_slots", "open_slots", "scheduled_slots", "deferred_slots":
			return PoolWrite{}, badInput("'%s' is read-only and cannot be updated.", f)
		default:
			return PoolWrite{}, badInput("Invalid field: %s in update mask", f)
		}
		if !containsString(w.Set, f) {
			return PoolWrite{}, badInput("The update mask names '%s', which the body does not have.", f)
		}
		set = append(set, f)
	}
	w.Set = set
	return w, nil
}

// PoolOrderFields are the order_by values Airflow allows on GET /pools.
var PoolOrderFields = []string{"name", "slots", "id"}

// SortPools orders pools as Airflow's order_by does; id is creation order (default_pool,
// Airflow's first row, first).
func SortPools(pools []Pool, created []int64, o OrderBy) {
	idx := make([]int, len(pools))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(x, y int) bool {
		i, j := idx[x], idx[y]
		if o.Desc {
			i, j = j, i
		}
		switch o.Field {
		case "name":
			return pools[i].Name < pools[j].Name
		case "slots":
			if pools[i].Slots != pools[j].Slots {
				return pools[i].Slots < pools[j].Slots
			}
		}
		return created[i] < created[j]
	})
	sp, sc := make([]Pool, len(pools)), make([]int64, len(pools))
	for i, k := range idx {
		sp[i], sc[i] = pools[k], created[k]
	}
	copy(pools, sp)
	copy(created, sc)
}
