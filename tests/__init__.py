"""CV Lens's tests: a package, so shared helpers import as ``tests.<module>`` (``tests.fake_datasets``)."""
