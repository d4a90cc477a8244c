"""The official Zoho SDK's token stores, read (pure: text and tuples in, rows and decisions out).

Formats (docs/zoho-reference.md §10):

- FileStore CSV: header `id,user_name,client_id,client_secret,refresh_token,access_token,
  grant_token,expiry_time,redirect_uri,api_domain`; older files have the first 9 columns only.
- DBStore (MySQL) table `oauthtoken`: the same columns, `redirect_url` instead of `redirect_uri`.

`user_name` is `"<email>:<org zgid>"` (what the SDK stores after identifying the user), a bare
email (an app's own `UserSignature`), or empty. `expiry_time` is epoch milliseconds as text.

`plan_row` decides, without I/O, whether a row can be imported and how: which data center
(from `api_domain` through the registry — the allow-list — or `--dc` for old files), whether
the stored access token may still identify the user, and which client secret, if any, may be
used to refresh it (the secret policy is documented in `ImportPolicy`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..datacenters import DataCenterRegistry
from ..errors import SDKFormatError

CSV_COLUMNS = (
    "id",
    "user_name",
    "client_id",
    "client_secret",
    "refresh_token",
    "access_token",
    "grant_token",
    "expiry_time",
    "redirect_uri",
    "api_domain",
)
OLD_CSV_COLUMNS = CSV_COLUMNS[:9]
#: The DB store's table as the SDK's README creates it (note `redirect_url`); `{table}` is its
#: name (the SDK's default is `oauthtoken`).
DB_TABLE_DDL = """CREATE TABLE {table} (
  id varchar(10) NOT NULL,
  user_name varchar(255),
  client_id varchar(255),
  client_secret varchar(255),
  refresh_token varchar(255),
  access_token varchar(255),
  grant_token varchar(255),
  expiry_time varchar(20),
  redirect_url varchar(255),
  api_domain varchar(255),
  primary key (id)
)"""
DB_COLUMNS = tuple("redirect_url" if c == "redirect_uri" else c for c in CSV_COLUMNS)
#: An access token this close to expiry is not worth an identity call: refresh instead.
MIN_VALIDITY = 60.0


@dataclass(frozen=True, slots=True)
class SDKRow:
    """One token record of the official SDK. `line` is where it is (CSV line, table row)."""

    line: int
    id: str
    user_name: str
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_token: str = field(repr=False)
    grant_token: str = field(repr=False)
    expiry_time: str
    redirect_uri: str
    api_domain: str

    @property
    def email(self) -> str:
        return self.user_name.rpartition(":")[0] if self.org_id else self.user_name

    @property
    def org_id(self) -> str:
        """The zgid in `email:zgid`, or "" when the user name carries none."""
        head, sep, tail = self.user_name.rpartition(":")
        return tail if sep and head and tail.isdigit() else ""

    @property
    def label(self) -> str:
        """How reports name the row: its user name, else its SDK id."""
        return self.user_name or f"id {self.id or '?'}"

    def expires_at(self) -> float | None:
        """The access token's expiry in epoch seconds, or None if unknown or unreadable."""
        try:
            return int(self.expiry_time.strip()) / 1000.0
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class RowResult:
    """What the import did with one row. `outcome` is one of OUTCOMES."""

    line: int
    label: str
    outcome: str
    detail: str = ""
    dc: str = ""
    connection_id: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in ("imported", "updated", "unchanged")


OUTCOMES = ("imported", "updated", "unchanged", "skipped", "failed")


def _row(line: int, values: Sequence[str | None]) -> SDKRow:
    v = [(x or "").strip() for x in values]
    return SDKRow(line, *v[:10])


def parse_csv(text: str) -> tuple[list[SDKRow], list[RowResult]]:
    """Rows of a FileStore CSV, and results for lines that are not rows (wrong column count).

    SDKFormatError if the header is not the SDK's (10 columns, or the older 9).
    """
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise SDKFormatError("the file is empty; expected the official SDK's token CSV") from None
    except csv.Error as exc:
        raise SDKFormatError(f"the file is not CSV ({exc})") from None
    if tuple(header) == CSV_COLUMNS:
        width = 10
    elif tuple(header) == OLD_CSV_COLUMNS:
        width = 9
    else:
        shown = ",".join(header)[:120]
        raise SDKFormatError(
            f"the first line is not the official SDK's header (got {shown!r}; expected "
            f"{','.join(CSV_COLUMNS)!r} or its older 9-column form)"
        )
    rows: list[SDKRow] = []
    problems: list[RowResult] = []
    try:
        for values in reader:
            line = reader.line_num
            if not values or all(not v.strip() for v in values):
                continue  # the SDK skips blank lines too
            if len(values) not in (width, 10):  # a 9-column file may have newer rows
                label = values[1] if len(values) > 1 and values[1] else f"line {line}"
                problems.append(
                    RowResult(line, label, "skipped", f"has {len(values)} columns, not {width}")
                )
                continue
            rows.append(_row(line, [*values, ""] if len(values) == 9 else values))
    except csv.Error as exc:
        raise SDKFormatError(f"line {reader.line_num} is not valid CSV ({exc})") from None
    return rows, problems


def rows_from_db(records: Iterable[Sequence[str | None]]) -> list[SDKRow]:
    """Rows of a DBStore table, selected in DB_COLUMNS order (api_domain may be NULL)."""
    return [_row(n, list(rec)) for n, rec in enumerate(records, start=1)]


@dataclass(frozen=True, slots=True)
class ImportPolicy:
    """Which client secret may refresh an imported row's token (in memory, for that one refresh).

    zohoauth never stores a client secret. The SDK rows carry theirs in plaintext; the import
    uses one only when the row's access token can no longer identify the user:

    - rows of `client_id` (ZOHOAUTH_CLIENT_ID): `client_secret` if set, else the row's own;
    - rows of any other client: the row's own secret, only with `use_row_secrets`
      (`--use-row-secrets`); otherwise such a row is reported, not refreshed.
    """

    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    use_row_secrets: bool = False
    dc: str | None = None  # for rows without api_domain (older 9-column files)
    #: Per-DC secrets of `client_id` (ZOHOAUTH_CLIENT_SECRETS): a DC's own wins over the common.
    client_secrets: Mapping[str, str] = field(default_factory=dict, repr=False, hash=False)

    def secret_for(self, row: SDKRow, dc: str = "") -> str | None:
        if self.client_id and row.client_id == self.client_id:
            own = self.client_secrets.get(dc) if dc else None
            return own or self.client_secret or row.client_secret or None
        if self.use_row_secrets:
            return row.client_secret or None
        return None


@dataclass(frozen=True, slots=True)
class RowPlan:
    """A row that can be imported: its DC, and how to get a working access token."""

    row: SDKRow
    dc: str
    api_domain: str
    access_usable: bool  # the stored access token should still identify the user
    secret: str | None = field(repr=False)  # may refresh with this; None: may not
    dc_from_option: bool = False  # the row had no api_domain; --dc named the DC


def plan_row(
    row: SDKRow, registry: DataCenterRegistry, policy: ImportPolicy, now: float
) -> RowPlan | RowResult:
    """How to import `row`, or why it can't be (pure)."""

    def skip(detail: str) -> RowResult:
        return RowResult(row.line, row.label, "skipped", detail)

    if not row.refresh_token:
        if row.grant_token:
            return skip("grant token only; log in instead")
        return skip("no refresh token; log in instead")
    if not row.client_id:
        return skip("no client_id")
    if row.api_domain:
        dc = registry.dc_of_api_domain(row.api_domain)
        if dc is None:
            return skip(
                f"api_domain {row.api_domain[:80]} is not an API host of any known data center"
            )
        dc_code, api_domain = dc.code, row.api_domain.rstrip("/")
    elif policy.dc:
        dc_code, api_domain = policy.dc, registry.get(policy.dc).api_domain
    else:
        return skip("no api_domain (older 9-column file): pass --dc to name the data center")
    expires = row.expires_at()
    usable = bool(row.access_token) and expires is not None and expires > now + MIN_VALIDITY
    secret = policy.secret_for(row, dc_code)
    if not usable and secret is None:
        return skip(
            "the access token has expired and refreshing it needs the client secret: set "
            "ZOHOAUTH_CLIENT_ID to this row's client, or pass --use-row-secrets"
        )
    return RowPlan(row, dc_code, api_domain, usable, secret, not row.api_domain)


__all__ = [
    "CSV_COLUMNS",
    "DB_COLUMNS",
    "OLD_CSV_COLUMNS",
    "OUTCOMES",
    "ImportPolicy",
    "RowPlan",
    "RowResult",
    "SDKRow",
    "parse_csv",
    "plan_row",
    "rows_from_db",
]
