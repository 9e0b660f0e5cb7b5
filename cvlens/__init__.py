"""CV Lens, the application: ``cvlens`` (and ``python -m cvlens``, ``python main.py``) runs ``cvlens.cli.main``.

The logic lives in ``core`` (Qt-free) and ``gui``; the bundled models and demos are this package's data
(``cvlens/resources`` in a wheel, ``resources/`` in a checkout: ``core.system.resources``).
"""
