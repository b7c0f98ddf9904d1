"""What the demo year holds, and where and when its cases are reported: the classes and their shares,
the sources, the busier streets, the texts people write, the standard rows the demo adds, and the
draws of places and report times."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, tzinfo

import numpy as np
import shapely
from shapely.geometry import shape
from sqlalchemy.orm import Session

from zhili.org import service as org_service

# (kind, code, weight, department code, descriptions). Weights follow what a Guangzhou district's
# digital city-management centre reports most: exposed rubbish, dirty roads, street trading, adverts.
CLASSES: tuple[tuple[str, str, float, str, tuple[str, ...]], ...] = (
    ("matter", "06010", 17, "BY-HW", ("路边有暴露垃圾，约1平方米", "人行道上堆有生活垃圾，未及时清运",
                                      "绿化带旁有暴露垃圾和塑料袋", "公交站旁有暴露垃圾，散发异味")),
    ("matter", "06012", 11, "BY-HW", ("路面不洁，有成片纸屑和落叶", "人行道有油污和垃圾，明显不洁",
                                      "路面泥沙较多，未清扫")),
    ("matter", "06036", 8, "BY-HW", ("人行道上乱堆杂物，影响通行", "楼道口外堆放废旧家具和纸箱",
                                     "路边堆放建筑材料和杂物")),
    ("matter", "09006", 9, "BY-ZF", ("商户在人行道上摆摊经营", "流动摊贩占用人行道售卖水果",
                                     "夜间占道经营，桌椅摆放到车行道")),
    ("matter", "09005", 6, "BY-ZF", ("店铺超出门窗外墙经营", "餐馆在店外摆放桌椅经营", "店外堆放货物经营")),
    ("matter", "07001", 9, "BY-HW", ("电线杆上张贴非法小广告", "墙面喷涂办证小广告", "公交站牌上贴满小广告")),
    ("matter", "09010", 6, "BY-ZF", ("非机动车乱停放，堵塞人行道", "共享单车堆放在盲道上",
                                     "电动车在路口乱停放")),
    ("matter", "06042", 5, "BY-HW", ("垃圾桶满溢，垃圾外露", "垃圾收集点满溢，周边脏乱")),
    ("matter", "06017", 4, "BY-YL", ("绿地内有垃圾和杂物", "绿化带脏乱，有大量枯枝落叶")),
    ("matter", "09001", 4, "BY-ZF", ("游商在路口叫卖", "流动商贩推车沿街兜售")),
    ("matter", "06011", 3, "BY-HW", ("路边积存建筑垃圾渣土", "空地积存垃圾渣土约2立方米")),
    ("matter", "06014", 2, "BY-HW", ("道路遗撒泥土约20米", "运输车辆遗撒砂石")),
    ("matter", "06001", 2, "BY-ZF", ("楼顶正在搭建违章棚", "路边私自搭建铁皮房")),
    ("matter", "06029", 2, "BY-ZF", ("夜间露天烧烤，油烟扰民", "人行道上露天烧烤")),
    ("matter", "06021", 1, "BY-YL", ("行道树出现明显病虫害", "绿地植物叶片大面积虫害")),
    ("component", "01002", 2, "BY-SZ", ("污水井盖破损", "污水井盖丢失，存在安全隐患", "污水井盖移位")),
    ("component", "01003", 2, "BY-SZ", ("雨水井盖破损", "雨水箅子缺失")),
    ("component", "01037", 3, "BY-SZ", ("路灯不亮", "多盏路灯夜间不亮", "路灯灯杆倾斜")),
    ("component", "04002", 1, "BY-YL", ("行道树断枝，影响通行", "台风后行道树倒伏")),
    ("component", "03005", 2, "BY-HW", ("果皮箱破损", "垃圾箱缺失")),
)
# Standard rows the demo adds for the classes above that the engine's demo standard leaves out.
Limit = tuple[float, str]
EXTRA_STANDARDS: tuple[tuple[str, str, str, str, str, Limit, Limit, Limit], ...] = (
    ("matter", "06036", "乱堆杂物，占用公共通道", "杂物清理完毕", "BY-HW",
     (0.5, "urgent_hours"), (4, "working_hours"), (1, "urgent_hours")),
    ("matter", "09005", "超出门窗外墙经营", "恢复店内经营", "BY-ZF",
     (0.5, "urgent_hours"), (4, "working_hours"), (1, "urgent_hours")),
    ("matter", "09010", "非机动车乱停放，影响通行", "车辆规范停放", "BY-ZF",
     (0.5, "urgent_hours"), (2, "working_hours"), (1, "urgent_hours")),
    ("matter", "06017", "绿地内有垃圾、杂物", "绿地清理干净", "BY-YL",
     (0.5, "urgent_hours"), (1, "working_days"), (2, "urgent_hours")),
    ("component", "01002", "井盖破损、丢失或移位", "井盖完好归位", "BY-SZ",
     (10 / 60, "urgent_hours"), (2, "urgent_hours"), (1, "urgent_hours")),
    ("component", "01003", "井盖（箅子）破损、丢失", "井盖（箅子）完好归位", "BY-SZ",
     (10 / 60, "urgent_hours"), (2, "urgent_hours"), (1, "urgent_hours")),
    ("component", "01037", "路灯不亮或损坏", "路灯恢复照明", "BY-SZ",
     (0.5, "urgent_hours"), (2, "working_days"), (1, "working_days")),
)
# (source, share): inspectors report most, then the 12345 hotline, the public, video/AI, self-handled.
SOURCES: tuple[tuple[str, float], ...] = (
    ("inspector", 0.55), ("hotline", 0.17), ("public", 0.09), ("video", 0.08),
    ("self_handled", 0.08), ("leader", 0.01), ("department", 0.02),
)
# Cases per unit grid: the old built-up streets near the centre are busier than the outer towns.
STREET_DENSITY = {
    **dict.fromkeys(("002", "003", "004", "005", "006", "007", "008", "010", "011", "012", "016"), 3.0),
    **dict.fromkeys(("009", "013", "014", "015", "017", "018"), 2.0),
    **dict.fromkeys(("019", "020", "021"), 1.0),
}
ROADS = ("白云大道北", "机场路", "广园中路", "同和路", "云城西路", "石井大道", "沙太北路", "黄石东路",
         "三元里大道", "增槎路", "广州大道北", "京溪路", "永泰路", "嘉禾路", "鹤龙一路", "106国道",
         "人和大道", "太和北路", "新市西街", "棠景路", "松柏路", "江夏北一路", "夏茅路", "槎龙路")
PLACES = ("附近", "门口", "旁", "对面", "路段", "公交站旁", "小区门口", "农贸市场旁", "地铁站出口")
REASONS_NOT_ACCEPT = ("核实无此问题", "不属于城管受理范围", "重复上报")
RETURN_REASONS = ("不属于本部门职责，请改派", "权属不清，请重新派遣")
EXTENSION_REASONS = ("需协调产权单位，申请延期", "材料采购中，申请延期")
SUSPEND_REASONS = ("涉及规划调整，待上级批复", "需待雨季过后施工")
APPEAL_REASONS = ("台风天气影响处置", "系统故障未及时签收")
REWORK_REASONS = ("核查未达结案条件，请重新处置",)
RESULTS = ("已清理完毕", "已安排人员处理完成", "已责令整改，现场恢复", "已修复")


def places(
    session: Session, nprng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n points inside unit grids, busier streets denser: (lons, lats, grid positions)."""
    index = org_service.area_index(session)
    weights = np.array([STREET_DENSITY.get(loc.street_code[-3:], 0.6)
                        for loc in (index.location_at(i) for i in range(len(index.grids)))])
    chosen = nprng.choice(len(index.grids), size=n, p=weights / weights.sum())
    return points_in(index, nprng, chosen)


def points_in(
    index: org_service.AreaIndex, nprng: np.random.Generator, chosen: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A point inside each of the chosen unit grids (positions in the area index)."""
    n = len(chosen)
    bounds = np.array([shape(g.geometry).bounds for g in index.grids])
    lons, lats, pos = np.zeros(n), np.zeros(n), np.full(n, -1, dtype=np.int64)
    todo = np.arange(n)
    for _ in range(30):  # rejection sampling inside each chosen grid's box
        b = bounds[chosen[todo]]
        x = nprng.uniform(b[:, 0], b[:, 2])
        y = nprng.uniform(b[:, 1], b[:, 3])
        found = index.locate_many(x, y)
        ok = found == chosen[todo]
        lons[todo[ok]], lats[todo[ok]], pos[todo[ok]] = x[ok], y[ok], found[ok]
        todo = todo[~ok]
        if not len(todo):
            break
    for i in todo.tolist():  # a sliver of a grid: its representative point is inside it
        p = shape(index.grids[chosen[i]].geometry).representative_point()
        lons[i], lats[i], pos[i] = shapely.get_x(p), shapely.get_y(p), chosen[i]
    return lons, lats, pos


def report_times(rng: random.Random, tz: tzinfo, now: datetime, days: int, n: int) -> list[datetime]:
    """Report instants over the period: office hours busiest, fewer at night and at weekends."""
    start = now - timedelta(days=days)
    out: list[datetime] = []
    hour_w = [0.3, 0.2, 0.1, 0.1, 0.1, 0.3, 1, 3, 6, 8, 8, 7, 4, 4, 7, 8, 8, 6, 4, 3, 3, 2, 1, 0.6]
    hours = rng.choices(range(24), weights=hour_w, k=n)
    day0 = start.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    while len(out) < n:
        d = rng.randrange(days + 1)
        day = day0 + timedelta(days=d)
        if day.weekday() >= 5 and rng.random() < 0.35:
            continue
        t = day + timedelta(hours=hours[len(out)], seconds=rng.randrange(3600))
        if start <= t <= now - timedelta(minutes=5):
            out.append(t.astimezone(UTC))
    out.sort()
    return out
