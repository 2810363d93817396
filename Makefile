# The project's commands; `make help` lists them.
.PHONY: help run test setup lint

help:
	@echo "make run    Odoo with the addon installed on http://127.0.0.1:8069"
	@echo "make test   every check and test (lint, Odoo, HTTP, browser, unit)"

run:
	@tools/run.sh

test:
	@tools/test.sh

setup:
	@tools/setup.sh
