"""The portal's languages: Indonesian by default, English selectable.

Messages are written in English in the code and templates (``_("…")``, extracted with
``pybabel extract -F portal/babel.cfg``) and translated in the Babel catalogue
``portal/locale/id/LC_MESSAGES/messages.po``, compiled in memory when the portal starts (no
binary in the repository). The language of the request being answered is a context
variable, so one Jinja2 environment serves both. Numbers and dates are formatted by Babel
in the request's locale; times are shown in WIB (UTC+7), the villages' time.
"""

from __future__ import annotations

import contextvars
import datetime
import gettext as _gettext
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from jembatan.locale import WIB, compiled_catalogue

__all__ = ["DEFAULT", "LANGUAGES", "WIB", "gettext", "language", "ngettext", "rupiah", "use", "wib"]

LANGUAGES = ("id", "en")
DEFAULT = "id"
CATALOGUE = Path(__file__).parent / "locale" / "id" / "LC_MESSAGES" / "messages.po"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("portal_language", default=DEFAULT)


def _translations(language: str) -> _gettext.NullTranslations:
    if language == "en":
        return _gettext.NullTranslations()
    return compiled_catalogue(CATALOGUE, language)


def use(language: str) -> None:
    """Answer the current request in ``language`` (one of ``LANGUAGES``)."""
    _current.set(language if language in LANGUAGES else DEFAULT)


def language() -> str:
    return _current.get()


def gettext(message: str, **values: Any) -> str:
    text = _translations(_current.get()).gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
    text = _translations(_current.get()).ngettext(singular, plural, n)
    return text % {"num": n, **values}


def rupiah(amount: int | float) -> str:
    return "Rp " + format_decimal(amount, locale=_current.get())


def number(amount: int | float) -> str:
    return format_decimal(amount, locale=_current.get())


def wib(moment: datetime.datetime | int | float | str) -> str:
    """A moment as the villages read it: "5 Desember 2026 15.04 WIB"."""
    if isinstance(moment, str):
        moment = datetime.datetime.fromisoformat(moment)
    elif not isinstance(moment, datetime.datetime):
        moment = datetime.datetime.fromtimestamp(moment, datetime.UTC)
    text = format_datetime(moment, "d MMMM y HH.mm", tzinfo=WIB, locale=_current.get())
    return f"{text} WIB"


def date(day: datetime.date | str) -> str:
    """A calendar day as the villages read it: "5 Desember 2026"."""
    if isinstance(day, str):
        day = datetime.date.fromisoformat(day)
    return format_date(day, "d MMMM y", locale=_current.get())
