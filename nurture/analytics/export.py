"""The results as a CSV file: a heading block, the funnel, then the per-step table."""

from __future__ import annotations

import csv
from typing import TextIO

from nurture.analytics.funnel import CampaignResults
from nurture.analytics.report import FUNNEL_HEADERS, STEP_HEADERS, funnel_cells, step_rows
from nurture.spreadsheet import neutralise


def write_results_csv(results: CampaignResults, out: TextIO) -> None:
    """Write the campaign's results to `out` as CSV, the same cells the page shows."""
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


def csv_filename(results: CampaignResults) -> str:
    """'results-hamstring-sciatica-from-2026-11-01.csv': a slug and dates, nothing personal."""
    period = results.period
    parts = ["results", results.slug]
    if period.since:
        parts.append(f"from-{period.since.isoformat()}")
    if period.until:
        parts.append(f"before-{period.until.isoformat()}")
    return "-".join(parts) + ".csv"
