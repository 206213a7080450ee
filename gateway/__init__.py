"""Garde-fou gateway: HTTP server, adapters per API, pipeline and audit store."""
