"""Tests of gui/ through pytest-qt; fixtures in conftest.py."""
