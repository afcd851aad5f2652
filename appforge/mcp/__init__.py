"""The MCP server: appforge's tools and resources for another agent (an IDE assistant, a desktop
chat client), over stdio (``appforge mcp``) or streamable HTTP (``appforge mcp --http``).

    schemas.py    each tool's arguments (pydantic: the JSON schema a model reads) and description
    calls.py      what each tool does: thin calls into ``tools/``, ``agent/run.py``, ``chat/``
    running.py    blocking work in a thread: progress notifications, cancellation, busy apps
    resources.py  each app's plan, a version's files, the build log, the screenshot
    server.py     the SDK's low-level server wired to the above; tool errors as the CLI says them

Nothing here is imported by ``appforge --help``: ``cli/mcp.py`` imports it inside the command.
"""
