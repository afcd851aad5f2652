"""The build graph: plan → write_code → make_assets → test → package → deploy → verify →
screenshot, with a fix loop (test or deploy → fix → test) when the LLM writes the code.

Read top to bottom, as in LangGraph's templates. ``langgraph.json`` points LangGraph Studio here.
A failing node stops the run with its error; the checkpoint keeps every finished node's output.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from appforge.agent import nodes
from appforge.agent.context import Context
from appforge.agent.state import BuildState

STAGES = ("plan", "write_code", "make_assets", "test", "package", "deploy", "verify",
          "screenshot")

builder = StateGraph(BuildState, context_schema=Context)
builder.add_node("plan", nodes.plan)
builder.add_node("write_code", nodes.write_code)
builder.add_node("make_assets", nodes.make_assets)
builder.add_node("test", nodes.test)
builder.add_node("package", nodes.package)
builder.add_node("deploy", nodes.deploy)
builder.add_node("verify", nodes.verify)
builder.add_node("screenshot", nodes.screenshot)
builder.add_node("fix", nodes.fix)
builder.add_edge(START, "plan")
builder.add_edge("plan", "write_code")
builder.add_edge("write_code", "make_assets")
builder.add_edge("make_assets", "test")
# With the LLM coder, failing tests or an unhealthy version go back to it ("fix"), a bounded
# number of rounds; with the blueprint coder those failures end the build.
builder.add_conditional_edges("test", nodes.after_test)
builder.add_edge("package", "deploy")
builder.add_conditional_edges("deploy", nodes.after_deploy)
builder.add_edge("fix", "test")
builder.add_edge("verify", "screenshot")
builder.add_edge("screenshot", END)

graph = builder.compile(name="appforge-build")
