"""The results as a CSV file: a heading block, the funnel, the per-step table, then each
A/B tested step's variants, one row each."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import TextIO

from nurture.analytics.funnel import CampaignResults
from nurture.analytics.report import (
    FUNNEL_HEADERS,
    NOT_APPLICABLE,
    STEP_HEADERS,
    funnel_cells,
    percent,
    step_rows,
)
from nurture.analytics.variants import (
    METRIC_LABELS,
    METRICS,
    Metric,
    StepTest,
    VariantResult,
    difference_cell,
)
from nurture.spreadsheet import neutralise

RATE_LABELS: dict[Metric, str] = {
    "opens": "Open rate",
    "clicks": "Click rate",
    "replies": "Reply rate",
    "bookings": "Booking rate",
}
# A spreadsheet wants one number a cell: the page's "12 · 8.0% (4.6–13.5%)" is four here.
VARIANT_HEADERS = (
    "Step",
    "Channel",
    "Variant",
    "Weight",
    "Sent",
    *(
        name
        for metric in METRICS
        for name in (
            METRIC_LABELS[metric],
            RATE_LABELS[metric],
            f"{RATE_LABELS[metric]} 95% low",
            f"{RATE_LABELS[metric]} 95% high",
        )
    ),
    "Compared on",
    "vs first variant",
    "Promoted",
)


def _metric_cells(test: StepTest, variant: VariantResult, metric: Metric) -> list[str]:
    # Texts report no opens, and a variant not sent yet has no rate: "n/a" as on the page.
    if metric not in test.metrics():
        return [NOT_APPLICABLE] * 4
    rate = variant.rate(metric)
    if rate is None:
        return [str(variant.count(metric)), NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE]
    low, high = variant.interval(metric)
    return [str(variant.count(metric)), percent(rate), percent(low), percent(high)]


def variant_rows(tests: Sequence[StepTest]) -> list[list[str]]:
    """One row per variant of each tested step, in VARIANT_HEADERS order: the numbers the
    Results page's A/B tables show."""
    rows = []
    for test in tests:
        promoted = test.promotion.variant if test.promotion else None
        for variant in test.variants:
            rows.append(
                [
                    test.key,
                    test.channel,
                    variant.key,
                    str(variant.weight) if variant.weight else "retired",
                    str(variant.sent),
                    *(cell for m in METRICS for cell in _metric_cells(test, variant, m)),
                    test.compared_on,
                    difference_cell(test, variant, test.compared_on),
                    "yes" if variant.key == promoted else "",
                ]
            )
    return rows


def write_results_csv(
    results: CampaignResults, out: TextIO, tests: Sequence[StepTest] = ()
) -> None:
    """Write the campaign's results to `out` as CSV, the same cells the page shows, and
    a block of A/B test variants after them when `tests` has any."""
    writer = csv.writer(out, lineterminator="\n")
    period = results.period
    writer.writerow(["Campaign", results.slug, neutralise(results.name)])
    writer.writerow(["Enrolled from", period.since.isoformat() if period.since else ""])
    writer.writerow(["Enrolled before", period.until.isoformat() if period.until else ""])
    writer.writerow([])
    writer.writerow(FUNNEL_HEADERS)
    writer.writerows(funnel_cells(stage) for stage in results.funnel)
    writer.writerow([])
    writer.writerow(STEP_HEADERS)
    writer.writerows(step_rows(results))
    if tests:
        writer.writerow([])
        writer.writerow(VARIANT_HEADERS)
        writer.writerows(variant_rows(tests))


def csv_filename(results: CampaignResults) -> str:
    """'results-hamstring-sciatica-from-2026-11-01.csv': a slug and dates, nothing personal."""
    period = results.period
    parts = ["results", results.slug]
    if period.since:
        parts.append(f"from-{period.since.isoformat()}")
    if period.until:
        parts.append(f"before-{period.until.isoformat()}")
    return "-".join(parts) + ".csv"
