"""The processes bench runs in: their libraries, signals, cores and servers.

- :mod:`~bench.runtime.backend`: the quiet Keras import, and the cores each process gets;
- :mod:`~bench.runtime.environment`: package versions, git commit, settings from the
  environment;
- :mod:`~bench.runtime.interrupts`: Ctrl-C and SIGTERM, held back where raising would harm;
- :mod:`~bench.runtime.processes`: which process opened a run, and whether it is gone;
- :mod:`~bench.runtime.servers`: local servers started, waited for and stopped.
"""
