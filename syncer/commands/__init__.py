"""The commands of the CLI, one module per group; `syncer.cli` ties them together."""
