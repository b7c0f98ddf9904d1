"""Assets use cases. Other domains (cases) call these; the functions live in modules by capability."""

from zhili.assets.service.exporting import export_components
from zhili.assets.service.importing import ImportReport, import_components
from zhili.assets.service.inventory import (
    apply_case_outcome,
    change_component,
    end_of_day,
    find_component,
    history,
    list_components,
    read_component,
    register_component,
    streets_of,
)
from zhili.assets.service.mapview import class_layers, viewport

__all__ = [
    "ImportReport",
    "apply_case_outcome",
    "change_component",
    "class_layers",
    "end_of_day",
    "export_components",
    "find_component",
    "history",
    "import_components",
    "list_components",
    "read_component",
    "register_component",
    "streets_of",
    "viewport",
]
