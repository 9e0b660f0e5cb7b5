"""The package list, which pyproject.toml cannot state: the packages found under core/, gui/ and cvlens/,
and cvlens.resources with every folder under it: the bundled models and demos, which live in resources/
(mapped in pyproject.toml) where no search from the root finds them. Each folder is named as a package of
data so that setuptools ships it without warning that it looks importable. Everything else is in
pyproject.toml."""

from setuptools import find_namespace_packages, find_packages, setup

DATA = "cvlens.resources"
data = [DATA, *(f"{DATA}.{name}" for name in find_namespace_packages(where="resources"))]

setup(
    packages=[*find_packages(include=["core*", "gui*", "cvlens"]), *data],
    package_data={name: ["*"] for name in data},
)
