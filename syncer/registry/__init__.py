"""Registry HTTP: the client, its session, tokens, back-off, tag lists and small artifact copies."""
