"""Writing :class:`.metrics.Family` lists out: the Prometheus text format
0.0.4 and OpenMetrics 1.0.

A scrape of a thousand endpoints holds some 25,000 samples. Built as
``prometheus_client`` metric families and written by its encoders, that
takes longer than the scrape's budget (200 ms) on its own, so the text is
written here: label values escaped once per distinct value, one f-string
per sample. ``prometheus_client`` stays the reference: :class:`Collector`
yields the same families as its objects,
and the tests check that its parsers (and ``promtool``) read exactly the
same samples from both writers.

>>> from .metrics import Family
>>> family = Family("x_requests", "counter", 'Requests "seen".', ("path",))
>>> family.rows.append((('/a"b',), 3))
>>> print(encode([family])[0].decode(), end="")
# HELP x_requests_total Requests "seen".
# TYPE x_requests_total counter
x_requests_total{path="/a\\"b"} 3
>>> print(encode([family], openmetrics=True)[0].decode(), end="")
# HELP x_requests Requests "seen".
# TYPE x_requests counter
x_requests_total{path="/a\\"b"} 3
# EOF
"""

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.utils import floatToGoString

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def _number(value):
    """A sample value: integers as they are, floats as Go writes them.

    >>> _number(3), _number(2.5), _number(float("inf"))
    ('3', '2.5', '+Inf')
    """
    if isinstance(value, int):
        return str(value)
    return floatToGoString(value)


def encode(families, openmetrics=False):
    """``(body, content type)`` of ``families`` in the text format 0.0.4,
    or OpenMetrics 1.0 with ``openmetrics``."""
    escaped = {}

    def escape(value):
        text = escaped.get(value)
        if text is None:
            text = escaped[value] = (
                value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
            )
        return text

    out = []
    append = out.append
    for family in families:
        # The le label of each bucket, as prometheus_client writes it.
        bounds = [floatToGoString(bound) for bound in family.bounds]
        name = family.name
        shown = (
            name + "_total" if family.kind == "counter" and not openmetrics else name
        )
        documentation = family.help.replace("\\", r"\\").replace("\n", r"\n")
        append(f"# HELP {shown} {documentation}\n# TYPE {shown} {family.kind}\n")
        if openmetrics and family.unit:
            append(f"# UNIT {shown} {family.unit}\n")
        sample = name + "_total" if family.kind == "counter" else name
        names = family.labels
        for values, value in family.rows:
            labels = ",".join(
                f'{label}="{escape(text)}"'
                for label, text in zip(names, values, strict=True)
            )
            if family.kind != "histogram":
                append(f"{sample}{{{labels}}} {_number(value)}\n")
                continue
            counts, total = value
            bucket = f'{sample}_bucket{{{labels},le="'
            append(
                "".join(
                    f'{bucket}{bound}"}} {count}\n'
                    for bound, count in zip(bounds, counts, strict=True)
                )
            )
            append(
                f"{sample}_count{{{labels}}} {counts[-1]}\n"
                f"{sample}_sum{{{labels}}} {_number(total)}\n"
            )
    if openmetrics:
        append("# EOF\n")
        return "".join(out).encode(), OPENMETRICS_CONTENT_TYPE
    return "".join(out).encode(), TEXT_CONTENT_TYPE


class Collector:
    """A ``prometheus_client`` collector of ``families``: to register them
    in a registry of one's own, and the reference the tests compare
    :func:`encode` with."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        for family in self.families:
            labels = list(family.labels)
            bounds = [floatToGoString(bound) for bound in family.bounds]
            if family.kind == "counter":
                metric = CounterMetricFamily(family.name, family.help, labels=labels)
            elif family.kind == "gauge":
                metric = GaugeMetricFamily(
                    family.name, family.help, labels=labels, unit=family.unit
                )
            else:
                metric = HistogramMetricFamily(
                    family.name, family.help, labels=labels, unit=family.unit
                )
            for values, value in family.rows:
                if family.kind == "histogram":
                    counts, total = value
                    metric.add_metric(
                        list(values), list(zip(bounds, counts, strict=True)), total
                    )
                else:
                    metric.add_metric(list(values), value)
            yield metric
