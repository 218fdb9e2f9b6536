"""The use cases of quaywatch, one function each: what the CLI, the API and the web call.

A service takes plain arguments (a ``Store``, ids, moments, values; the ``actor`` on whose
behalf a change is made) and returns a typed result; it never prints, and its messages name
fields, never command-line flags. The adapters (``cli``, ``api``) read a request, call one
service and render its result: they decide nothing.
"""
