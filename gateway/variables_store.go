package gateway

import (
	"context"
	"errors"
	"fmt"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// variableStore is what every API generation does with Airflow variables on Prefect: the
// operations return neutral values and errors (errVariableNotFound, errVariableExists, a
// translate.InputError, or Prefect's error), and write no answer. /api/v1's handlers are in
// variables.go; /api/v2's single and bulk calls (create, overwrite, update, delete, each with
// its own action on existence) are built from the same operations.
//
// Prefect calls: list 1 per 200 variables; get 1; set 1 (new) or 3 (existing: the create
// meets a 409, then a read and a patch); create 1; apply 1 (after a get); delete 1.
type variableStore struct {
	pc *prefect.Client
}

var (
	errVariableNotFound = errors.New("variable not found")
	errVariableExists   = errors.New("variable already exists")
)

// storedVariable is a variable as Prefect holds it, for a later apply.
type storedVariable struct {
	translate.Variable
	prefect wire.Variable
}

// list is every variable, with their creation times (Airflow's id order) in parallel.
func (st variableStore) list(ctx context.Context) ([]translate.Variable, []int64, error) {
	all, err := st.pc.FilterAllVariables(ctx)
	if err != nil {
		return nil, nil, err
	}
	vars := make([]translate.Variable, len(all))
	created := make([]int64, len(all))
	for i, v := range all {
		vars[i] = translate.VariableFromPrefect(v)
		if v.Created != nil {
			created[i] = v.Created.UnixNano()
		}
	}
	return vars, created, nil
}

// get reads the variable of key.
func (st variableStore) get(ctx context.Context, key string) (storedVariable, error) {
	name, err := translate.EncodeName(key, translate.VariableNames)
	if err != nil {
		return storedVariable{}, errVariableNotFound // no variable can have a key Prefect cannot name
	}
	v, err := st.pc.ReadVariable(ctx, name)
	if prefect.IsNotFound(err) {
		return storedVariable{}, errVariableNotFound
	}
	if err != nil {
		return storedVariable{}, fmt.Errorf("read variable %q: %w", key, err)
	}
	return storedVariable{Variable: translate.VariableFromPrefect(v), prefect: v}, nil
}

// create makes a new variable; errVariableExists when the key is taken.
func (st variableStore) create(ctx context.Context, v translate.Variable) error {
	name, err := translate.EncodeName(v.Key, translate.VariableNames)
	if err != nil {
		return err
	}
	_, err = st.pc.CreateVariable(ctx, wire.VariableCreate{Name: name, Value: translate.VariableValue(v.Value, nil),
		Tags: translate.VariableTags(nil, v.Description)})
	if prefect.IsConflict(err) {
		return errVariableExists
	}
	if err != nil {
		return fmt.Errorf("create variable %q: %w", v.Key, err)
	}
	return nil
}

// set is Airflow's Variable.set: the variable of v.Key gets v's value and description
// (none when nil), whether it existed or not. The Prefect-only tags of an existing one stay.
func (st variableStore) set(ctx context.Context, v translate.Variable) error {
	for attempt := 0; ; attempt++ {
		err := st.create(ctx, v)
		if !errors.Is(err, errVariableExists) {
			return err
		}
		cur, err := st.get(ctx, v.Key)
		if errors.Is(err, errVariableNotFound) && attempt == 0 {
			continue // deleted between the create and the read: create it again, once
		}
		if err != nil {
			return err
		}
		return st.apply(ctx, cur, translate.VariableUpdate{Value: &v.Value, Description: v.Description, SetDescription: true})
	}
}

// apply writes u over the variable cur and returns the variable as it now is.
func (st variableStore) apply(ctx context.Context, cur storedVariable, u translate.VariableUpdate) error {
	body := wire.VariableUpdate{}
	if u.Value != nil {
		body.Value = translate.VariableValue(*u.Value, cur.prefect.Value)
	}
	if u.SetDescription {
		tags := translate.VariableTags(cur.prefect.Tags, u.Description)
		body.Tags = &tags
	}
	if body.Value == nil && body.Tags == nil {
		return nil
	}
	err := st.pc.UpdateVariable(ctx, cur.prefect.Name, body)
	if prefect.IsNotFound(err) {
		return errVariableNotFound
	}
	if err != nil {
		return fmt.Errorf("update variable %q: %w", cur.Key, err)
	}
	return nil
}

// updated is cur with u applied, as apply left it in Prefect.
func (cur storedVariable) updated(u translate.VariableUpdate) translate.Variable {
	v := cur.Variable
	if u.Value != nil {
		v.Value = translate.VariableText(translate.VariableValue(*u.Value, cur.prefect.Value))
	}
	if u.SetDescription {
		v.Description = u.Description
	}
	return v
}

// delete removes the variable of key.
func (st variableStore) delete(ctx context.Context, key string) error {
	name, err := translate.EncodeName(key, translate.VariableNames)
	if err != nil {
		return errVariableNotFound
	}
	err = st.pc.DeleteVariable(ctx, name)
	if prefect.IsNotFound(err) {
		return errVariableNotFound
	}
	if err != nil {
		return fmt.Errorf("delete variable %q: %w", key, err)
	}
	return nil
}
