"""The period a usage report covers (`GET /api/usage?from=&to=`): whole UTC days, both ends
included. Pure: the caller passes today's date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from blastdeck.domain.errors import BlastDeckError, ErrorCode

DEFAULT_PERIOD_DAYS = 30
# A year and a bit: enough for a yearly report, and it bounds the rows a report sorts (the
# percentiles) and the days it sends.
MAX_PERIOD_DAYS = 400
# The dates a period may name: far enough from date.min and date.max that a default `from`
# and the day after `to` are dates too.
EARLIEST = date(1970, 1, 1)
LATEST = date(9999, 12, 30)


@dataclass(frozen=True)
class UsagePeriod:
    first: date
    last: date  # included

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        """The first instant of the period (UTC)."""
        return datetime.combine(self.first, time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the period (UTC): jobs created before it are in."""
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=UTC)

    def each_day(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]


def usage_period(first: str | None, last: str | None, today: date) -> UsagePeriod:
    """The period `from`..`to` names; a missing `to` is today, a missing `from` the
    DEFAULT_PERIOD_DAYS days that end on `to`."""
    end = _parse("to", last) if last else today
    start = _parse("from", first) if first else end - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if start > end:
        raise BlastDeckError(ErrorCode.PERIOD_REVERSED, f"'from' ({start}) is after 'to' ({end}).")
    period = UsagePeriod(start, end)
    if period.days > MAX_PERIOD_DAYS:
        raise BlastDeckError(
            ErrorCode.PERIOD_TOO_LONG,
            f"The period is {period.days} days; at most {MAX_PERIOD_DAYS} days per report.",
        )
    return period


def _parse(name: str, value: str) -> date:
    try:
        if len(value) != 10:  # fromisoformat also takes 20261201 and week dates
            raise ValueError(value)
        day = date.fromisoformat(value)
        if not EARLIEST <= day <= LATEST:
            raise ValueError(value)
        return day
    except ValueError:
        raise BlastDeckError(
            ErrorCode.INVALID_DATE,
            f"'{name}' must be a date as YYYY-MM-DD from {EARLIEST} to {LATEST}, "
            f"not {value[:40]!r}.",
        ) from None
