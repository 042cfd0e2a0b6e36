package gateway

import (
	"context"
	"errors"
	"fmt"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// connectionStore is what every API generation does with Airflow connections on Prefect:
// block documents of the gateway's "airflow-connection" type (translate/connections.go).
// Passwords go to Prefect and never come back: every read leaves secrets out.
//
// Prefect calls: list 1 per 200 connections; get 1; create 1 (+3 once per process, to
// register the block type and schema); update 1 after a get; delete 1 after a get.
type connectionStore struct {
	pc    *prefect.Client
	types *prefect.BlockTypes
}

var (
	errConnectionNotFound = errors.New("connection not found")
	errConnectionExists   = errors.New("connection already exists")
)

var connectionBlockType = prefect.BlockTypeSpec{
	Name: "Airflow Connection", Slug: translate.ConnectionBlockSlug,
	Description: "An Apache Airflow connection, kept by airflow-prefect-gateway for Airflow's /connections API.",
	Fields:      translate.ConnectionBlockFields(),
}

// storedConnection is a connection and the block document that holds it.
type storedConnection struct {
	translate.Connection
	blockID string
}

func (st connectionStore) list(ctx context.Context) ([]translate.Connection, []int64, error) {
	docs, err := st.pc.FilterAllBlockDocuments(ctx, translate.ConnectionBlockSlug)
	if err != nil {
		return nil, nil, err
	}
	conns, created := make([]translate.Connection, len(docs)), make([]int64, len(docs))
	for i, d := range docs {
		conns[i] = translate.ConnectionFromBlock(d)
		if d.Created != nil {
			created[i] = d.Created.UnixNano()
		}
	}
	return conns, created, nil
}

func (st connectionStore) get(ctx context.Context, id string) (storedConnection, error) {
	name, err := translate.EncodeName(id, translate.BlockNames)
	if err != nil {
		return storedConnection{}, errConnectionNotFound
	}
	doc, err := st.pc.ReadBlockDocument(ctx, translate.ConnectionBlockSlug, name)
	if prefect.IsNotFound(err) {
		return storedConnection{}, errConnectionNotFound
	}
	if err != nil {
		return storedConnection{}, fmt.Errorf("read connection %q: %w", id, err)
	}
	return storedConnection{Connection: translate.ConnectionFromBlock(doc), blockID: doc.ID}, nil
}

// create stores a new connection; errConnectionExists when the id is taken.
func (st connectionStore) create(ctx context.Context, w translate.ConnectionWrite) (translate.Connection, error) {
	name, err := translate.EncodeName(w.ConnID, translate.BlockNames)
	if err != nil {
		return translate.Connection{}, err
	}
	for attempt := 0; ; attempt++ {
		reg, err := st.types.Ensure(ctx, connectionBlockType)
		if err != nil {
			return translate.Connection{}, fmt.Errorf("register the %s block type: %w", translate.ConnectionBlockSlug, err)
		}
		doc, err := st.pc.CreateBlockDocument(ctx, wire.BlockDocumentCreate{Name: name, Data: w.BlockData(),
			BlockSchemaID: reg.SchemaID, BlockTypeID: reg.TypeID})
		switch {
		case err == nil:
			return translate.ConnectionFromBlock(doc), nil
		case prefect.IsBlockNameTaken(err):
			return translate.Connection{}, errConnectionExists
		case prefect.IsConflict(err) && attempt == 0:
			st.types.Forget(translate.ConnectionBlockSlug) // the type or schema was deleted in Prefect
			continue
		}
		return translate.Connection{}, fmt.Errorf("create connection %q: %w", w.ConnID, err)
	}
}

// update writes w's fields over cur (the others, password included, stay as they are).
func (st connectionStore) update(ctx context.Context, cur storedConnection, w translate.ConnectionWrite) (translate.Connection, error) {
	if len(w.Set) == 0 {
		return cur.Connection, nil
	}
	err := st.pc.UpdateBlockDocument(ctx, cur.blockID, wire.BlockDocumentUpdate{Data: w.BlockData(), MergeExistingData: true})
	if prefect.IsNotFound(err) {
		return translate.Connection{}, errConnectionNotFound
	}
	if err != nil {
		return translate.Connection{}, fmt.Errorf("update connection %q: %w", cur.ConnID, err)
	}
	return w.Apply(cur.Connection), nil
}

func (st connectionStore) delete(ctx context.Context, id string) error {
	cur, err := st.get(ctx, id)
	if err != nil {
		return err
	}
	err = st.pc.DeleteBlockDocument(ctx, cur.blockID)
	if prefect.IsNotFound(err) {
		return errConnectionNotFound
	}
	if err != nil {
		return fmt.Errorf("delete connection %q: %w", id, err)
	}
	return nil
}
