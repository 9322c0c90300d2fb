"""Code that writes: the synthetic run-store generator and the PostgreSQL loader.

Kept out of `runtime_adapter`, the read-only core: nothing here is imported by it, and
what is here never writes to a run store it reads (it writes new stores and our own mirror).
"""
