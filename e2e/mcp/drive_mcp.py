"""Starts airflow-mcp-server (stdio) against the gateway, as an MCP client does, and uses its
list and trigger tools: the server builds its tools from the gateway's /openapi.json.

    GATEWAY_URL=... TOKEN=... DAG_ID=... python drive_mcp.py <path to airflow-mcp-server>

Prints one JSON object: the tool names and what the tools answered. Exits non-zero when a
tool fails.
"""
import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def answer(result):
    if result.isError:
        raise SystemExit("tool failed: %s" % [c.text for c in result.content if hasattr(c, "text")])
    if result.structuredContent is not None:
        return result.structuredContent
    return json.loads(result.content[0].text)


async def main():
    params = StdioServerParameters(command=sys.argv[1], args=[
        "--base-url", os.environ["GATEWAY_URL"], "--auth-token", os.environ["TOKEN"], "--static-tools"])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = sorted(t.name for t in (await session.list_tools()).tools)
            dag_id = os.environ["DAG_ID"]
            dags = answer(await session.call_tool("get_dags", {"dag_id_pattern": dag_id}))
            run = answer(await session.call_tool("trigger_dag_run", {
                "dag_id": dag_id, "dag_run_id": "mcp-run", "logical_date": "2024-06-01T00:00:00Z", "conf": {"via": "mcp"}}))
            runs = answer(await session.call_tool("get_dag_runs", {"dag_id": dag_id}))
            print(json.dumps({"tools": tools, "dags": dags, "run": run, "runs": runs}))


asyncio.run(main())
