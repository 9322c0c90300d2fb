"""Index rows are recomputed when the code that computes them changes: that code is all fingerprinted."""

from pathlib import Path

import grimp

import runtime_adapter
from runtime_adapter.stores.rowsql import ROW_CODE


def test_every_module_a_row_is_computed_by_is_in_the_row_fingerprint():
    graph = grimp.build_graph("runtime_adapter", cache_dir=None)
    needed = {"runtime_adapter.queries.listing", "runtime_adapter.stores.rowsql"}
    for module in list(needed):
        needed |= graph.find_upstream_modules(module)
    root = Path(runtime_adapter.__file__).parent
    files = {str(Path(*name.split(".")[1:])) + ".py" for name in needed if not name.endswith("__init__")}
    files = {name for name in files if (root / name).is_file()}  # packages' __init__ files hold no row code
    assert files <= set(ROW_CODE), f"add to rowsql.ROW_CODE: {sorted(files - set(ROW_CODE))}"
