"""App data that cannot be lost: consistent snapshots of an app's data volume, kept per app under
``settings.backups/<slug>/``, pruned to ``settings.backup_keep``, restored on request (after a
snapshot of what they replace), and taken before deploys, rollbacks and destroys.

``catalog`` knows the folders on disk, ``snapshot`` and ``restore`` run the helper container
(``helper.py`` is the script it runs), ``schema`` compares versions' data, ``repair`` clears up
after a crash. Nothing here imports docker at module level.
"""

from appforge.backups.catalog import Backup, list_backups
from appforge.backups.repair import repair
from appforge.backups.restore import Restored, restore
from appforge.backups.schema import before_rollback
from appforge.backups.snapshot import snapshot, snapshot_if_data

__all__ = ["Backup", "Restored", "before_rollback", "list_backups", "repair", "restore",
           "snapshot", "snapshot_if_data"]
