"""Maintainers' tools beside the package: building the project's site."""
