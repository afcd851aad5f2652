"""appforge: turn a description of an app into a running, reachable app."""

__version__ = "0.1.0"
