#!/usr/bin/env python3
"""Seeds a demo flow and deployment into a Prefect server over its HTTP API (stdlib only).

Usage: seed_demo.py PREFECT_API_URL
Creates flow "etl" with deployment "daily" (dag_id "etl.daily"): a daily cron schedule,
parameters with a schema, tags. Safe to run again: Prefect upserts both.
"""
import base64
import json
import os
import sys
import urllib.request


def call(api, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(api.rstrip("/") + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    auth = os.environ.get("PREFECT_API_AUTH_STRING")
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    with urllib.request.urlopen(req, timeout=30) as res:
        raw = res.read()
        return json.loads(raw) if raw else None


def main():
    api = sys.argv[1]
    flow = call(api, "POST", "/flows/", {"name": "etl"})
    deployment = call(api, "POST", "/deployments/", {
        "name": "daily",
        "flow_id": flow["id"],
        "description": "Demo: loads yesterday's orders into the warehouse.",
        "tags": ["demo", "warehouse", "owner:data-team"],
        "entrypoint": "flows/etl.py:etl",
        "parameters": {"batch_size": 500},
        "parameter_openapi_schema": {
            "type": "object",
            "title": "Parameters",
            "properties": {
                "batch_size": {"type": "integer", "title": "batch_size", "default": 500},
                "output_dir": {"type": "string", "title": "output_dir", "default": "/tmp/results"},
            },
        },
        "schedules": [{"schedule": {"cron": "0 6 * * *", "timezone": "UTC"}, "active": True}],
    })
    print(f"seeded flow 'etl' and deployment 'daily' (id {deployment['id']}): dag_id etl.daily")


if __name__ == "__main__":
    main()
