"""The dispatcher's claim query with 1,000,000 queued deliveries against
10,000, side by side, with its query plan.

Five databases with the addon: one gets 10,000 queued (due) deliveries,
another 1,000,000 (``INSERT ... SELECT generate_series``), the third
10,000 due behind 1,000,000 older ones waiting for a disabled endpoint (its
deliveries wait until it is enabled again), and the last two 10,000 and
1,000,000 for an endpoint keeping per-record order, ten changes of each
record one after the other (the worst case: nine of every ten rows walked
wait for an older one); all analysed. The dispatcher's
own claim queries (``SELECT ... FOR NO KEY UPDATE SKIP LOCKED``, taken from
a real claim in each database, then rolled back) are timed on each in turn,
each run in a transaction rolled back, and the plan of the large one is
printed with ``EXPLAIN (ANALYZE, BUFFERS)``. Goal: the large one takes at
most twice as long as the small one.

    ~/.cache/integration_gateway/venv/bin/python bench/claim_query.py [--runs N]

``bench/run_all.py`` runs it with every other benchmark (last: its million
rows weigh on no other measurement).
"""

import contextlib
import statistics
import sys
import time

from context import FIXTURES, Database, Figure, Report, harness, run_alone

SMALL = Database("ig_bench_claim_small", "addon", served=False)
LARGE = Database("ig_bench_claim_large", "addon", served=False)
HELD = Database("ig_bench_claim_held", "addon", served=False)
ORDERED_SMALL = Database("ig_bench_claim_ordered_small", "addon", served=False)
ORDERED_LARGE = Database("ig_bench_claim_ordered_large", "addon", served=False)
DATABASES = [SMALL, LARGE, HELD, ORDERED_SMALL, ORDERED_LARGE]
ROWS = {SMALL.name: 10_000, LARGE.name: 1_000_000}
CHANGES = 10  # deliveries of each record, in the per-record case
GOAL = 2.0  # large / small
QUICK = {"runs": 20, "large": 100_000}

# A receiver nobody listens on: the claim is rolled back, nothing is sent.
# The second endpoint is disabled, as after 5 days without an answer.
SETUP = FIXTURES / "claim_endpoints.py"

# Fills the outbox: deliveries due over the hour before %(before)s hours ago,
# oldest first, each with a payload like a partner's webhook.
FILL = """
INSERT INTO integration_webhook_delivery
    (uuid, endpoint_id, res_model, res_id, payload, state, attempt_count,
     next_attempt_at, create_uid, create_date, write_uid, write_date)
SELECT gen_random_uuid()::text, %(endpoint)s, 'res.partner',
       (n - 1) / %(changes)s + 1,
       '{"_action": "Send(#1)", "_id": ' || n || ', "_model": "res.partner", '
       || '"email": "someone@example.com", "name": "Partner ' || n || '"}',
       'pending', 0,
       (now() AT TIME ZONE 'UTC') - interval '1 hour' * (%(before)s + 1)
           + interval '1 hour' * n / %(rows)s - interval '1 minute',
       1, now() AT TIME ZONE 'UTC', 1, now() AT TIME ZONE 'UTC'
  FROM generate_series(1, %(rows)s) AS n
"""

# Makes one real claim, captures its SELECTs (leases expired, then due
# deliveries) with their parameters, and rolls it back.
CAPTURE = FIXTURES / "claim_capture.py"


def add_arguments(parser):
    parser.add_argument("--runs", type=int, default=100, help="timed runs each")
    parser.add_argument(
        "--large", type=int, default=ROWS[LARGE.name], help="rows of the large one"
    )


def prepare(bench, options):
    ordered = (ORDERED_SMALL, ORDERED_LARGE)
    return {
        db.name: bench.run_script(
            db.name, SETUP, "per_record" if db in ordered else "none"
        )
        for db in DATABASES
    }


def _fill(db, parts):
    """``parts``: (endpoint id, rows, hours before now[, changes of each
    record]) to insert."""
    with harness.pg_connection(db) as conn, conn.cursor() as cr:
        for endpoint, rows, before, *changes in parts:
            cr.execute(
                FILL,
                {
                    "endpoint": endpoint,
                    "rows": rows,
                    "before": before,
                    "changes": changes[0] if changes else 1,
                },
            )
        cr.execute("VACUUM ANALYZE integration_webhook_delivery")


def _timed(cr, queries):
    """Runs the claim's queries in a transaction rolled back; (ms, rows)."""
    cr.execute("BEGIN")
    rows = 0
    started = time.perf_counter()
    for query in queries:
        cr.execute(query)
        rows += len(cr.fetchall())
    elapsed = (time.perf_counter() - started) * 1000
    cr.execute("ROLLBACK")
    return elapsed, rows


def measure(bench, endpoints, options):
    small, large = ROWS[SMALL.name], options.large
    fills = {
        SMALL.name: [(endpoints[SMALL.name]["active"], small, 0)],
        LARGE.name: [(endpoints[LARGE.name]["active"], large, 0)],
        # The disabled endpoint's backlog is older: it comes first in the
        # order deliveries fall due.
        HELD.name: [
            (endpoints[HELD.name]["held"], large, 1),
            (endpoints[HELD.name]["active"], small, 0),
        ],
        ORDERED_SMALL.name: [
            (endpoints[ORDERED_SMALL.name]["active"], small, 0, CHANGES)
        ],
        ORDERED_LARGE.name: [
            (endpoints[ORDERED_LARGE.name]["active"], large, 0, CHANGES)
        ],
    }
    labels = {
        SMALL.name: f"{small:,} queued",
        LARGE.name: f"{large:,} queued",
        HELD.name: f"{small:,} queued behind {large:,} for a disabled endpoint",
        ORDERED_SMALL.name: f"{small:,} queued, per-record order",
        ORDERED_LARGE.name: f"{large:,} queued, per-record order",
    }
    report = Report("Claim query of the webhook dispatcher")
    queries = {}
    for db, parts in fills.items():
        started = time.monotonic()
        _fill(db, parts)
        report.lines.append(
            f"{labels[db]}: inserted and analysed in {time.monotonic() - started:.1f} s"
        )
        capture = bench.run_script(db, CAPTURE, 200)
        assert capture["claimed"] == 200, capture
        queries[db] = capture["sql"]
    timings = {db: [] for db in fills}
    with contextlib.ExitStack() as stack:
        cursors = {
            db: stack.enter_context(harness.pg_connection(db)).cursor() for db in fills
        }
        for _warm in range(5):
            for db, cr in cursors.items():
                _timed(cr, queries[db])
        for run in range(options.runs):
            order = list(cursors) if run % 2 else list(cursors)[::-1]
            for db in order:
                elapsed, count = _timed(cursors[db], queries[db])
                assert count == 200, count
                timings[db].append(elapsed)
        plans = {}
        for db, cr in cursors.items():
            cr.execute("BEGIN")
            plans[db] = []
            for query in queries[db]:
                cr.execute("EXPLAIN (ANALYZE, BUFFERS) " + query)
                plans[db].append([row[0] for row in cr.fetchall()])
            cr.execute("ROLLBACK")
    medians = {db: statistics.median(values) for db, values in timings.items()}
    ratio = medians[LARGE.name] / medians[SMALL.name]
    held = medians[HELD.name] / medians[SMALL.name]
    ordered = medians[ORDERED_LARGE.name] / medians[ORDERED_SMALL.name]
    report.lines.append(
        f"claim of 200 rows, {options.runs} runs each, alternating, each in a "
        "transaction rolled back:"
    )
    for db, label in labels.items():
        values = timings[db]
        report.lines.append(
            f"  {label}: median {medians[db]:.3f} ms, "
            f"p90 {statistics.quantiles(values, n=10)[-1]:.3f} ms"
        )
    report.lines.append(
        f"ratio large / small: {ratio:.2f} (goal <= {GOAL:g}); behind a disabled "
        f"endpoint's backlog / small: {held:.2f}; per-record order, large / "
        f"small: {ordered:.2f}"
    )
    for db in (LARGE.name, HELD.name, ORDERED_LARGE.name):
        report.lines.append(
            f"query plans, {labels[db]} (expired leases, then due deliveries):"
        )
        for plan in plans[db]:
            report.lines.extend("  " + line for line in plan)
    report.figures += [
        Figure(
            f"claim query, {large:,} / {small:,} queued rows (median)",
            ratio,
            goal=f"<= {GOAL:.2f}",
            met=ratio <= GOAL,
        ),
        Figure(f"  claim query with {large:,} queued rows", medians[LARGE.name], "ms"),
        Figure(
            f"claim query, {small:,} due behind {large:,} for a disabled endpoint "
            f"/ {small:,}",
            held,
            goal=f"<= {GOAL:.2f}",
            met=held <= GOAL,
        ),
        Figure(
            f"claim query, per-record order, {large:,} / {small:,} queued rows "
            "(median)",
            ordered,
            goal=f"<= {GOAL:.2f}",
            met=ordered <= GOAL,
        ),
        Figure(
            f"  claim query, per-record order, {large:,} queued rows",
            medians[ORDERED_LARGE.name],
            "ms",
        ),
    ]
    return report


def main(argv=None):
    return run_alone(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
