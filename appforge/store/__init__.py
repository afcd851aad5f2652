"""What appforge remembers: apps, their versions and deployments, and events, in one SQLite file.

The review (``list``, ``show``, the dashboard) reads only this; the proxy's routes are rebuilt
from it, so losing the proxy container loses nothing.
"""

from appforge.store.db import AppRecord, Store, VersionRecord

__all__ = ["AppRecord", "Store", "VersionRecord"]
