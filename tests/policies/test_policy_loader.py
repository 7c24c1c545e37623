"""Policy files from disk: every load error as one ``path:line: problem`` line, and versions."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from policies import DEFAULT_DIRECTORY, PolicyFileError, load_policies

SHIPPED = DEFAULT_DIRECTORY / "bansos-bpjstk.yaml"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def rule_with_fields(fields: str) -> str:
    """A valid file whose rule starts on line 2 and whose first field is on line 6."""
    return "rules:\n  - client: C\n    purpose: P\n    service: S\n    fields:\n" + textwrap.indent(
        textwrap.dedent(fields), "      "
    )


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, "x.yaml", text)
    with pytest.raises(PolicyFileError) as raised:
        load_policies(tmp_path)
    message = str(raised.value)
    assert message.startswith(f"{path}:")
    assert "\n" not in message
    return message.removeprefix(f"{path}:")


def test_a_valid_file_loads_with_its_location(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.yaml",
        rule_with_fields("""\
            a: raw
            b: masked
            c: {bucketed: [0, 10.5]}
            d:
              predicate: {in: [x, y]}
            """),
    )
    (rule,) = load_policies(tmp_path).rules()
    assert (rule.key, rule.source, rule.line) == (("C", "P", "S"), str(path), 2)
    assert [(f.name, f.treatment, f.detail) for f in rule.fields.values()] == [
        ("a", "raw", ""),
        ("b", "masked", "masked"),
        ("c", "bucketed", "edges 0,10.5"),
        ("d", "predicate", "in [x, y]"),
    ]


def test_ids_and_field_names_are_taken_as_written(tmp_path: Path) -> None:
    write(
        tmp_path,
        "x.yaml",
        "rules:\n  - {client: 2024, purpose: on, service: 1.0, fields: {no: raw, 007: masked}}\n",
    )
    policy = load_policies(tmp_path)
    assert policy.allowed_fields("2024", "on", "1.0") == ("no", "007")


def test_unknown_treatment_names_the_choices(tmp_path: Path) -> None:
    message = load_error(tmp_path, rule_with_fields("a: raw\nemployer: hashed\n"))
    assert message == (
        "7: unknown treatment 'hashed' for field 'employer' "
        "(expected raw, masked, bucketed, predicate)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "1: empty policy file (expected a mapping with key 'rules')"),
        ("# only a comment\n", "1: empty policy file (expected a mapping with key 'rules')"),
        ("- a\n- b\n", "1: expected a policy file to be a mapping, got a list"),
        ("rules: x\n", "1: 'rules' must be a non-empty list, got 'x'"),
        ("rules: []\n", "1: 'rules' must be a non-empty list, got a list"),
        ("\nrules:\n  client: C\n", "3: 'rules' must be a non-empty list, got a mapping"),
        ("version: 2\n", "1: unknown key 'version' in policy file (expected rules)"),
        ("rules:\n  - 7\n", "2: expected a rule to be a mapping, got '7'"),
    ],
)
def test_file_shape_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert load_error(tmp_path, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "rules:\n  - client: C\n    purpose: P\n    service: S\n",
            "2: rule is missing key 'fields'",
        ),
        (
            "rules:\n  - client: C\n    service: S\n    fields: {a: raw}\n",
            "2: rule is missing key 'purpose'",
        ),
        (
            "rules:\n  - client: C\n    purpose: P\n    service: S\n    fields: {a: raw}\n"
            "    note: why\n",
            "6: unknown key 'note' in rule (expected client, purpose, service, fields; "
            "optional: basis, legal_reference, two_person_approval)",
        ),
        (
            "rules:\n  - client: [C]\n    purpose: P\n    service: S\n    fields: {a: raw}\n",
            "2: client must be text, got a list",
        ),
        (
            "rules:\n  - client: C\n    purpose:\n    service: S\n    fields: {a: raw}\n",
            "3: purpose is empty",
        ),
        (
            "rules:\n  - client: C\n    purpose: P\n    service: ' '\n    fields: {a: raw}\n",
            "4: service is empty",
        ),
        (
            "rules:\n  - client: C\n    purpose: P\n    service: S\n    fields: [a]\n",
            "5: expected 'fields' (field name: treatment) to be a mapping, got a list",
        ),
        (
            "rules:\n  - client: C\n    purpose: P\n    service: S\n    fields: {}\n",
            "5: 'fields' is empty: a rule must release at least one field",
        ),
        (
            "rules:\n  - client: C\n    purpose: P\n    service: S\n    fields:\n",
            "5: 'fields' is empty: a rule must release at least one field",
        ),
    ],
)
def test_rule_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert load_error(tmp_path, text) == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            "a: raw\nb:\n",
            "7: field 'b' has no treatment (expected raw, masked, bucketed, predicate)",
        ),
        ("a: [raw]\n", "6: expected the treatment of field 'a' to be a mapping, got a list"),
        ("a: {}\n", "6: field 'a' needs exactly one treatment, got 0 (none)"),
        (
            "a:\n  bucketed: [0, 1]\n  predicate: {lt: 1}\n",
            "8: field 'a' needs exactly one treatment, got 2 (bucketed, predicate)",
        ),
        ("a: {raw: yes}\n", "6: treatment 'raw' takes no value: write `a: raw`"),
        (
            "a:\n  hashed: sha256\n",
            "7: unknown treatment 'hashed' for field 'a' "
            "(expected raw, masked, bucketed, predicate)",
        ),
        (
            "a: bucketed\n",
            "6: treatment 'bucketed' of field 'a' needs a value, "
            "e.g. {bucketed: [0, 1000000]} or {predicate: {lt: 3000000}}",
        ),
        ("a: raw\nb: masked\na: masked\n", "8: duplicate field 'a' (first at line 6)"),
        ("? [a]\n: raw\n", "6: field must be text, got a list"),
    ],
)
def test_field_errors(tmp_path: Path, fields: str, expected: str) -> None:
    assert load_error(tmp_path, rule_with_fields(fields)) == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("w: {bucketed: []}\n", "6: bad 'bucketed' for field 'w': needs at least one edge"),
        ("w: {bucketed: 5}\n", "6: 'bucketed' of field 'w' must be a list of edges"),
        (
            "w:\n  bucketed:\n    - 0\n    - 1000\n    - 1000\n",
            "10: bad 'bucketed' for field 'w': edges must be strictly increasing: 1000 after 1000",
        ),
        (
            "w:\n  bucketed:\n    - 0\n    - lots\n",
            "9: bad 'bucketed' for field 'w': edge 'lots' is not a finite number",
        ),
        (
            "d:\n  bucketed: [2020-01-01, 2021-01-01]\n",
            "7: bad 'bucketed' for field 'd': edge '2020-01-01' is not a finite number",
        ),
        (
            "w: {bucketed: [0, .nan]}\n",
            "6: bad 'bucketed' for field 'w': edge 'nan' is not a finite number",
        ),
        ("w: {bucketed: [[0]]}\n", "6: expected a single value, got a list"),
    ],
)
def test_bucket_edge_errors(tmp_path: Path, fields: str, expected: str) -> None:
    assert load_error(tmp_path, rule_with_fields(fields)) == expected


OPS = "lt, le, gt, ge, eq, ne, in, not_in, within_days"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            "w:\n  predicate: {below: 3000000}\n",
            f"7: unknown predicate operator 'below' for field 'w' (expected {OPS})",
        ),
        (
            "w:\n  predicate:\n    lt: 3000000\n    gt: 0\n",
            f"9: predicate of field 'w' needs exactly one operator, got 2 (lt, gt); "
            f"expected one of {OPS}",
        ),
        (
            "w:\n  predicate: {}\n",
            f"7: predicate of field 'w' needs exactly one operator, got 0 (none); "
            f"expected one of {OPS}",
        ),
        (
            "w:\n  predicate: lt 3000000\n",
            "7: expected the predicate of field 'w' (e.g. {lt: 3000000}) to be a mapping, "
            "got 'lt 3000000'",
        ),
        (
            "w:\n  predicate: {lt: 3e6}\n",
            "7: bad predicate for field 'w': operand of 'lt' must be a number or a date, "
            "got text '3e6'",
        ),
        (
            "s:\n  predicate:\n    in:\n      - active\n      - 3\n",
            "10: bad predicate for field 's': items of 'in' must all be of one kind: "
            "number '3' among texts",
        ),
        (
            "s: {predicate: {not_in: []}}\n",
            "6: bad predicate for field 's': operand of 'not_in' must list at least one value",
        ),
        (
            "d: {predicate: {within_days: -1}}\n",
            "6: bad predicate for field 'd': operand of 'within_days' must be a whole number >= 0,"
            " got number '-1'",
        ),
        (
            "d: {predicate: {lt: 2024-02-30}}\n",
            "6: invalid value '2024-02-30': day is out of range for month",
        ),
        (
            "d: {predicate: {eq: !!python/name:os.system x}}\n",
            "6: unsupported value 'x': could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/name:os.system'",
        ),
    ],
)
def test_predicate_errors(tmp_path: Path, fields: str, expected: str) -> None:
    assert load_error(tmp_path, rule_with_fields(fields)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "rules:\n  - client: C\n    purpose: P: Q\n",
            "3: invalid YAML: mapping values are not allowed here",
        ),
        (
            "rules:\n  - client: 'C\n",
            "3: invalid YAML: while scanning a quoted scalar, found unexpected end of stream",
        ),
        (
            "rules: []\n---\nrules: []\n",
            "2: invalid YAML: expected a single document in the stream, but found another document",
        ),
    ],
)
def test_yaml_syntax_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert load_error(tmp_path, text) == expected


def test_text_that_is_not_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"rules:\n  - client: \xff\n")
    with pytest.raises(PolicyFileError, match=r"x\.yaml:2: not UTF-8 text$"):
        load_policies(tmp_path)


def test_a_control_character_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("rules:\n\n  - client: C\x01\n")
    with pytest.raises(PolicyFileError) as raised:
        load_policies(tmp_path)
    assert str(raised.value) == f"{path}:3: invalid YAML: character U+0001 is not allowed"


def test_duplicate_rule_across_files_names_both_places(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", rule_with_fields("a: raw\n"))
    second = write(tmp_path, "b.yaml", "# same key again\n" + rule_with_fields("b: raw\n"))
    with pytest.raises(PolicyFileError) as raised:
        load_policies(tmp_path)
    assert str(raised.value) == (
        f"{second}:3: duplicate rule for client 'C', purpose 'P', service 'S' (first at {first}:2)"
    )


def test_duplicate_rule_in_one_file(tmp_path: Path) -> None:
    rule = "  - {client: C, purpose: P, service: S, fields: {a: raw}}\n"
    message = load_error(tmp_path, "rules:\n" + rule + rule)
    assert (
        message == f"3: duplicate rule for client 'C', purpose 'P', service 'S' "
        f"(first at {tmp_path / 'x.yaml'}:2)"
    )


def test_same_key_differing_in_one_part_is_no_conflict(tmp_path: Path) -> None:
    write(
        tmp_path,
        "x.yaml",
        """\
        rules:
          - {client: C, purpose: P, service: S, fields: {a: raw}}
          - {client: C, purpose: P, service: T, fields: {a: raw}}
          - {client: C, purpose: Q, service: S, fields: {a: raw}}
          - {client: D, purpose: P, service: S, fields: {a: raw}}
        """,
    )
    assert len(load_policies(tmp_path).rules()) == 4


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match="policy directory not found"):
        load_policies(tmp_path / "nowhere")


def test_only_yaml_files_are_read_and_an_empty_directory_denies_all(tmp_path: Path) -> None:
    write(tmp_path, "notes.txt", "not: [a policy")
    policy = load_policies(tmp_path)
    assert policy.rules() == ()
    assert not policy.decide("C", "P", "S", ["a"]).rule_found


def test_version_depends_only_on_file_names_and_content(tmp_path: Path) -> None:
    for source in DEFAULT_DIRECTORY.glob("*.yaml"):
        shutil.copy(source, tmp_path / source.name)
    shipped = load_policies()
    copy = load_policies(tmp_path)
    assert copy.version == shipped.version == load_policies(tmp_path).version

    (tmp_path / "readme.txt").write_text("not a policy")
    assert load_policies(tmp_path).version == shipped.version

    with (tmp_path / SHIPPED.name).open("a") as handle:
        handle.write("# a comment is a change too\n")
    edited = load_policies(tmp_path).version
    assert edited != shipped.version

    (tmp_path / SHIPPED.name).rename(tmp_path / "renamed.yaml")
    renamed = load_policies(tmp_path).version
    assert renamed not in (edited, shipped.version)

    write(tmp_path, "zz.yaml", rule_with_fields("a: raw\n"))
    assert load_policies(tmp_path).version not in (renamed, edited, shipped.version)
