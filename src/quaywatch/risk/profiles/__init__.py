"""Analysts' risk profiles: YAML rules compiled to polars expressions, versioned in the store.

The pieces, in the order data flows (``docs/profiles.md`` is the analysts' guide):

- ``syntax`` and ``compiler``: the condition language, text → syntax tree → ``pl.Expr``;
- ``profile`` and ``loader``: a profile file, checked line by line, as a ``Profile``;
- ``frame``: the frame conditions run on (``profile_frame``, or ``with_extras`` on the
  engine's ``assessment.assessment_frame``) and the documented ``FIELDS``;
- ``apply``: a ``ProfileSet`` and its hits frame (``risk.hits``);
- ``registry``: load, activate, retire in the store; ``active_profiles`` for assessments;
- ``trial``: ``quaywatch profiles test``.

For the engine::

    profiles = registry.active_profiles(store)          # ProfileSet; .version for assessments
    frame = frame.with_extras(batch, items, reads.parties(store))
    found = profiles.apply(frame)                        # hits frame
"""
