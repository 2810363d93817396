# The project's commands; `make help` lists them.
.PHONY: help run test setup lint pot screenshots bench fault

help:
	@echo "make run    Odoo with the addon installed on http://127.0.0.1:8069"
	@echo "make test   every check and test (lint, Odoo, HTTP, browser, unit, short fault suite)"
	@echo "make bench  every benchmark on one Odoo server, one table of figures"
	@echo "make fault  the fault-injection suite at full size"
	@echo "make pot    regenerate the translation template i18n/integration_gateway.pot"
	@echo "make screenshots  retake the documentation's screenshots with the tours"

run:
	@tools/run.sh

test:
	@tools/test.sh

setup:
	@tools/setup.sh

pot:
	@tools/pot.sh

# The scenarios show sales orders: their database has Sales installed too,
# under a name of its own (IG_SCREENSHOTS_DB).
screenshots:
	@IG_UPDATE_SCREENSHOTS=1 IG_EXTRA_MODULES=sale_management \
		IG_TEST_DB="$${IG_SCREENSHOTS_DB:-integration_gateway_screenshots}" \
		tools/test.sh -k 'TestScenarioTours or TestPortalTours'

# BENCH_ARGS=--reuse keeps the template databases for the next run.
bench:
	@tools/bench.sh $(BENCH_ARGS)

fault:
	@tools/fault.sh
