"""Settings, read from ``GRIDGEO_*`` environment variables, validated by pydantic.

Every threshold the validator, repair and lookup use lives here, so a city can
tune them without code. Defaults are chosen so that floating-point noise on a
clean nested dataset gives zero findings while a 1 m² real overlap does not pass.

Files gridgeo writes (the embedded store, its index files, rendered maps) default
under one data home: ``GRIDGEO_HOME``, else the repository's ``data/`` folder when
running from a source checkout, else the user's data folder (platformdirs). The
sample pilot data is read where the package ships it (docs/SETTINGS.md). Defaults
are computed when settings are made, never at import, and no folder is created
here: the code that writes a file creates its folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from gridgeo.codes import CodeScheme
from gridgeo.env_settings import EnvSettings, is_part
from gridgeo.i18n import parse_lang, tr
from gridgeo.roles import Role
from gridgeo.wording import listing


def source_checkout() -> Path | None:
    """The repository's ``data/`` folder when gridgeo runs from a source checkout, else None.

    A checkout has ``pyproject.toml`` and ``data/`` beside the package folder; an
    installed package has neither (site-packages).
    """
    root = Path(__file__).resolve().parents[1]
    data = root / "data"
    return data if (root / "pyproject.toml").is_file() and data.is_dir() else None


def data_home() -> Path:
    """The data home when ``GRIDGEO_HOME`` is not set: a checkout's ``data/``, else the
    user's data folder (``~/.local/share/gridgeo`` on Linux, ``XDG_DATA_HOME`` honoured)."""
    checkout = source_checkout()
    if checkout is not None:
        return checkout
    import platformdirs  # only where the default is needed

    return Path(platformdirs.user_data_dir("gridgeo", appauthor=False))


def sample_dir() -> Path:
    """The sample pilot data: ``data/sample`` in a checkout, else the package's copy.

    The package ships the files themselves (package data: ``gridgeo/sample/data`` is a
    link to ``data/sample``, resolved when the wheel is built) rather than rebuilding
    them on first start: the generator needs the real district outlines, which are not
    shipped, and a GeoPackage it writes differs in timestamps from run to run.
    """
    checkout = source_checkout()
    return (
        checkout / "sample" if checkout is not None else Path(__file__).parent / "sample" / "data"
    )


def _in_sample(name: str) -> Callable[[], Path]:
    return lambda: sample_dir() / name


def _embedded_store(data: dict[str, Any]) -> str:
    return f"sqlite:///{Path(data['home']) / 'store' / 'gridgeo.sqlite'}"


def _maps_folder(data: dict[str, Any]) -> Path:
    home = Path(data["home"])
    # a checkout renders into maps/ of the current folder, as `make run` always has
    return Path("maps") if home == source_checkout() else home / "maps"


HOME = (
    "Data home: the folder the store, index files and rendered maps default to (a "
    "checkout's data/, else the user's data folder)."
)


class ValidationSettings(EnvSettings):
    """Thresholds of the validator and the repair, in metres and square metres.

    ``ValidationSettings()`` reads ``GRIDGEO_*`` from the environment, as the command line
    and the service do; the core's functions, given no settings, use :meth:`defaults`.
    """

    @classmethod
    def defaults(cls) -> ValidationSettings:
        """The built-in thresholds, without reading the environment: the core reads no
        environment (the adapters pass what they read).

        Examples
        --------
        >>> import os
        >>> os.environ["GRIDGEO_AREA_TOLERANCE_M2"] = "5"
        >>> ValidationSettings().area_tolerance_m2, ValidationSettings.defaults().area_tolerance_m2
        (5.0, 1.0)
        >>> del os.environ["GRIDGEO_AREA_TOLERANCE_M2"]
        """
        return cls.model_construct()

    area_tolerance_m2: float = Field(
        1.0, ge=0, description="Overlaps, gaps and outside-parent areas at or below this are noise."
    )
    tolerance_m: float = Field(
        0.05,
        ge=0,
        description="An overlap, gap or outside-parent piece counts only if it is wider "
        "than this (a disc this wide fits in it): thinner pieces are artefacts of the "
        "computation. Overlays GEOS cannot run in floating point snap to a tenth of it. "
        "0 turns the width test off.",
    )
    sliver_width_m: float = Field(
        1.0,
        ge=0,
        description="A part or finding whose mean width (2·area/perimeter) is below "
        "this is a sliver.",
    )
    tiny_part_m2: float = Field(
        100.0, ge=0, description="A polygon part smaller than this is a tiny part (warning)."
    )
    max_gap_fill_m2: float = Field(
        5_000_000.0,
        ge=0,
        description="Repair fills gaps up to this area into a neighbour; larger "
        "gaps are left and reported.",
    )


class NotifySettings(EnvSettings):
    """Webhooks and the event stream (gridgeo/notify/, docs/NOTIFY.md)."""

    webhooks: str = Field(
        "",
        description="Webhook URLs (http or https), comma-separated, that receive every outbox "
        "message as a JSON POST; empty: no webhook delivery.",
    )
    webhook_secret: str = Field(
        "",
        description="HMAC-SHA256 key signing each webhook body (X-Gridgeo-Signature); "
        "empty: unsigned.",
    )
    webhook_timeout_s: float = Field(
        5.0, gt=0, le=300, description="Seconds a webhook may take to answer before a retry."
    )
    webhook_max_backoff_s: float = Field(
        300.0,
        gt=0,
        description="Longest wait before retrying a failing webhook (backoff 2^attempts s, "
        "jittered, capped at this).",
    )
    webhook_batch: int = Field(
        100, ge=1, le=100_000, description="Most messages sent to one webhook in one pass."
    )
    webhook_interval_s: float = Field(
        1.0, gt=0, description="Seconds between delivery passes of the service and the CLI."
    )
    events_poll_s: float = Field(
        0.5, gt=0, le=60, description="How often an event stream (/v1/events) checks the outbox."
    )
    events_keepalive_s: float = Field(
        15.0,
        gt=0,
        le=300,
        description="An event stream sends a keepalive comment after this many idle seconds.",
    )


class StoreSettings(EnvSettings):
    """The store and how processes use it: where it is, its index files, reloads, first
    start, the acting person, concurrent writers (gridgeo/store/, docs/VERSIONS.md)."""

    home: Path = Field(default_factory=data_home, description=HOME)
    database_url: str = Field(
        default_factory=_embedded_store,
        description="The store: sqlite:///FILE (embedded SpatiaLite, default) or "
        "postgresql+psycopg://USER@HOST/DB (PostGIS).",
    )
    index_dir: Path | None = Field(
        None,
        description="Folder of the point index files, one per set of boundaries, built once "
        "and mapped by every process (docs/SCALING.md). Default: the folder 'index' beside "
        "an embedded store's file, else index in the user's cache folder for gridgeo "
        "(~/.cache/gridgeo on Linux): they are rebuilt from the store when missing.",
    )
    reload_interval_s: float = Field(
        2.0,
        gt=0,
        description="How often a service checks the store for a newly published version "
        "(SQLite; on PostgreSQL NOTIFY is immediate and this is the fallback check).",
    )
    seed_sample: bool = Field(
        True,
        description="On first start with an empty store, load and publish the sample pilot data.",
    )
    actor: str = Field(
        "", description="Who is acting, for the audit log (default: the login name)."
    )
    store_writers: int = Field(
        4,
        ge=1,
        le=64,
        description="Case actions that run at once in one service process; more wait "
        "their turn (more threads only contend for Python's interpreter lock and every "
        "action slows down). Keep it at most the database pool's size (5).",
    )

    @property
    def index_folder(self) -> Path:
        """Where the index files live (``index_dir``, or its default)."""
        if self.index_dir is not None:
            return self.index_dir
        # the file of an embedded store: sqlite:///relative or sqlite:////absolute (the
        # core imports no database library, so the URL's one sqlite form is read here)
        scheme, _, rest = self.database_url.partition("://")
        database = rest[1:].split("?", 1)[0] if rest.startswith("/") else ""
        if scheme.split("+", 1)[0] == "sqlite" and database not in ("", ":memory:"):
            return Path(database).resolve().parent / "index"
        import platformdirs  # only where the default is needed

        return Path(platformdirs.user_cache_dir("gridgeo", appauthor=False)) / "index"


class MapSettings(EnvSettings):
    """The rendered maps and the live viewer: base layer, case points, output folder
    (gridgeo/maps/, docs/MAPS.md)."""

    home: Path = Field(default_factory=data_home, description=HOME)
    basemap: Literal["none", "tianditu", "xyz"] = Field(
        "none",
        description="Base layer under maps and viewer: none (works offline), tianditu "
        "(needs tianditu_key) or xyz (basemap_url).",
    )
    tianditu_key: str = Field("", description="Tianditu (天地图) key for basemap=tianditu.")
    basemap_url: str = Field(
        "", description="XYZ tile URL template with {z}/{x}/{y} for basemap=xyz."
    )
    basemap_attribution: str = Field("", description="Attribution shown for basemap=xyz.")
    basemap_crs: Literal["wgs84", "gcj02"] = Field(
        "wgs84",
        description="Coordinates of the basemap=xyz tiles: wgs84 (also CGCS2000, Tianditu, "
        "an intranet tile server) or gcj02 (Amap, Tencent): the live viewer then draws "
        "grids, workstations and cases shifted onto it and reads clicks back.",
    )
    map_cases: Path = Field(
        default_factory=lambda data: Path(data["home"]) / "cases" / "sample_cases.csv",
        description="Case points (CSV/GeoJSON with lon/lat, WGS84) for the case map and "
        "the viewer's cases layer.",
    )
    maps_dir: Path = Field(
        default_factory=_maps_folder,
        description="Folder gridgeo maps renders into: maps/ in the data home (in a "
        "checkout, maps/ of the current folder).",
    )
    viewer_cases_url: str = Field(
        "",
        description="URL the viewer loads cases from: one ending in /v1/cases draws the "
        "work loop live, any other is GeoJSON points; default: /v1/cases from the store, "
        "else the viewer's own /map/cases.geojson built from map_cases.",
    )
    viewer_max_features: int = Field(
        3000,
        ge=1,
        le=100_000,
        description="A level with more grids than this is drawn in the viewer per view "
        "(bbox requests to the Features API), and only while the view holds at most this "
        "many of them; smaller levels are loaded whole when the page opens.",
    )


class ApiSettings(EnvSettings):
    """The HTTP service: address, who may do what, request limits, CORS, costly requests
    (gridgeo/api/, docs/API.md "Security")."""

    host: str = Field("127.0.0.1", description="Address gridgeo serve binds.")
    port: int = Field(8000, description="Port gridgeo serve listens on.")
    anonymous_role: Literal["none", "viewer", "reporter"] = Field(
        "viewer",
        description="What a request without an API key may do: viewer (read grid geometry, "
        "the default), reporter (also file Open311 requests) or none (a key for everything).",
    )
    staff_names_role: Literal["viewer", "reporter", "planner", "admin"] = Field(
        "viewer", description="Lowest role that sees the names of responsible staff."
    )
    staff_contact_role: Literal["viewer", "reporter", "planner", "admin"] = Field(
        "planner", description="Lowest role that sees staff and partner phone numbers."
    )
    force_publish_role: Literal["planner", "admin"] = Field(
        "admin", description="Lowest role that may publish a version despite validation errors."
    )
    max_body_bytes: int = Field(
        8 * 1024 * 1024, ge=1024, description="Largest request body except boundary uploads (413)."
    )
    max_upload_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, description="Largest boundary upload (413)."
    )
    max_media_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        description="Largest photo uploaded with an Open311 request (413); the request body "
        "may be this much larger than max_body_bytes.",
    )
    max_upload_features: int = Field(
        200_000, ge=1, description="Most features a boundary upload may have (413)."
    )
    max_upload_vertices: int = Field(
        20_000_000, ge=1, description="Most vertices a boundary upload may have (413)."
    )
    max_unzipped_bytes: int = Field(
        512 * 1024 * 1024,
        ge=1024,
        description="Largest total uncompressed size of a zipped Shapefile upload (zip bombs).",
    )
    cors_origins: str = Field(
        "",
        description="Origins allowed by CORS, comma-separated (or *); empty: no CORS headers.",
    )
    costly_per_minute: int = Field(
        30,
        ge=0,
        description="Costly requests (version diffs and features, uploads, edits, loads of "
        "an older version, large batches) a caller may make a minute, in bursts of as many; "
        "over it, 429 with Retry-After. 0: no limit. Anonymous callers and roles not in "
        "costly_per_minute_by_role.",
    )
    costly_per_minute_by_role: dict[str, int] = Field(
        default_factory=lambda: {"planner": 120, "admin": 600},
        description="The same per role, for the roles named (JSON, e.g. "
        '{"anonymous": 10, "planner": 120, "admin": 0}; 0: no limit).',
    )
    costly_workers: int = Field(
        2,
        ge=1,
        le=64,
        description="Costly requests worked on at once in one service process (threads): "
        "they share the cores with every lookup, and each holds its data in memory.",
    )
    costly_queue: int = Field(
        8,
        ge=0,
        le=10_000,
        description="Costly requests that may wait for a free worker; more are refused "
        "with 429 and Retry-After at once.",
    )

    @field_validator("costly_per_minute_by_role")
    @classmethod
    def _known_roles(cls, value: dict[str, int]) -> dict[str, int]:
        known = {"anonymous", *(r.value for r in Role)}
        for name, rate in value.items():
            if name not in known:
                raise ValueError(
                    tr(
                        "{name!r} is not a role; roles: {roles}",
                        name=name,
                        roles=listing(sorted(known)),
                    )
                )
            if rate < 0:
                raise ValueError(
                    tr("{name}: {rate} is negative (0 means no limit)", name=name, rate=rate)
                )
        return value


class Settings(EnvSettings):
    """All gridgeo settings; environment variables use the ``GRIDGEO_`` prefix.

    The settings of one concern are a part of their own (``settings.notify.webhooks``),
    each read from the same flat ``GRIDGEO_`` names (``GRIDGEO_WEBHOOKS``); in code, pass
    a part whole: ``Settings(notify=NotifySettings(webhooks=...))``.

    Examples
    --------
    ``GRIDGEO_LANG=en GRIDGEO_SEQUENCE_WIDTH=2 gridgeo lookup 110.29 25.28``
    """

    home: Path = Field(default_factory=data_home, description=HOME)
    boundaries: Path = Field(
        default_factory=_in_sample("boundaries.gpkg"),
        description="Default boundary source (file).",
    )
    workstations: Path = Field(
        default_factory=_in_sample("workstations.geojson"),
        description="Workstation points (GeoJSON).",
    )
    staff: Path = Field(default_factory=_in_sample("staff.csv"), description="Staff roster (CSV).")
    partners: Path = Field(
        default_factory=_in_sample("partners.geojson"),
        description="Partner units and their zones (GeoJSON, or CSV with grid codes).",
    )
    routing: Path = Field(
        default_factory=_in_sample("routing.yaml"),
        description="Routing table: report category to partner types (YAML or CSV).",
    )
    sequence_width: int = Field(3, ge=1, le=6, description="Digits of the fifth-level sequence.")
    nearest_tolerance_m: float = Field(
        50.0, ge=0, description="A point outside every grid reports the nearest one within this."
    )

    lang: Literal["zh", "en"] = Field(
        "zh",
        description="Language of the text people read: CLI, service errors (unless the "
        "request's Accept-Language asks otherwise), reports, maps and viewer.",
    )
    assessment_weights: str = Field(
        "closure=0.3,on_time=0.4,rework=0.15,extension=0.15",
        description="Weights of the composite score (综合指标值) of the assessment: closure "
        "rate, on-time rate, 1 - rework rate, 1 - extension rate (docs/ASSESSMENT.md).",
    )
    validation: ValidationSettings = Field(default_factory=ValidationSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    # the parts whose paths default under the data home get this one's
    store: StoreSettings = Field(default_factory=lambda data: StoreSettings(home=data["home"]))
    maps: MapSettings = Field(default_factory=lambda data: MapSettings(home=data["home"]))

    @model_validator(mode="before")
    @classmethod
    def _each_setting_in_its_part(cls, data: Any) -> Any:
        # extra="ignore" (the environment holds other GRIDGEO_ names) would drop
        # Settings(webhooks=...) silently: name the part the setting belongs to instead
        if isinstance(data, dict):
            for part, info in cls.model_fields.items():
                kind = info.annotation
                if is_part(kind):
                    misplaced = sorted(set(data) & set(kind.model_fields) - set(cls.model_fields))
                    if misplaced:
                        raise ValueError(
                            tr(
                                "{names}: settings of {kind}, given as Settings({part}="
                                "{kind}(...))",
                                names=", ".join(misplaced),
                                kind=kind.__name__,
                                part=part,
                            )
                        )
        return data

    @field_validator("lang", mode="before")
    @classmethod
    def _a_language(cls, value: object) -> object:
        # zh_CN.UTF-8, en-US ...: the forms a locale setting or a browser writes
        return parse_lang(value) if isinstance(value, str) else value

    def with_store(self, **changes: Any) -> Settings:
        """A copy whose store part has ``changes`` (a command's --database-url, --actor)."""
        return self.model_copy(update={"store": self.store.model_copy(update=changes)})

    @property
    def scheme(self) -> CodeScheme:
        """The code scheme in force."""
        return CodeScheme(sequence_width=self.sequence_width)
