"""The containers configuration skopeo reads (registries.conf, auth files), read the same way."""
