"""What the agent's nodes (and, later, an LLM) may call: workspace files, assets, tests, deploy.

Each tool is a plain function over a workspace and the settings; none of them imports LangGraph.
"""
