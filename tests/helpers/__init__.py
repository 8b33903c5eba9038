"""Helper functions shared by several test files, imported as ``tests.helpers.<module>``
(pytest's importlib mode makes ``tests`` importable from the checkout's root), in the
manner of Optuna's ``optuna.testing``. Fixtures stay in the ``conftest.py`` files."""
