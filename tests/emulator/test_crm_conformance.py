"""The emulator's CRM responses against Zoho's own OpenAPI description (zoho/crm-oas v8.0).

The OAS files live outside the project (`../shared/zoho-oas/v8.0/` from its root) and are read,
never fetched: their cross-file `$ref`s (raw.githubusercontent.com URLs) resolve to the sibling
local file through a `referencing` registry. OpenAPI 3.0's `nullable: true` becomes JSON Schema's
`null` type. Each response is validated against the schema of the branch it belongs to: Zoho's
`oneOf`s (e.g. Response_Wrapper | API_Exception) are not mutually exclusive (neither side has
required keys), so validating against the whole `oneOf` would fail for every body.

Where Zoho's schema is stricter than Zoho's servers, or contradicts Zoho's other files, RELAXED
below lists the change and why; nothing else is loosened.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .conftest import Crm

OAS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "zoho-oas" / "v8.0"
BASE = "https://raw.githubusercontent.com/Zohocorp-Pvt-Ltd/crm-oas/refs/heads/main/v8.0/"

#: (file, JSON pointer, edit, why). Each edit is applied to the parsed OAS before validation.
RELAXED: list[tuple[str, str, Callable[[Any], None], str]] = []


def relax(file: str, pointer: str, why: str) -> Callable[[Callable[[Any], None]], None]:
    def register(edit: Callable[[Any], None]) -> None:
        RELAXED.append((file, pointer, edit, why))

    return register


@relax("record.json", "/components/schemas/Info/properties", "Zoho sends null tokens")
def _info_tokens(props: dict[str, Any]) -> None:
    # Zoho's get-records sample: `"previous_page_token": null` (and next_page_token on the
    # last page, page_token_expiry with no token) [docs/zoho-reference.md §6.3]; the schema
    # types them as strings.
    for key in ("next_page_token", "previous_page_token", "page_token_expiry"):
        props[key] = {"anyOf": [props[key], {"type": "null"}]}


@relax("record.json", "/components/schemas/Success_Response/properties", "upsert insert")
def _duplicate_field(props: dict[str, Any]) -> None:
    # An upsert that inserts has `"duplicate_field": null` in Zoho's upsert sample.
    props["duplicate_field"] = {"type": ["string", "null"]}


@relax("record.json", "/components/schemas/API_Exception/properties/details/properties", "int")
def _maximum_length(props: dict[str, Any]) -> None:
    # record.json types maximum_length as a string, common.json's MaxLengthDetails as an int32.
    props["maximum_length"] = {"type": ["integer", "string"]}


@relax(
    "record.json",
    "/paths/~1crm~1v8~1{module_api_name}~1actions~1count/get/responses/200/content/"
    "application~1json/schema/oneOf/0/properties",
    "count is a number",
)
def _count(props: dict[str, Any]) -> None:
    # The spec says {"count": string}; Zoho's record-count docs show a JSON number [?].
    props["count"] = {"type": ["integer", "string"]}


@relax("users.json", "/components/schemas/users/properties", "example-derived patterns")
def _user_patterns(props: dict[str, Any]) -> None:
    # `email` must match [a-z0-9]{9}@[a-z0-9]{5}.com and `website` [a-z0-9]{5}.com: patterns
    # derived from one example address; `time_zone` is typed object, Zoho sends "GMT"
    # (docs/zoho-reference.md §6.1).
    props["email"].pop("pattern")
    props["website"].pop("pattern")
    props["time_zone"] = {"type": ["string", "null"]}


@relax("users.json", "/components/schemas/owner", "Zoho's sample has name and id only")
def _owner(schema: dict[str, Any]) -> None:
    schema["required"] = [
        "name",
        "id",
    ]  # users' Modified_By in Zoho's get-users sample (docs/zoho-reference.md §6.1)


def _null_objects(props: dict[str, Any]) -> None:
    # A real v8 field has "crypt": null, "tooltip": null, "external": null, "default_value":
    # null, "history_tracking": null, "association_details": null, ... (Zoho's COQL
    # include_meta sample), and an "All" view has "criteria": null; the spec types those as
    # non-nullable objects ($ref) or strings.
    for key, prop in list(props.items()):
        if "$ref" in prop or key == "default_value":
            props[key] = {"anyOf": [prop, {"type": "null"}]}


for _file, _schema in (
    ("fields.json", "fields"),
    ("modules.json", "fields"),
    ("custom_views.json", "custom_views"),
):
    relax(_file, f"/components/schemas/{_schema}/properties", "Zoho sends null objects")(
        _null_objects
    )


def _nullable(node: Any) -> None:
    """OpenAPI 3.0 `nullable: true` -> JSON Schema `null` in the type (and enum)."""
    if isinstance(node, dict):
        if node.get("nullable") is True and "type" in node:
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        for value in node.values():
            _nullable(value)
    elif isinstance(node, list):
        for value in node:
            _nullable(value)


def _resolve(doc: dict[str, Any], pointer: str) -> Any:
    node: Any = doc
    for part in pointer.lstrip("/").split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return datetime.fromisoformat(value).tzinfo is not None  # raises on garbage


def _date(value: object) -> bool:
    return not isinstance(value, str) or bool(date.fromisoformat(value))


class Oas:
    """Validates bodies against `<file>#<pointer>` in Zoho's OAS."""

    def __init__(self, folder: Path) -> None:
        docs = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}
        for doc in docs.values():
            _nullable(doc)
        for file, pointer, edit, _why in RELAXED:
            edit(_resolve(docs[file], pointer))
        self.docs = docs
        self.registry: Registry[Any] = Registry().with_resources(
            (BASE + name, Resource.from_contents(doc, default_specification=DRAFT202012))
            for name, doc in docs.items()
        )
        self.formats = FormatChecker()
        self.formats.checks("date-time", raises=ValueError)(_date_time)
        self.formats.checks("date", raises=ValueError)(_date)

    def check(self, body: Any, file: str, pointer: str, loose: str | None = None) -> None:
        """Validate; `loose` names a schema (in `file`) whose `required` list is ignored."""
        registry = self.registry
        if loose is not None:
            doc = copy.deepcopy(self.docs[file])
            _resolve(doc, loose).pop("required", None)
            variant = Resource.from_contents(doc, default_specification=DRAFT202012)
            registry = self._with(file, variant)
        schema = {"$ref": BASE + file + "#" + quote(pointer, safe="/~")}
        validator = Draft202012Validator(schema, registry=registry, format_checker=self.formats)
        failures = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        assert not failures, "\n".join(
            f"{list(e.absolute_path)}: {e.message[:300]}" for e in failures[:10]
        )

    def _with(self, file: str, variant: Resource[Any]) -> Registry[Any]:
        resources = [
            (BASE + name, variant if name == file else Resource.from_contents(doc, DRAFT202012))
            for name, doc in self.docs.items()
        ]
        return Registry().with_resources(resources)


@pytest.fixture(scope="session")
def oas() -> Oas:
    if not OAS_DIR.is_dir():
        pytest.skip(f"Zoho's OpenAPI files are not at {OAS_DIR} (CI provides ../shared/zoho-oas)")
    return Oas(OAS_DIR)


SCHEMA = "/components/schemas/"
RECORDS = "/paths/~1crm~1v8~1{module_api_name}"
BY_ID = "/paths/~1crm~1v8~1{module_api_name}~1{id}"
WRITE = "/responses/200/content/application~1json/schema/oneOf/0"


def _json(r: httpx.Response, status: int) -> Any:
    assert r.status_code == status, r.text
    return r.json()


# -- records -----------------------------------------------------------------------------------


def test_list_get_search(oas: Oas, crm: Crm) -> None:
    listed = _json(crm.http.get("Leads", params={"fields": "Last_Name,Email", "per_page": 3}), 200)
    oas.check(listed, "record.json", SCHEMA + "Response_Wrapper")
    last = crm.http.get("Leads", params={"fields": "Last_Name", "page": 2, "per_page": 20})
    oas.check(_json(last, 200), "record.json", SCHEMA + "Response_Wrapper")
    some = listed["data"][0]["id"]
    for module in ("Leads", "Contacts", "Accounts", "Deals"):
        body = _json(crm.http.get(module, params={"fields": "Owner", "per_page": 1}), 200)
        full = _json(crm.http.get(f"{module}/{body['data'][0]['id']}"), 200)
        oas.check(full, "record.json", SCHEMA + "Response_Wrapper")
    oas.check(_json(crm.http.get(f"Leads/{some}"), 200), "record.json", SCHEMA + "Response_Wrapper")
    found = _json(crm.http.get("Leads/search", params={"word": "a"}), 200)
    oas.check(found, "record.json", SCHEMA + "Response_Wrapper")


def test_writes(oas: Oas, crm: Crm) -> None:
    created = crm.http.post(
        "Leads",
        json={
            "data": [
                {"Last_Name": "Oas", "Email": "oas@example.com"},
                {"First_Name": "no last name"},
                {"Last_Name": "x", "No_of_Employees": "many"},
                {"Last_Name": "x", "First_Name": "y" * 41},
            ]
        },
    )
    body = _json(created, 207)
    oas.check(body, "record.json", RECORDS + "/post" + WRITE)
    missing, wrong_type, too_long = body["data"][1:]
    oas.check(missing, "common.json", SCHEMA + "MandatoryError")
    # common.json's InvalidTypeError.details is a oneOf of two schemas both match: check each part.
    oas.check(wrong_type, "record.json", SCHEMA + "API_Exception")
    oas.check(wrong_type["details"], "common.json", SCHEMA + "InvalidType")
    oas.check(too_long, "common.json", SCHEMA + "MaxLengthError")
    new_id = body["data"][0]["details"]["id"]
    dup = crm.http.post(
        "Leads",
        json={
            "data": [{"Last_Name": "Oas", "Email": "oas@example.com"}],
            "duplicate_check_fields": ["Email"],
        },
    )
    oas.check(_json(dup, 400), "record.json", RECORDS + "/post" + WRITE)
    oas.check(dup.json()["data"][0], "common.json", SCHEMA + "DuplicateError")
    updated = crm.http.put("Leads", json={"data": [{"id": new_id, "City": "Pune"}, {"id": "1"}]})
    oas.check(_json(updated, 207), "record.json", RECORDS + "/put" + WRITE)
    one = crm.http.put(f"Leads/{new_id}", json={"data": [{"City": "Goa"}]})
    oas.check(_json(one, 200), "record.json", BY_ID + "/put" + WRITE)
    upsert = "/paths/~1crm~1v8~1{module_api_name}~1upsert/post" + WRITE
    for _ in range(2):  # insert, then update
        up = crm.http.post(
            "Leads/upsert", json={"data": [{"Last_Name": "U", "Email": "u@example.com"}]}
        )
        oas.check(up.json(), "record.json", upsert)
    deleted = crm.http.delete("Leads", params={"ids": f"{new_id},1"})
    oas.check(_json(deleted, 207), "record.json", RECORDS + "/delete" + WRITE)
    other = crm.http.get("Leads", params={"fields": "Last_Name", "per_page": 1}).json()["data"][0]
    gone = crm.http.delete(f"Leads/{other['id']}")
    oas.check(_json(gone, 200), "record.json", BY_ID + "/delete" + WRITE)
    count = "/paths/~1crm~1v8~1{module_api_name}~1actions~1count/get" + WRITE
    oas.check(_json(crm.http.get("Leads/actions/count"), 200), "record.json", count)


# -- users, org, metadata ----------------------------------------------------------------------


def test_users(oas: Oas, crm: Crm) -> None:
    for kind in ("CurrentUser", "AllUsers", "AdminUsers"):
        body = _json(crm.http.get("users", params={"type": kind}), 200)
        oas.check(body, "users.json", SCHEMA + "Response_Wrapper")


def test_org(oas: Oas, crm_for: Callable[..., Crm]) -> None:
    for email in ("ava@zylker.com", "clara@brightwave.eu"):
        body = _json(crm_for(email).http.get("org"), 200)
        oas.check(body, "org.json", SCHEMA + "Response_Wrapper")


def test_settings_modules(oas: Oas, crm: Crm) -> None:
    # The list is a summary: modules.json's ~60 required keys (fields, layouts, related lists,
    # custom_view, ...) come only with `settings/modules/{api_name}`, as at Zoho. The types of
    # the keys the list has are still checked.
    listed = _json(crm.http.get("settings/modules"), 200)
    oas.check(listed, "modules.json", SCHEMA + "Response_Wrapper", loose=SCHEMA + "modules")
    for module in ("Leads", "Contacts", "Accounts", "Deals"):
        one = _json(crm.http.get(f"settings/modules/{module}"), 200)
        oas.check(one, "modules.json", SCHEMA + "Response_Wrapper")


def test_settings_fields(oas: Oas, crm: Crm) -> None:
    for module in ("Leads", "Contacts", "Accounts", "Deals"):
        body = _json(crm.http.get("settings/fields", params={"module": module}), 200)
        oas.check(body, "fields.json", SCHEMA + "Response_Wrapper")


# -- error envelopes ---------------------------------------------------------------------------


def test_request_errors(oas: Oas, crm: Crm, crm_for: Callable[..., Crm]) -> None:
    record_error = ("record.json", SCHEMA + "API_Exception")
    cases: list[tuple[httpx.Response, int, tuple[str, str]]] = [
        (
            httpx.get(crm.base + "org", headers={"Authorization": "Zoho-oauthtoken x"}),
            401,
            record_error,
        ),
        (httpx.get(crm.base + "org"), 401, record_error),
        (crm.http.get("Leads"), 400, record_error),
        (crm.http.get("Leads", params={"fields": "a," * 51}), 400, record_error),
        (crm.http.get("Leads/1"), 400, ("common.json", SCHEMA + "InvalidUrlError")),
        (
            crm.http.get("Nope", params={"fields": "a"}),
            400,
            ("common.json", SCHEMA + "InvalidUrlError"),
        ),
        (crm.http.get("a/b/c/d"), 404, record_error),
        (crm.http.patch("Leads"), 405, record_error),
        (crm.http.post("Leads", content=b"{"), 400, record_error),
        (crm.http.get("Leads/search", params={"criteria": "(x"}), 400, record_error),
        (crm.http.get("settings/fields"), 400, ("fields.json", SCHEMA + "MandatoryParamError")),
    ]
    for response, status, (file, pointer) in cases:
        body = _json(response, status)
        oas.check(body, "common.json", SCHEMA + "API_Exception")
        oas.check(body, file, pointer)
    # The observed scope-mismatch message (docs/zoho-reference.md §6.5) is not among
    # record.json's enum of messages, so only the envelope is checked.
    scoped = crm_for(scope="ZohoCRM.org.READ").http.get("Leads", params={"fields": "Last_Name"})
    oas.check(_json(scoped, 401), "common.json", SCHEMA + "API_Exception")
