from ..records import StoreEntry, StoreUnavailable, check_run_id
from .bundle import BundleRunStore, InvalidBundle
from .file import FileRunStore
from .memory import InMemoryRunStore
from .registry import UnknownStoreScheme, open_store, register_backend

__all__ = [
    "BundleRunStore", "FileRunStore", "InMemoryRunStore", "InvalidBundle",
    "StoreEntry", "StoreUnavailable", "UnknownStoreScheme", "check_run_id", "open_store",
    "register_backend",
]
