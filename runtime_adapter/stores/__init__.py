from .base import BaseRunStore, StoreEntry, check_run_id
from .bundle import BundleRunStore, InvalidBundle
from .file import FileRunStore, StoreUnavailable
from .memory import InMemoryRunStore
from .registry import UnknownStoreScheme, open_store, register_backend

__all__ = [
    "BaseRunStore", "BundleRunStore", "FileRunStore", "InMemoryRunStore", "InvalidBundle",
    "StoreEntry", "StoreUnavailable", "UnknownStoreScheme", "check_run_id", "open_store",
    "register_backend",
]
