"""The pilot's "1" and "N" partner units and its routing table (sample data).

Units and zones are illustrative: the plan names the kinds of partner (the
street's enforcement team, 阳桥 police station, the traffic police brigade, the
deputies' liaison station, enterprises and property managers with their 门前三包
frontage duty, volunteers with service ranges, sanitation workers and
parking-fee collectors) but gives no zones. Area-wide units are given grid
codes; frontages, service ranges and parking stretches are lines or points
with a buffer in metres, placed on the pilot communities' grids. Contacts use
the unallocated 0773-0000 block.

The routing table covers every GB/T 30428.2 event major class, every
GB/T 30428.1 component major class (codes ``B01``-``B06``) and the pilot's
local class 90, with minor-class overrides where the plan names the partner
(parking and fire lanes to the traffic police, public order to the police,
frontage clutter to the enterprise or property manager and the grid). Every
rule gives its handling time limits, normal and urgent; they are the pilot's
illustrative choices (hours where people or traffic are endangered, working
days where an enforcement procedure is needed), not a city's regulation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import shapely

from gridgeo.categories import CategoryKind, default_categories
from gridgeo.i18n import tr
from gridgeo.levels import Level
from gridgeo.sample.checks import SampleBuildError, Unit

NOTE = "示意数据 (illustrative: the plan names the partner, not its zone)"
STREET, DISTRICT = "450302001", "450302"
WENMING, WUMEI = "450302001001", "450302001002"


@dataclass(frozen=True, slots=True)
class SamplePartner:
    """One partner unit of the sample; exactly one of ``grids`` and ``shape`` is set."""

    code: str
    type: str
    name: str
    contact: str
    grids: tuple[str, ...] = ()
    shape: tuple[tuple[float, float], ...] = ()
    buffer_m: float = 0.0


PARTNERS: tuple[SamplePartner, ...] = (
    SamplePartner(
        "ENF-450302001", "enforcement_team", "秀峰街道综合行政执法队", "执法队值班室", (STREET,)
    ),
    SamplePartner("PS-YANGQIAO", "police", "阳桥派出所", "社区民警值班", (STREET,)),
    SamplePartner("TP-450302", "traffic_police", "秀峰区交警大队", "大队勤务室", (DISTRICT,)),
    SamplePartner(
        "RD-450302001", "deputies_liaison", "秀峰街道人大代表联络站", "联络站", (WENMING, WUMEI)
    ),
    SamplePartner("SAN-WENMING", "sanitation", "区环卫站文明社区作业片区", "片区班长", (WENMING,)),
    SamplePartner("SAN-WUMEI", "sanitation", "区环卫站五美社区作业片区", "片区班长", (WUMEI,)),
    SamplePartner(
        "ENT-BINJIANG-01",
        "enterprise",
        "滨江路沿街酒店(示意)",
        "前台经理",
        shape=((110.3003, 25.2778), (110.3008, 25.2792)),
        buffer_m=15.0,
    ),
    SamplePartner(
        "ENT-ZHONGSHAN-01",
        "enterprise",
        "中山中路原小商品商场商户(示意)",
        "商户联络人",
        shape=((110.2914, 25.2790), (110.2914, 25.2812)),
        buffer_m=12.0,
    ),
    SamplePartner(
        "PM-WENMING-01",
        "property_manager",
        "文明社区某小区物业服务中心(示意)",
        "物业客服",
        shape=((110.2970, 25.2790), (110.2990, 25.2792)),
        buffer_m=20.0,
    ),
    SamplePartner(
        "PM-WUMEI-01",
        "property_manager",
        "五美社区某小区物业服务中心(示意)",
        "物业客服",
        shape=((110.2870, 25.2790), (110.2890, 25.2790)),
        buffer_m=20.0,
    ),
    SamplePartner(
        "VOL-WENMING-01",
        "volunteer",
        "文明社区退休党员志愿服务队",
        "队长",
        shape=((110.2985, 25.2740),),
        buffer_m=150.0,
    ),
    SamplePartner(
        "VOL-WUMEI-01",
        "volunteer",
        "五美社区背街小巷疏导点志愿者",
        "疏导点负责人",
        shape=((110.2880, 25.2840), (110.2900, 25.2850)),
        buffer_m=30.0,
    ),
    SamplePartner(
        "PARK-BINJIANG",
        "parking_collector",
        "滨江路路内停车收费段",
        "收费员班长",
        shape=((110.3010, 25.2770), (110.3016, 25.2795)),
        buffer_m=8.0,
    ),
    SamplePartner(
        "PARK-ZHONGSHAN",
        "parking_collector",
        "中山中路路内停车收费段",
        "收费员班长",
        shape=((110.2918, 25.2785), (110.2918, 25.2815)),
        buffer_m=8.0,
    ),
)

# Handling time limits (处置时限) of the pilot, normal/urgent: hours for what endangers
# people or traffic, working days for what needs an enforcement procedure.
DEFAULT_LIMITS = {"normal": "3wd", "urgent": "4h"}


def _limits(normal: str, urgent: str) -> dict[str, str]:
    return {"normal": normal, "urgent": urgent}


# (category, partner types, grid staff involved, note, time limits); minor classes
# override majors. Component (部件) codes start with B.
ROUTING: tuple[tuple[str, tuple[str, ...], bool, str, dict[str, str]], ...] = (
    (
        "01",
        ("enforcement_team", "sanitation"),
        True,
        "市容环境: 执法队与环卫, 网格巡查",
        _limits("2wd", "4h"),
    ),
    ("0101", ("enforcement_team",), True, "私搭乱建由执法队查处", _limits("5wd", "1wd")),
    (
        "0102",
        ("sanitation", "enterprise", "property_manager"),
        True,
        "门前三包责任区内由责任单位清理",
        _limits("1wd", "2h"),
    ),
    ("0103", ("sanitation", "enforcement_team"), True, "", _limits("2wd", "4h")),
    (
        "0104",
        ("sanitation", "enterprise", "property_manager"),
        True,
        "门前三包: 门前环境卫生",
        _limits("1wd", "2h"),
    ),
    (
        "02",
        ("enforcement_team", "deputies_liaison", "volunteer"),
        True,
        "人大代表、志愿者劝导宣传",
        _limits("3wd", "1wd"),
    ),
    ("03", ("enforcement_team",), True, "施工管理由执法队处置", _limits("3wd", "4h")),
    (
        "04",
        ("enforcement_team", "police"),
        True,
        "突发事件: 执法队与公安先行处置",
        _limits("1wd", "2h"),
    ),
    ("0409", ("police",), True, "群发性事件由公安处置", _limits("4h", "1h")),
    ("05", ("enforcement_team",), True, "街面秩序由执法队处置", _limits("1wd", "4h")),
    ("0501", ("enforcement_team", "volunteer"), True, "", _limits("1wd", "4h")),
    ("0502", ("police", "volunteer"), True, "流浪乞讨: 公安与志愿者", _limits("1wd", "2h")),
    (
        "0504",
        ("enforcement_team", "enterprise", "property_manager"),
        True,
        "店外经营: 门前三包",
        _limits("1wd", "4h"),
    ),
    (
        "0505",
        ("traffic_police", "parking_collector"),
        True,
        "机动车乱停放: 交警, 收费员协助",
        _limits("4h", "1h"),
    ),
    ("0506", ("traffic_police", "property_manager", "volunteer"), True, "", _limits("1wd", "4h")),
    (
        "0507",
        ("enforcement_team", "enterprise", "property_manager"),
        True,
        "门前三包: 门前秩序",
        _limits("1wd", "4h"),
    ),
    ("0509", ("traffic_police", "police"), True, "黑车拉客: 交警与公安", _limits("1wd", "2h")),
    ("90", ("enforcement_team",), True, "试点扩展事件", _limits("1wd", "4h")),
    (
        "9001",
        ("traffic_police", "property_manager"),
        True,
        "及时处置占用消防通道车辆",
        _limits("2h", "1h"),
    ),
    ("9002", ("traffic_police",), True, "占用公共道路汽车由交警处置", _limits("4h", "1h")),
    (
        "9003",
        ("traffic_police", "volunteer"),
        False,
        "督促佩戴电动车安全头盔",
        _limits("1wd", "4h"),
    ),
    ("9004", ("enterprise", "property_manager"), True, "门前三包责任制", _limits("1wd", "4h")),
    ("9005", ("police",), False, "治安管理由公安负责", _limits("4h", "1h")),
    ("9006", ("parking_collector", "traffic_police"), False, "", _limits("1wd", "4h")),
    ("9007", ("volunteer", "sanitation"), True, "背街小巷志愿服务范围", _limits("2wd", "4h")),
    ("9008", ("deputies_liaison", "volunteer"), True, "人大代表文明劝导", _limits("2wd", "1wd")),
    (
        "B01",
        ("enforcement_team",),
        True,
        "公用设施部件: 执法队通知权属单位, 缺失井盖先行围挡",
        _limits("2wd", "2h"),
    ),
    (
        "B0108",
        ("enforcement_team", "property_manager"),
        True,
        "消防栓: 小区内由物业报修",
        _limits("2wd", "4h"),
    ),
    ("B0109", ("enforcement_team",), True, "路灯报修", _limits("3wd", "1wd")),
    (
        "B02",
        ("traffic_police", "enforcement_team"),
        True,
        "道路交通部件: 交警与执法队",
        _limits("3wd", "4h"),
    ),
    (
        "B0201",
        ("parking_collector", "traffic_police"),
        True,
        "停车场: 收费员与交警",
        _limits("2wd", "4h"),
    ),
    (
        "B03",
        ("sanitation", "enforcement_team"),
        True,
        "市容环境部件: 环卫与执法队",
        _limits("2wd", "4h"),
    ),
    (
        "B0304",
        ("enforcement_team", "enterprise"),
        True,
        "广告牌匾: 门前三包单位, 松动坠落先行处置",
        _limits("3wd", "4h"),
    ),
    (
        "B04",
        ("enforcement_team", "volunteer"),
        True,
        "园林绿化部件: 执法队通知养护单位",
        _limits("3wd", "4h"),
    ),
    (
        "B05",
        ("enforcement_team", "property_manager"),
        True,
        "房屋土地部件: 执法队与物业",
        _limits("5wd", "4h"),
    ),
    (
        "B06",
        ("enforcement_team", "police"),
        True,
        "其他设施部件: 执法队与公安",
        _limits("3wd", "2h"),
    ),
)


def partner_features(units: dict[Level, list[Unit]]) -> dict[str, object]:
    """The partners as an RFC 7946 FeatureCollection; raises if a zone leaves the pilot street.

    Grid-code zones must name existing grids; shaped zones must lie in the pilot street.
    """
    known = {u.code: u for us in units.values() for u in us}
    street = known[STREET].geometry
    features: list[dict[str, object]] = []
    for p in PARTNERS:
        missing = [c for c in p.grids if c not in known]
        if missing:
            raise SampleBuildError(
                tr("partner {code}: unknown grid code(s) {missing}", code=p.code, missing=missing)
            )
        geometry = None
        if p.shape:
            shape = shapely.Point(p.shape[0]) if len(p.shape) == 1 else shapely.LineString(p.shape)
            if not street.contains(shape):
                raise SampleBuildError(
                    tr("partner {code}: its shape leaves {street}", code=p.code, street=STREET)
                )
            geometry = json.loads(shapely.to_geojson(shape))
        properties: dict[str, object] = {
            "code": p.code,
            "type": p.type,
            "name": p.name,
            "contact": p.contact,
            "phone": f"0773-0000{9000 + len(features):04d}",
        }
        if p.grids:
            properties["grid_codes"] = ";".join(p.grids)
        else:
            properties["buffer_m"] = p.buffer_m
        properties |= {"illustrative": True, "note": NOTE}
        features.append({"type": "Feature", "properties": properties, "geometry": geometry})
    return {"type": "FeatureCollection", "features": features}


def routing_yaml() -> str:
    """The routing table as commented YAML (codes quoted so leading zeros survive)."""
    categories = default_categories()
    lines = [
        "# Routing table of the 1+2+N pilot (sample): category -> partner types, grid staff,",
        "# handling time limits (normal/urgent; h = clock hours, wd = working days).",
        "# A minor class overrides its major class (0505 over 05, B0101 over B01); component",
        "# (部件) codes start with B. Generated by python -m gridgeo.sample; see docs/DISPATCH.md.",
        f"default_limits: {_flow(DEFAULT_LIMITS)}",
        "rules:",
    ]
    for code, types, grid, note, limits in ROUTING:
        cat = categories[code]
        kind = "部件 " if cat.kind == CategoryKind.COMPONENT else ""
        lines.append(f'  - category: "{code}"  # {kind}{cat.name_zh} ({cat.name_en})')
        lines.append(f"    partners: [{', '.join(types)}]")
        lines.append(f"    grid: {'true' if grid else 'false'}")
        if note:
            lines.append(f"    note: {json.dumps(note, ensure_ascii=False)}")
        if limits:
            lines.append(f"    limits: {_flow(limits)}")
    return "\n".join(lines) + "\n"


def _flow(limits: dict[str, str]) -> str:
    """``{normal: 2wd, urgent: 4h}`` (plain scalars: the limits never need quoting)."""
    return "{" + ", ".join(f"{k}: {v}" for k, v in limits.items()) + "}"


def write_partner_files(out_dir: Path, units: dict[Level, list[Unit]]) -> dict[str, int]:
    """Write ``partners.geojson`` and ``routing.yaml``; return their counts."""
    document = partner_features(units)
    text = json.dumps(document, ensure_ascii=False, indent=2)
    (out_dir / "partners.geojson").write_text(text + "\n", encoding="utf-8")
    (out_dir / "routing.yaml").write_text(routing_yaml(), encoding="utf-8")
    return {"partners": len(PARTNERS), "routing_rules": len(ROUTING)}


def partner_codes() -> Sequence[str]:
    """Codes of the sample partner units, in file order."""
    return [p.code for p in PARTNERS]
