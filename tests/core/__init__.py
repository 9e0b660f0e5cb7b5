"""Tests of core/: no Qt, no window."""
