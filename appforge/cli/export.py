"""``appforge export``: an app as a git repository that runs without appforge."""

from __future__ import annotations
