"""Code generator: renders an app's complete source tree from its AppSpec.

The templates are real files under ``blueprints/``: ``_shared/`` holds what every app has (the
Dockerfile, pinned requirements, the stylesheet, the page shell), and ``crud/``, ``landing/`` and
``gallery/`` hold what one kind adds or replaces. :func:`render_app` is the only entry point.
"""

from appforge.generators.code.render import BLUEPRINTS_DIR, render_app

__all__ = ["BLUEPRINTS_DIR", "render_app"]
