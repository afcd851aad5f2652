"""The build graph: plan → write_code → make_assets → test → package → deploy → verify.

Read top to bottom, as in LangGraph's templates. ``langgraph.json`` points LangGraph Studio here.
A failing node stops the run with its error; the checkpoint keeps every finished node's output.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from appforge.agent import nodes
from appforge.agent.context import Context
from appforge.agent.state import BuildState

STAGES = ("plan", "write_code", "make_assets", "test", "package", "deploy", "verify")

builder = StateGraph(BuildState, context_schema=Context)
builder.add_node("plan", nodes.plan)
builder.add_node("write_code", nodes.write_code)
builder.add_node("make_assets", nodes.make_assets)
builder.add_node("test", nodes.test)
builder.add_node("package", nodes.package)
builder.add_node("deploy", nodes.deploy)
builder.add_node("verify", nodes.verify)
builder.add_edge(START, "plan")
for before, after in zip(STAGES, STAGES[1:]):
    builder.add_edge(before, after)
builder.add_edge("verify", END)

graph = builder.compile(name="appforge-build")
