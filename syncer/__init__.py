"""syncer: mirror third-party container images into a private registry, driven by git."""

__version__ = "0.1.0"
