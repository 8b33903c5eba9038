"""Everything that talks to MLflow; no module outside this package imports ``mlflow``.

- :mod:`~bench.tracking.store`: where the store is, a client on it, experiments;
- :mod:`~bench.tracking.runs`: a run's life, from its tags to its closing status;
- :mod:`~bench.tracking.callbacks`: the Keras callback logging each epoch;
- :mod:`~bench.tracking.artifacts`: what a finished run gets (scores, reports, model);
- :mod:`~bench.tracking.history`: what the store holds, read back (runs, curves, files);
- :mod:`~bench.tracking.views`: the runs view bench's addresses open (columns, order);
- :mod:`~bench.tracking.ui`: the MLflow UI on the store, and the addresses of its pages.

Import from the modules: the package imports nothing, so a command that only needs
the store's address does not pay for Keras.
"""
