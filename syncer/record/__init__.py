"""The record of the mirror: the image record, the state file, the report and shard results."""
