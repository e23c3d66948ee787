"""Merge-request review: the plan of what an MR adds and its comment."""
