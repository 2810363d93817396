"""The metrics' own writer against the reference, ``prometheus_client``:
both formats read back by its parsers give the same samples."""

import pytest
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import (
    generate_latest as generate_openmetrics,
)
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text
from prometheus_client.registry import CollectorRegistry

from odoo.addons.integration_gateway.lib import metrics, metrics_exposition


def _snapshot():
    snapshot = metrics.Snapshot(
        endpoints={
            1: ("Shop", False, 0),
            2: ('Odd "name" \\ with\nnewline', True, 12),
            3: ("Ünïcode ✓", False, 3),
        },
        deliveries=[(1, "pending", 3), (2, "dead", 1), (9, "pending", 4)],
        oldest=[(1, 12.5), (2, 0.0)],
        attempts=[
            (1, "2xx", 3, 450, metrics.bucket_counts([10, 200, 240])),
            (1, "2xx", 1, 70, metrics.bucket_counts([70])),
            (2, "error", 2, 120000, metrics.bucket_counts([60000, 60000])),
            (3, "5xx", 1, 61000, metrics.bucket_counts([61000])),
        ],
        api=[(5, "BI", 10, 2, 1), (None, "revoked key", 4, 0, 0)],
        accepted=[(7, "Shop orders", 100)],
        rejected=[(7, "Shop orders", "signature", 3), (8, None, "schema", 1)],
        backend_errors=[("redis://127.0.0.1:6379/0", 2)],
        circuits=[(1, "closed"), (2, "open")],
    )
    return snapshot


def _samples(text, parser):
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in parser(text)
        for sample in family.samples
    }


@pytest.mark.parametrize(
    ("accept", "reference", "parser"),
    [
        (None, generate_latest, parse_text),
        ("application/openmetrics-text", generate_openmetrics, parse_openmetrics),
    ],
)
def test_same_samples_as_prometheus_client(accept, reference, parser):
    snapshot = _snapshot()
    body, _kind = metrics.render(snapshot, accept)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics_exposition.Collector(metrics.families(snapshot)))
    ours = _samples(body.decode(), parser)
    assert ours == _samples(reference(registry).decode(), parser)
    # Rows of an endpoint the snapshot does not know (9) are left out.
    assert not [key for key in ours if ("endpoint_id", "9") in key[1]]
    assert len(ours) > 60


def test_histogram_buckets_are_cumulative():
    body, _kind = metrics.render(_snapshot())
    samples = _samples(body.decode(), parse_text)
    shop = {("endpoint_id", "1"), ("endpoint", "Shop")}

    def bucket(le):
        name = "odoo_integration_webhook_attempt_duration_seconds_bucket"
        return samples[(name, frozenset(shop | {("le", le)}))]

    assert [bucket(le) for le in ("0.05", "0.1", "0.25", "+Inf")] == [1, 2, 4, 4]
