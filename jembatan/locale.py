"""What the people's pages share about time and language: WIB, and message catalogues read
from their ``.po`` source.

Indonesia's western zone is UTC+7 all year (no summer time), so a fixed offset needs no tz
database. A catalogue is compiled in memory from the committed ``.po`` at first use: there is
no compiled ``.mo`` to go stale beside it. Babel is imported here, so only the programs that
show pages (the officers' console, the citizens' portal) load this module.
"""

from __future__ import annotations

import functools
import io
from datetime import timedelta, timezone
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

WIB = timezone(timedelta(hours=7), "WIB")


@functools.cache
def compiled_catalogue(po: Path, language: str) -> Translations | NullTranslations:
    """The catalogue in ``po`` for ``language``, compiled; none (the source's own words)
    when the file does not exist."""
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        parsed = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, parsed)
    compiled.seek(0)
    return Translations(compiled)
