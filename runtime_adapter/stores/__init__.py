from runtime_adapter.records import StoreEntry, StoreUnavailable, check_run_id
from runtime_adapter.stores.bundle import BundleRunStore, InvalidBundle
from runtime_adapter.stores.file import FileRunStore
from runtime_adapter.stores.memory import InMemoryRunStore
from runtime_adapter.stores.registry import UnknownStoreScheme, open_store, register_backend

__all__ = [
    "BundleRunStore", "FileRunStore", "InMemoryRunStore", "InvalidBundle",
    "StoreEntry", "StoreUnavailable", "UnknownStoreScheme", "check_run_id", "open_store",
    "register_backend",
]
