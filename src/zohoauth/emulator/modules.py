"""The CRM modules the emulator serves and their fields (what `settings/fields` describes).

Field metadata follows Zoho's `fields.json` OpenAPI shape; `json_type` matters most: the official
SDK converts every value a record carries by it, so each field a record can hold is listed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final


@dataclass(frozen=True, slots=True)
class FieldDef:
    api_name: str
    label: str
    data_type: str  # text, email, phone, picklist, lookup, ownerlookup, datetime, date, ...
    json_type: str  # string, jsonobject, jsonarray, integer, double, boolean
    required: bool = False  # system_mandatory: create without it -> MANDATORY_NOT_FOUND
    read_only: bool = False
    length: int = 255
    picklist: tuple[str, ...] = ()
    lookup_module: str | None = None


@dataclass(frozen=True, slots=True)
class ModuleDef:
    api_name: str
    module_name: str
    singular_label: str
    plural_label: str
    id: str
    fields: tuple[FieldDef, ...]
    # The field whose value names a record in lookups (`{"name": ..., "id": ...}`).
    display_field: str = "id"
    # What upsert matches on when the body names no `duplicate_check_fields`: the module's
    # system-defined unique fields at Zoho (Email for Leads/Contacts, names otherwise) [?].
    duplicate_check: tuple[str, ...] = ()
    by_name: dict[str, FieldDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.api_name: f for f in self.fields})

    def field(self, api_name: str) -> FieldDef | None:
        return self.by_name.get(api_name)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.api_name for f in self.fields if f.required)


def _t(
    name: str, label: str, data_type: str = "text", json_type: str = "string", **kw: Any
) -> FieldDef:
    return FieldDef(name, label, data_type, json_type, **kw)


_SYSTEM: Final = (
    FieldDef("id", "Record Id", "bigint", "string", read_only=True),
    FieldDef("Owner", "Owner", "ownerlookup", "jsonobject"),
    FieldDef("Created_Time", "Created Time", "datetime", "string", read_only=True),
    FieldDef("Modified_Time", "Modified Time", "datetime", "string", read_only=True),
    FieldDef("Created_By", "Created By", "ownerlookup", "jsonobject", read_only=True),
    FieldDef("Modified_By", "Modified By", "ownerlookup", "jsonobject", read_only=True),
)

_LEAD_STATUS = (
    "Not Contacted",
    "Attempted to Contact",
    "Contact in Future",
    "Contacted",
    "Junk Lead",
    "Lost Lead",
    "Pre-Qualified",
)
_SOURCE = (
    "Advertisement",
    "Cold Call",
    "Employee Referral",
    "Online Store",
    "Partner",
    "Web Download",
    "Trade Show",
)
_INDUSTRY = ("Technology", "Manufacturing", "Healthcare", "Finance", "Retail", "Education")
_STAGE = (
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)

MODULES: Final[dict[str, ModuleDef]] = {
    "Leads": ModuleDef(
        "Leads",
        "Leads",
        "Lead",
        "Leads",
        "5725767000000002175",
        (
            *_SYSTEM,
            _t("First_Name", "First Name", length=40),
            _t("Last_Name", "Last Name", required=True, length=80),
            _t("Email", "Email", data_type="email", length=100),
            _t("Company", "Company", length=200),
            _t("Phone", "Phone", data_type="phone", length=30),
            _t("Mobile", "Mobile", data_type="phone", length=30),
            _t("Designation", "Title", length=100),
            _t("Lead_Status", "Lead Status", data_type="picklist", picklist=_LEAD_STATUS),
            _t("Lead_Source", "Lead Source", data_type="picklist", picklist=_SOURCE),
            _t("Industry", "Industry", data_type="picklist", picklist=_INDUSTRY),
            _t("Annual_Revenue", "Annual Revenue", data_type="currency", json_type="double"),
            _t("No_of_Employees", "No. of Employees", data_type="integer", json_type="integer"),
            _t("City", "City", length=100),
            _t("Country", "Country", length=100),
            _t("Description", "Description", data_type="textarea", length=32000),
            _t("Email_Opt_Out", "Email Opt Out", data_type="boolean", json_type="boolean"),
        ),
        display_field="Last_Name",
        duplicate_check=("Email",),
    ),
    "Contacts": ModuleDef(
        "Contacts",
        "Contacts",
        "Contact",
        "Contacts",
        "5725767000000002179",
        (
            *_SYSTEM,
            _t("First_Name", "First Name", length=40),
            _t("Last_Name", "Last Name", required=True, length=80),
            _t("Email", "Email", data_type="email", length=100),
            _t("Phone", "Phone", data_type="phone", length=30),
            _t("Mobile", "Mobile", data_type="phone", length=30),
            _t("Title", "Title", length=100),
            _t("Department", "Department", length=100),
            _t(
                "Account_Name",
                "Account Name",
                data_type="lookup",
                json_type="jsonobject",
                lookup_module="Accounts",
            ),
            _t("Lead_Source", "Lead Source", data_type="picklist", picklist=_SOURCE),
            _t("Mailing_City", "Mailing City", length=100),
            _t("Mailing_Country", "Mailing Country", length=100),
            _t("Date_of_Birth", "Date of Birth", data_type="date"),
            _t("Description", "Description", data_type="textarea", length=32000),
        ),
        display_field="Last_Name",
        duplicate_check=("Email",),
    ),
    "Accounts": ModuleDef(
        "Accounts",
        "Accounts",
        "Account",
        "Accounts",
        "5725767000000002177",
        (
            *_SYSTEM,
            _t("Account_Name", "Account Name", required=True, length=200),
            _t("Website", "Website", data_type="website", length=255),
            _t("Phone", "Phone", data_type="phone", length=30),
            _t("Industry", "Industry", data_type="picklist", picklist=_INDUSTRY),
            _t(
                "Account_Type",
                "Account Type",
                data_type="picklist",
                picklist=("Analyst", "Competitor", "Customer", "Investor", "Partner", "Prospect"),
            ),
            _t("Annual_Revenue", "Annual Revenue", data_type="currency", json_type="double"),
            _t("Employees", "Employees", data_type="integer", json_type="integer"),
            _t("Billing_City", "Billing City", length=100),
            _t("Billing_Country", "Billing Country", length=100),
            _t("Description", "Description", data_type="textarea", length=32000),
        ),
        display_field="Account_Name",
        duplicate_check=("Account_Name",),
    ),
    "Deals": ModuleDef(
        "Deals",
        "Deals",
        "Deal",
        "Deals",
        "5725767000000002181",
        (
            *_SYSTEM,
            _t("Deal_Name", "Deal Name", required=True, length=120),
            _t("Stage", "Stage", data_type="picklist", required=True, picklist=_STAGE),
            _t("Amount", "Amount", data_type="currency", json_type="double"),
            _t("Closing_Date", "Closing Date", data_type="date"),
            _t("Probability", "Probability (%)", data_type="integer", json_type="integer"),
            _t(
                "Account_Name",
                "Account Name",
                data_type="lookup",
                json_type="jsonobject",
                lookup_module="Accounts",
            ),
            _t(
                "Type", "Type", data_type="picklist", picklist=("New Business", "Existing Business")
            ),
            _t("Lead_Source", "Lead Source", data_type="picklist", picklist=_SOURCE),
            _t("Description", "Description", data_type="textarea", length=32000),
        ),
        display_field="Deal_Name",
        duplicate_check=("Deal_Name",),
    ),
}
