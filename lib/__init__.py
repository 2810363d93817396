"""The addon's ORM-free core: plain functions and classes, no ``odoo`` import.

Models and controllers are thin adapters over these modules, which are
specified by plain unit tests (``tests/test_lib_*.py``).
"""
