"""Plain unit tests and doctests of lib/, the ORM-free core, run by pytest
(``data/json-schema-test-suite`` holds the official JSON Schema test suite
they run). No Odoo test module here: Odoo's own test loader has nothing to
run in this package."""
