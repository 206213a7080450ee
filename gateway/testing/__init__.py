"""Test seams, shipped with the package (as mitmproxy ships ``mitmproxy.test``): the tests and the
benchmarks both use them, and neither imports the other.

* ``provider``: a real local HTTP server standing in for the AI providers;
* ``factories``: an ``Exchange`` factory, a scanner that finds what it is told, an in-memory store.
"""
