"""Module metadata in Zoho's shape (the bodies of `GET settings/modules[/{api_name}]`), built
once from `modules.py` and `fields_metadata.py`; `settings.py` serves it.

Keys follow `modules.json` (which marks ~60 of them required) and Zoho's samples; only the four
API-supported modules the emulator stores records for are listed. Static, so precomputed.
"""

from __future__ import annotations

from typing import Any, Final

from ..modules import MODULES, ModuleDef
from .fields_metadata import FIELDS, field_id

_SYSTEM_USER: Final = {"name": "System", "id": "5725767000000000001"}
_PROFILES: Final = [
    {"name": "Administrator", "id": "5725767000000026011"},
    {"name": "Standard", "id": "5725767000000026014"},
]


def _custom_view(module: ModuleDef) -> dict[str, Any]:
    """The module's default "All" view, in `custom_views.json`'s shape."""
    owner = {**_SYSTEM_USER, "first_name": None, "last_name": "System"}
    return {
        "display_value": f"All {module.plural_label}",
        "system_name": f"ALLVIEWS{module.api_name.upper()}",
        "category": "public_views",
        "created_time": None,
        "modified_time": None,
        "last_accessed_time": None,
        "name": f"All {module.plural_label}",
        "created_by": owner,
        "modified_by": owner,
        "module": {
            "name": module.api_name,
            "id": module.id,
            "first_name": None,
            "last_name": None,
        },
        "criteria": None,
        "default": True,
        "system_defined": True,
        "locked": False,
        "favorite": None,
        "offline": True,
        "access_type": "public",
        "shared_to": [],
        "fields": [],
        "sort_by": None,
        "sort_order": None,
        "id": str(int(module.id) + 7),
    }


def summary(module: ModuleDef, sequence: int) -> dict[str, Any]:
    """A module as `GET settings/modules` lists it (the keys of Zoho's list sample)."""
    return {
        "has_more_profiles": False,
        "sub_menu_available": True,
        "common.search_supported": True,
        "global_search_supported": True,
        "deletable": False,
        "description": None,
        "creatable": True,
        "recycle_bin_on_delete": True,
        "inventory_template_supported": False,
        "modified_time": None,
        "plural_label": module.plural_label,
        "presence_sub_menu": True,
        "triggers_supported": True,
        "id": module.id,
        "chart_view": False,
        "isBlueprintSupported": True,
        "visibility": 1,
        "visible": True,
        "convertable": module.api_name == "Leads",
        "editable": True,
        "emailTemplate_support": True,
        "email_parser_supported": True,
        "filter_supported": True,
        "show_as_tab": True,
        "web_link": None,
        "sequence_number": sequence,
        "singular_label": module.singular_label,
        "viewable": True,
        "api_supported": True,
        "api_name": module.api_name,
        "quick_create": True,
        "generated_type": "default",
        "feeds_required": False,
        "scoring_supported": True,
        "webform_supported": True,
        "arguments": [],
        "module_name": module.module_name,
        "chart_view_supported": True,
        "profile_count": len(_PROFILES),
        "business_card_field_limit": 5,
        "track_current_data": True,
        "modified_by": _SYSTEM_USER,
        "profiles": _PROFILES,
        "parent_module": {},
        "activity_badge": "Enabled",
        "per_page": 200,
        "kanban_view_supported": True,
        "kanban_view": False,
        "filter_status": True,
        "zia_view": False,
        "status": "visible",
    }


def detail(module: ModuleDef, sequence: int) -> dict[str, Any]:
    """A module as `GET settings/modules/{api_name}` returns it: the summary plus its fields,
    layouts, default view and the other keys `modules.json` requires."""
    display = module.field(module.display_field)
    display_index = module.fields.index(display) if display is not None else 0
    minified_display = {"api_name": module.display_field, "id": field_id(module, display_index)}
    return {
        **summary(module, sequence),
        "$field_states": [],
        "business_card_fields": [],
        "$properties": [],
        "$on_demand_properties": [],
        "search_layout_fields": [module.display_field],
        "lookup_field_properties": {"fields": []},
        "related_lists": [],
        "related_list_properties": {
            "sort_by": minified_display,
            "fields": [module.display_field],
            "sort_order": "asc",
        },
        "display_field": minified_display,
        "layouts": [{"id": "5725767000000091055", "name": "Standard", "api_name": "Standard__s"}],
        "fields": FIELDS[module.api_name],
        "custom_view": _custom_view(module),
        "default_mapping_fields": [],
        "static_subform_properties": {"fields": []},
        "layout_associations": [],
    }


#: `settings/modules` list entries and single-module bodies, per api_name, in tab order.
SUMMARIES: Final[dict[str, dict[str, Any]]] = {
    name: summary(module, n + 1) for n, (name, module) in enumerate(MODULES.items())
}
DETAILS: Final[dict[str, dict[str, Any]]] = {
    name: detail(module, n + 1) for n, (name, module) in enumerate(MODULES.items())
}
