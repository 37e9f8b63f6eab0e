"""Benchmarks and the tools that measure the app (outside the package: users never import them).
``python -m genmodels bench`` is their entry point."""
