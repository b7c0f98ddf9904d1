"""The evaluation's (综合评价) result row, the indicators' names, and the weighted composite score."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

GroupBy = Literal["street", "department", "post", "inspector"]
GROUPINGS: tuple[GroupBy, ...] = ("street", "department", "post", "inspector")
Kind = Literal["text", "count", "rate", "hours", "score"]


@dataclass
class IndicatorRow:
    """One evaluated object (a street, a department, a post holder, an inspector) over one period.

    Counts are int; rates are fractions 0..1 (None when the denominator is 0 or the indicator does
    not apply to the grouping); average times are wall-clock hours. docs/evaluation.md has the formulas.
    """

    group_by: str
    key: str
    name: str
    post: str | None = None  # post grouping: "operator" (受理/立案) or "dispatcher" (派遣)
    reported: int | None = None  # 上报数
    valid_reported: int | None = None  # 有效上报数
    valid_report_rate: float | None = None  # 有效上报率
    self_handled: int | None = None  # 自行处置数
    registered: int | None = None  # 立案数
    not_accepted: int | None = None  # 不予立案数
    register_rate: float | None = None  # 立案率
    on_time_registered: int | None = None  # 按时立案数
    on_time_register_rate: float | None = None  # 按时立案率
    dispatched: int | None = None  # 派遣数
    on_time_dispatch_rate: float | None = None  # 按时派遣率
    returned: int | None = None  # 回退数
    return_rate: float | None = None  # 回退率
    accurate_dispatch_rate: float | None = None  # 准确派遣率
    to_handle: int | None = None  # 应处置数
    handled: int | None = None  # 处置数
    handle_rate: float | None = None  # 处置率
    on_time_handled: int | None = None  # 按期处置数
    on_time_handle_rate: float | None = None  # 按期处置率
    to_close: int | None = None  # 应结案数
    closed: int | None = None  # 结案数
    close_rate: float | None = None  # 结案率
    on_time_closed: int | None = None  # 按期结案数
    on_time_close_rate: float | None = None  # 按期结案率
    reworked: int | None = None  # 返工数
    rework_rate: float | None = None  # 返工率
    extended: int | None = None  # 延期数
    extension_rate: float | None = None  # 延期率
    suspended: int | None = None  # 挂账数
    overdue: int | None = None  # 超期数 (approved appeals left out)
    overdue_raw: int | None = None  # 超期事实数 (approved appeals included: the raw fact)
    appeal_exempt: int | None = None  # 申诉豁免数
    verified: int | None = None  # 核实数
    on_time_verify_rate: float | None = None  # 按时核实率
    checked: int | None = None  # 核查数
    on_time_check_rate: float | None = None  # 按时核查率
    avg_accept_hours: float | None = None  # 平均签收时长
    avg_handle_hours: float | None = None  # 平均处置时长
    avg_close_hours: float | None = None  # 平均结案时长
    score: float | None = None  # 综合指标值, 0..100

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# (field, English msgid, Chinese name, kind), in table order. The page translates the msgid; the
# Excel export writes the Chinese name (the bureau's own words) whatever the reader's language.
COLUMNS: tuple[tuple[str, str, str, Kind], ...] = (
    ("name", "Evaluated object", "名称", "text"),
    ("score", "Composite score", "综合指标值", "score"),
    ("reported", "Reports", "上报数", "count"),
    ("valid_reported", "Valid reports", "有效上报数", "count"),
    ("valid_report_rate", "Valid report rate", "有效上报率", "rate"),
    ("self_handled", "Self-handled cases", "自行处置数", "count"),
    ("registered", "Registered", "立案数", "count"),
    ("not_accepted", "Not accepted cases", "不予立案数", "count"),
    ("register_rate", "Register rate", "立案率", "rate"),
    ("on_time_registered", "Registered on time", "按时立案数", "count"),
    ("on_time_register_rate", "On-time register rate", "按时立案率", "rate"),
    ("dispatched", "Dispatched", "派遣数", "count"),
    ("on_time_dispatch_rate", "On-time dispatch rate", "按时派遣率", "rate"),
    ("returned", "Returned", "回退数", "count"),
    ("return_rate", "Return rate", "回退率", "rate"),
    ("accurate_dispatch_rate", "Accurate dispatch rate", "准确派遣率", "rate"),
    ("to_handle", "Cases to handle", "应处置数", "count"),
    ("handled", "Handled", "处置数", "count"),
    ("handle_rate", "Handle rate", "处置率", "rate"),
    ("on_time_handled", "Handled on time", "按期处置数", "count"),
    ("on_time_handle_rate", "On-time handle rate", "按期处置率", "rate"),
    ("to_close", "Cases to close", "应结案数", "count"),
    ("closed", "Closed cases", "结案数", "count"),
    ("close_rate", "Close rate", "结案率", "rate"),
    ("on_time_closed", "Closed on time", "按期结案数", "count"),
    ("on_time_close_rate", "On-time close rate", "按期结案率", "rate"),
    ("reworked", "Reworked", "返工数", "count"),
    ("rework_rate", "Rework rate", "返工率", "rate"),
    ("extended", "Extended", "延期数", "count"),
    ("extension_rate", "Extension rate", "延期率", "rate"),
    ("suspended", "Suspended cases", "挂账数", "count"),
    ("overdue", "Overdue cases", "超期数", "count"),
    ("overdue_raw", "Overdue incl. exempt", "超期数（含申诉豁免）", "count"),
    ("appeal_exempt", "Appeal-exempt", "申诉豁免数", "count"),
    ("verified", "Verified", "核实数", "count"),
    ("on_time_verify_rate", "On-time verify rate", "按时核实率", "rate"),
    ("checked", "Checked cases", "核查数", "count"),
    ("on_time_check_rate", "On-time check rate", "按时核查率", "rate"),
    ("avg_accept_hours", "Avg. accept time (h)", "平均签收时长（小时）", "hours"),
    ("avg_handle_hours", "Avg. handle time (h)", "平均处置时长（小时）", "hours"),
    ("avg_close_hours", "Avg. close time (h)", "平均结案时长（小时）", "hours"),
)
_FIELD_NAMES = {f.name for f in fields(IndicatorRow)}
if not all(c[0] in _FIELD_NAMES for c in COLUMNS):  # a typo in the table must fail at import
    raise RuntimeError("evaluation COLUMNS name a field IndicatorRow lacks")

GROUPING_LABELS: dict[str, tuple[str, str]] = {  # English msgid, Chinese name
    "street": ("By street", "按街道"),
    "department": ("By department", "按部门"),
    "post": ("By post", "按岗位"),
    "inspector": ("By inspector", "按监督员"),
}
POST_LABELS: dict[str, tuple[str, str]] = {
    "operator": ("Operator (register)", "受理员（立案）"),
    "dispatcher": ("Dispatcher", "派遣员"),
}

# Indicators where less is better: they enter the composite score as (1 − rate).
LOWER_IS_BETTER = frozenset({"return_rate", "rework_rate", "extension_rate"})
RATE_FIELDS = frozenset(c[0] for c in COLUMNS if c[3] == "rate")

# The default weights of the composite score (综合指标值) per grouping. Local practice differs
# (the domain note marks them as local), so a site sets ZHILI_EVALUATION_WEIGHTS as JSON.
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    "street": {
        "on_time_close_rate": 0.25,
        "close_rate": 0.15,
        "on_time_handle_rate": 0.20,
        "handle_rate": 0.10,
        "on_time_register_rate": 0.10,
        "valid_report_rate": 0.10,
        "rework_rate": 0.10,
    },
    "department": {
        "on_time_handle_rate": 0.30,
        "handle_rate": 0.15,
        "on_time_close_rate": 0.25,
        "close_rate": 0.10,
        "rework_rate": 0.10,
        "return_rate": 0.05,
        "extension_rate": 0.05,
    },
    "post": {"on_time_register_rate": 0.5, "accurate_dispatch_rate": 0.3, "on_time_dispatch_rate": 0.2},
    "inspector": {"valid_report_rate": 0.4, "on_time_verify_rate": 0.3, "on_time_check_rate": 0.3},
}


class EvaluationSettings(BaseSettings):
    """Site rules of the evaluation (prefix ZHILI_EVALUATION_)."""

    model_config = SettingsConfigDict(
        env_prefix="ZHILI_EVALUATION_", env_file=None, extra="ignore", frozen=True
    )

    # {grouping: {rate field: weight}}; a grouping left out keeps its default weights.
    weights: dict[str, dict[str, float]] = Field(default_factory=dict)

    def weights_for(self, group_by: str) -> dict[str, float]:
        chosen = self.weights.get(group_by, DEFAULT_WEIGHTS[group_by])
        unknown = set(chosen) - RATE_FIELDS
        if unknown:
            raise ValueError(f"evaluation weights name unknown rates: {sorted(unknown)}")
        return chosen


@lru_cache(maxsize=1)
def evaluation_settings() -> EvaluationSettings:
    return EvaluationSettings()


def composite_score(row: IndicatorRow, weights: dict[str, float]) -> float | None:
    """100 × the weighted mean of the row's defined rates (a rate with no denominator is left out
    and the other weights are rescaled); None when no weighted rate is defined."""
    total = weight_sum = 0.0
    for name, weight in weights.items():
        value = getattr(row, name)
        if value is None or weight == 0:
            continue
        total += weight * ((1.0 - value) if name in LOWER_IS_BETTER else value)
        weight_sum += weight
    return round(100.0 * total / weight_sum, 2) if weight_sum else None


def ratio(numerator: int | None, denominator: int | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator
