"""The product assembled: the composition root (``app``) that builds the core and the
features and wires them together, and the command line (``cli``, ``admin``, ``demo``)
that runs it. It sits above ``alerting``, ``channels`` and ``hub``; nothing imports it."""
