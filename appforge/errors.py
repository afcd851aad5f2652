"""The one exception hierarchy of appforge.

Every error a user can cause or meet derives from :class:`AppforgeError`. Each subclass names what
went wrong in the user's terms; the CLI prints ``str(error)`` (and ``error.hint`` when set) and
exits with ``error.exit_code``. Stack traces are shown only with ``--debug``.

    AppforgeError
    ├── InvalidInput          bad prompt, slug, domain, path, spec
    │   ├── InvalidDomain
    │   ├── InvalidSlug
    │   └── PathOutsideWorkspace
    ├── AppNotFound
    ├── EngineUnavailable     Docker engine not reachable
    ├── BaseImageError        base image could not be pulled or bootstrapped
    ├── DependencyError       wheelhouse could not be filled
    ├── BuildFailed           docker build failed (log attached)
    ├── TestsFailed           the app's own tests failed in the sandbox (output attached)
    ├── UnhealthyDeployment   the container never turned healthy (last log lines attached)
    ├── ProxyError            the Caddy proxy could not be started or configured
    ├── GenerationError       an image or video could not be made
    ├── ScreenshotFailed      headless Chromium could not photograph a deployed version
    ├── BackupFailed          a snapshot or restore of app data failed (disk full, damaged)
    ├── LLMUnavailable        the LLM endpoint is down, times out or refuses the request
    ├── LLMStopped            an LLM call was cancelled or passed its deadline
    ├── PlanningFailed        the LLM answered, but gave no usable plan
    └── AppBusy               another appforge process held the app for longer than --wait
"""

from __future__ import annotations


class AppforgeError(Exception):
    """Base of every error appforge reports to a user."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, detail: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint
        #: Long output (a build log, test output) shown under the message.
        self.detail = detail


class InvalidInput(AppforgeError):
    exit_code = 2


class InvalidDomain(InvalidInput):
    pass


class InvalidSlug(InvalidInput):
    pass


class PathOutsideWorkspace(InvalidInput):
    pass


class AppNotFound(AppforgeError):
    exit_code = 3


class EngineUnavailable(AppforgeError):
    exit_code = 4


class BaseImageError(AppforgeError):
    pass


class DependencyError(AppforgeError):
    pass


class BuildFailed(AppforgeError):
    pass


class TestsFailed(AppforgeError):
    __test__ = False  # not a pytest test class


class UnhealthyDeployment(AppforgeError):
    pass


class ProxyError(AppforgeError):
    pass


class GenerationError(AppforgeError):
    pass


class ScreenshotFailed(AppforgeError):
    """Chromium, in its sandbox container, could not take a usable screenshot of an app."""


class BackupFailed(AppforgeError):
    """A snapshot or a restore of an app's data did not complete (a full disk, a damaged
    snapshot, a helper that could not run); the message says where and what was left as it was."""


class LLMUnavailable(AppforgeError):
    """The LLM endpoint cannot be reached, times out, or refuses the request."""


class Interrupted(AppforgeError):
    """The person stopped the command (Ctrl-C); what was under way was stopped with it."""

    exit_code = 130


class LLMStopped(AppforgeError):
    """An LLM call was stopped before its answer: its deadline passed (``expired``) or it was
    cancelled (Ctrl-C, a cancelled dashboard job). The connection was closed, so a server that
    streams stopped generating too."""

    def __init__(self, message: str, *, expired: bool = False, what: str = "",
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.expired = expired
        self.what = what


class PlanningFailed(AppforgeError):
    """The model answered, but gave no usable plan within the allowed attempts."""


class AppBusy(AppforgeError):
    """Another appforge process held the app (building, deploying) for longer than the caller
    would wait; the message says which process and since when."""

    exit_code = 5
