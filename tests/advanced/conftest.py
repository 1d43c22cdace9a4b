"""The feature tests use the ``backend`` fixture of tests/conftest.py: one run per engine."""
