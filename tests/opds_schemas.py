"""Validators for the OPDS tests, over the schemas vendored in tests/schemas (see its README).

:func:`opds1_schema` is lxml's RelaxNG over the OPDS 1.2 grammar (which
includes Atom's). :func:`opds2_validator` is a ``jsonschema`` draft-07
validator whose ``$ref`` resolve only to the vendored files (registered under
their published URLs), with ``pattern``, ``patternProperties`` and
``additionalProperties`` evaluated by ``regress``: the Readium schemas write
their BCP 47 patterns in ECMA-262 syntax, which Python's ``re`` refuses.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import regress
from jsonschema import Draft7Validator, ValidationError, validators
from lxml import etree
from referencing import Registry
from referencing.jsonschema import DRAFT7

from tests.conftest import REPO

__all__ = ["SCHEMAS", "opds1_schema", "opds2_validator", "OPDS2_FEED", "OPDS2_PUBLICATION", "READIUM_PUBLICATION"]

SCHEMAS = REPO / "tests" / "schemas"
OPDS2_FEED = "https://drafts.opds.io/schema/feed.schema.json"
OPDS2_PUBLICATION = "https://drafts.opds.io/schema/publication.schema.json"
READIUM_PUBLICATION = "https://readium.org/webpub-manifest/schema/publication.schema.json"
_BASES = {"opds": "https://drafts.opds.io/schema/", "readium": "https://readium.org/webpub-manifest/schema/"}


@functools.cache
def opds1_schema() -> etree.RelaxNG:
    """The OPDS 1.2 RelaxNG schema (feeds and entries)."""
    return etree.RelaxNG(etree.parse(str(SCHEMAS / "opds1" / "opds.rng")))


@functools.cache
def _regex(pattern: str) -> regress.Regex:
    """An ECMA-262 regular expression, compiled once."""
    return regress.Regex(pattern)


def _pattern(validator, pattern, instance, schema):
    """``pattern`` with ECMA-262 semantics (a search, as JSON Schema says)."""
    if validator.is_type(instance, "string") and _regex(pattern).find(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator, patterns, instance, schema):
    """``patternProperties`` with ECMA-262 patterns."""
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _regex(pattern).find(key) is not None:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator, additional, instance, schema):
    """``additionalProperties``, telling extras apart with ECMA-262 ``patternProperties``."""
    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    patterns = [_regex(pattern) for pattern in schema.get("patternProperties", {})]
    extras = [key for key in instance if key not in known and not any(p.find(key) is not None for p in patterns)]
    if validator.is_type(additional, "object"):
        for key in extras:
            yield from validator.descend(instance[key], additional, path=key)
    elif additional is False and extras:
        yield ValidationError(f"additional properties are not allowed: {sorted(extras)}")


_EcmaValidator = validators.extend(Draft7Validator, {
    "pattern": _pattern, "patternProperties": _pattern_properties, "additionalProperties": _additional_properties,
})


@functools.cache
def _registry() -> Registry:
    """Every vendored schema under its published URL, with http and https."""
    pairs = []
    root = SCHEMAS / "opds2"
    for path in sorted(root.rglob("*.json")):
        relative = path.relative_to(root)
        url = _BASES[relative.parts[0]] + "/".join(relative.parts[1:])
        schema = json.loads(path.read_text(encoding="utf-8"))
        # Every file says draft-07, and is loaded as such; without "$schema" jsonschema keeps our
        # validator class for referenced schemas instead of switching to its plain Draft7Validator.
        schema.pop("$schema", None)
        resource = DRAFT7.create_resource(schema)
        pairs += [(url, resource), (url.replace("https://", "http://", 1), resource)]
    return Registry().with_resources(pairs)


def opds2_validator(schema_url: str) -> Draft7Validator:
    """A validator for the vendored schema published at ``schema_url`` (formats checked where we can)."""
    schema = _registry().contents(schema_url)
    return _EcmaValidator(schema, registry=_registry(), format_checker=Draft7Validator.FORMAT_CHECKER)


def schema_files() -> list[Path]:
    """Every vendored schema file (for a test that each is valid JSON and has a licence)."""
    return sorted(SCHEMAS.rglob("*.json"))
