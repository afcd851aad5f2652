"""The review dashboard: ``appforge serve`` (FastAPI, server-rendered pages).

Everything a person needs to review what appforge built and deployed, in a browser: the apps and
their health, each version's plan, files, diff, images and videos, tests, build log and live
logs, and the actions (rebuild, roll back, stop, start, destroy, chat). ``create_app`` in
``app.py`` builds the ASGI app; ``security.py`` keeps it to its owner; ``jobs.py`` runs the long
actions in the background. Heavy modules (docker, langgraph) load only when a page needs them.
"""
