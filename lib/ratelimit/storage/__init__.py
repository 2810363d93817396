"""Storages of rate-limit counters: memory, PostgreSQL, Redis."""

from .base import Storage
from .memory import MemoryStorage
from .postgres import PG_SCHEMA, PostgresStorage, install_postgres
from .redis import RedisStorage

__all__ = [
    "PG_SCHEMA",
    "MemoryStorage",
    "PostgresStorage",
    "RedisStorage",
    "Storage",
    "install_postgres",
]
