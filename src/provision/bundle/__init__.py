"""Offline bundles for air-gapped sites: create (from a reference host), verify, list.

The format is in provision.bundle.format (docs/bundle-format.md)."""
