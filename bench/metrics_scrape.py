"""One scrape of GET /integration/metrics with 1,000,000 deliveries and
1,000 endpoints.

One database with the addon gets 1,000 endpoints, then 1,000,000
deliveries spread over them (``INSERT ... SELECT generate_series``): most
delivered, 40,000 waiting, 9,000 dead, 1,000 being sent, as in an outbox
that keeps a month of history; the attempt counters of a month of
dispatching (one compacted row per endpoint and status class, plus the
rows the dispatchers added since the last compaction), the counters of
20 validators and daily API usage. Then the server is scraped over HTTP
with the static metrics token, as Prometheus does. Goal: the median
scrape answers in at most 200 ms.

    ~/.cache/integration_gateway/venv/bin/python bench/metrics_scrape.py [--runs N]

``bench/run_all.py`` runs it with every other benchmark on one server.
"""

import statistics
import sys
import time

import requests
from context import FIXTURES, Database, Figure, Report, harness, run_alone
from prometheus_client.parser import text_string_to_metric_families

METRICS_DB = Database("ig_bench_metrics", "addon")
DATABASES = [METRICS_DB]
GOAL = 200.0  # ms, median scrape
QUICK = {"runs": 10, "deliveries": 100_000}
WARMUP = 5
SETUP = FIXTURES / "metrics_setup.py"

# Deliveries n = 1..rows, endpoint by n, state by n / 1,000 (per 1,000: 40
# waiting, 9 dead, 1 sending, the rest delivered, so that every endpoint
# has some of each), queued over the last 30 days.
FILL = """
INSERT INTO integration_webhook_delivery
    (uuid, endpoint_id, res_model, res_id, payload, state, attempt_count,
     next_attempt_at, delivered_at, trace_id,
     create_uid, create_date, write_uid, write_date)
SELECT gen_random_uuid()::text, (%(endpoints)s::int[])[1 + n %% %(count)s],
       'res.partner', n, '{"_model": "res.partner", "_id": ' || n || '}',
       s.state, 1,
       CASE WHEN s.state IN ('pending', 'retrying') THEN t.at END,
       CASE WHEN s.state = 'delivered' THEN t.at END,
       md5(n::text), 1, t.at, 1, t.at
  FROM generate_series(1, %(rows)s) AS n
 CROSS JOIN LATERAL (SELECT CASE
          WHEN (n / 1000) %% 1000 < 20 THEN 'pending'
          WHEN (n / 1000) %% 1000 < 40 THEN 'retrying'
          WHEN (n / 1000) %% 1000 < 49 THEN 'dead'
          WHEN (n / 1000) %% 1000 < 50 THEN 'sending'
          ELSE 'delivered' END AS state) AS s
 CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE 'UTC')
          - interval '30 days' * (%(rows)s - n) / %(rows)s AS at) AS t
"""
# A month of attempt counters: compacted rows, and 5 rows per endpoint the
# dispatchers added since the last compaction.
COUNTERS = """
INSERT INTO integration_metrics_attempt_count
    (endpoint_id, status_class, attempts, duration_ms, bucket_00, bucket_01,
     bucket_02, bucket_03, bucket_04, bucket_05, bucket_06, bucket_07, bucket_08,
     bucket_09, bucket_10, compacted)
SELECT e, c, 5000, 5000 * 180, 900, 1500, 1800, 500, 200, 60, 20, 10, 8, 2, 0, true
  FROM unnest(%(endpoints)s::int[]) AS e,
       unnest(ARRAY['2xx', '4xx', '5xx', 'error']) AS c;
INSERT INTO integration_metrics_attempt_count
    (endpoint_id, status_class, attempts, duration_ms, bucket_00, bucket_01,
     bucket_02)
SELECT e, '2xx', 3, 400, 1, 1, 1
  FROM unnest(%(endpoints)s::int[]) AS e, generate_series(1, 5);
INSERT INTO integration_metrics_counter (series, ref, label, value)
SELECT 'incoming_rejected', v, r, 100
  FROM unnest(%(validators)s::int[]) AS v,
       unnest(ARRAY['signature', 'schema', 'rate_limit', 'too_large']) AS r;
INSERT INTO integration_metrics_counter (series, ref, label, value)
SELECT 'incoming_accepted', v, '', 100000 FROM unnest(%(validators)s::int[]) AS v;
"""


def add_arguments(parser):
    parser.add_argument("--runs", type=int, default=50, help="timed scrapes")
    parser.add_argument("--deliveries", type=int, default=1_000_000)


def prepare(bench, options):
    return bench.run_script(METRICS_DB.name, SETUP)


def _fill(db, state, rows):
    with harness.pg_connection(db) as conn, conn.cursor() as cr:
        params = {
            "endpoints": state["endpoints"],
            "count": len(state["endpoints"]),
            "validators": state["validators"],
            "rows": rows,
        }
        cr.execute(FILL, params)
        cr.execute(COUNTERS, params)
        cr.execute("VACUUM ANALYZE integration_webhook_delivery")
        cr.execute("VACUUM ANALYZE integration_metrics_attempt_count")


def _scrape(bench, session, token):
    started = time.perf_counter()
    response = session.get(
        f"{bench.server.url}/integration/metrics",
        headers={
            "Authorization": f"Bearer {token}",
            "X-Odoo-Database": METRICS_DB.name,
        },
        timeout=60,
    )
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed, response.text


def measure(bench, state, options):
    report = Report("Prometheus scrape of /integration/metrics")
    started = time.monotonic()
    _fill(METRICS_DB.name, state, options.deliveries)
    report.lines.append(
        f"{options.deliveries:,} deliveries over {len(state['endpoints']):,} "
        f"endpoints inserted and analysed in {time.monotonic() - started:.1f} s"
    )
    session = requests.Session()
    for _warm in range(WARMUP):
        _scrape(bench, session, state["token"])
    timings = []
    for _run in range(options.runs):
        elapsed, text = _scrape(bench, session, state["token"])
        timings.append(elapsed)
    families = list(text_string_to_metric_families(text))
    series = sum(len(family.samples) for family in families)
    median = statistics.median(timings)
    p90 = statistics.quantiles(timings, n=10)[-1]
    report.lines.append(
        f"{options.runs} scrapes over HTTP (static token, one keep-alive "
        f"connection): median {median:.1f} ms, p90 {p90:.1f} ms"
    )
    report.lines.append(
        f"each answer: {len(text.encode()) / 1024:.0f} KiB, {len(families)} metric "
        f"families, {series:,} samples (parsed by prometheus_client)"
    )
    report.figures.append(
        Figure(
            f"metrics scrape, {options.deliveries:,} deliveries / "
            f"{len(state['endpoints']):,} endpoints (median)",
            median,
            "ms",
            goal=f"<= {GOAL:.0f} ms",
            met=median <= GOAL,
        )
    )
    return report


def main(argv=None):
    return run_alone(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
