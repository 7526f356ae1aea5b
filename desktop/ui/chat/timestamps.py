"""When a message was written, in words for the chat: local time, with the date when it
was not today, in the user's locale.

`short_when` is the time shown beside a message's actions ("14:02", "30 Nov 14:02",
"30 Nov 2025 14:02"); `long_when` is said in full for tooltips and screen readers
("today at 14:02", "on Monday, 30 November 2026 at 14:02").

Thread: any (pure functions over `QLocale`).
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QDate, QLocale, QTime


def _local(moment: datetime) -> datetime:
    """`moment` in the computer's time zone (a naive time is taken as local already)."""
    return moment.astimezone() if moment.tzinfo is not None else moment


def _parts(moment: datetime, now: datetime | None) -> tuple[QDate, QTime, QDate]:
    local = _local(moment)
    today = _local(now) if now is not None else datetime.now().astimezone()
    return (
        QDate(local.year, local.month, local.day),
        QTime(local.hour, local.minute),
        QDate(today.year, today.month, today.day),
    )


def short_when(moment: datetime, now: datetime | None = None) -> str:
    """The time, with the day and month (and year, when not this one) when not today."""
    date, time, today = _parts(moment, now)
    locale = QLocale()
    clock = locale.toString(time, QLocale.FormatType.ShortFormat)
    if date == today:
        return clock
    day = locale.toString(date, "d MMM" if date.year() == today.year() else "d MMM yyyy")
    return f"{day} {clock}"


def long_when(moment: datetime, now: datetime | None = None) -> str:
    """The moment in words: today at 14:02, yesterday at 09:15, or on (the long date) at 14:02."""
    date, time, today = _parts(moment, now)
    locale = QLocale()
    clock = locale.toString(time, QLocale.FormatType.ShortFormat)
    if date == today:
        return f"today at {clock}"
    if date == today.addDays(-1):
        return f"yesterday at {clock}"
    return f"on {locale.toString(date, QLocale.FormatType.LongFormat)} at {clock}"
