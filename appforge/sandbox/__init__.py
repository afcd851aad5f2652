"""The sandbox: everything that touches the Docker engine.

Base images (pulled or bootstrapped from Debian packages), the host-side wheelhouse, image builds,
the app's tests run inside its own image, hardened app containers, and the Caddy proxy that routes
each app's domain. Nothing here knows about LangGraph; the agent's nodes call into it.
"""
