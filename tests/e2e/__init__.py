"""End-to-end tests: main.py and torchrun as a user runs them."""
