"""What a user asks bench to do, end to end, without printing (the command line shows
what these return):

- :mod:`~bench.use_cases.run`: ``bench run``, one benchmark trained and logged; ``--repeats``;
- :mod:`~bench.use_cases.predict`: ``bench predict``, a logged model on the user's pictures;
- :mod:`~bench.use_cases.compare`: ``bench compare``, runs grouped by configuration, with
  their spread over seeds and paired tests;
- :mod:`~bench.use_cases.report`: ``bench report``, one experiment as an HTML page.
"""
