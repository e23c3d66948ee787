"""Copying images: skopeo commands, the per-image copier and the run over many images."""
