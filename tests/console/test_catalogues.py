"""The console's words are complete: every message its templates and code show has its
Indonesian translation, and every reason the hub can record is explained in both languages,
so no officer meets an English sentence on an Indonesian page or a bare reason code."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from hub.console import reasons, render
from jembatan.errors import STATUS_OF_REASON
from jembatan.v1 import common_pb2

CONSOLE = Path(render.__file__).parent
_METHODS = [("templates/**.html", "jinja2"), ("**.py", "python")]
_OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def _messages() -> set[str]:
    found = set()
    for _, _, message, _, _ in extract_from_dir(
        str(CONSOLE),
        _METHODS,
        options_map=_OPTIONS,
        keywords={"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)},
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_has_its_indonesian_translation() -> None:
    messages = _messages()
    assert len(messages) > 80, "the extraction found the templates' messages"
    po = render.TRANSLATIONS / "id" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as source:
        catalogue = read_po(source, locale="id")
    translated = {
        (m.id[0] if isinstance(m.id, tuple) else m.id): m.string
        for m in catalogue
        if m.id and not m.fuzzy
    }
    missing = sorted(m for m in messages if not translated.get(m))
    assert not missing, f"untranslated (pybabel update, then translate): {missing}"
    # And the compiled catalogue is the one the pages use.
    assert render.catalogue("id").gettext("Refusals") == "Penolakan"


def test_every_reason_is_explained_in_both_languages() -> None:
    codes = set(STATUS_OF_REASON)
    # The wire contract's enum, less its zero value, is the same list.
    names = common_pb2.Reason.keys()
    assert codes == {name for name in names if name != "REASON_UNSPECIFIED"}
    assert set(reasons.CATALOGUE) == codes
    for code in codes:
        for language in ("id", "en"):
            explained = reasons.explain(code, language)
            assert explained and explained.happened and explained.check, (code, language)
            assert code not in explained.happened, "plain words, not the code"
    assert reasons.explain("CONSENT_MISSING", "id").happened.startswith("Tidak ada persetujuan")
    assert reasons.explain("", "id") is None
