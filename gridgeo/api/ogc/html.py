"""HTML views of the OGC API Features documents (``f=html``, or a browser's Accept).

What pygeoapi and tipg users open in a browser: the collections, one collection,
a page of items on a map with their properties, one item. Plain pages in Chinese
with Leaflet from the service itself (``/map/lib/leaflet``), so they work on an
intranet; every value is escaped. The JSON documents stay the data: these pages
are built from them.
"""

from __future__ import annotations

import html
import json
from typing import Any

_STYLE = (
    "body{font-family:'WenQuanYi Micro Hei','Microsoft YaHei','PingFang SC',sans-serif;"
    "margin:1.2em;color:#222}table{border-collapse:collapse;margin:.6em 0}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:14px}"
    "#map{height:420px;margin:.6em 0;border:1px solid #ccc}"
)


def _page(title: str, body: str, *, leaflet: str | None = None) -> str:
    head = f"<link rel='stylesheet' href='{html.escape(leaflet)}/leaflet.css'>" if leaflet else ""
    script = f"<script src='{html.escape(leaflet)}/leaflet.js'></script>" if leaflet else ""
    return (
        "<!doctype html><html lang='zh'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>{head}</head>"
        f"<body>{script}<h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def _links(links: list[dict[str, str]]) -> str:
    rows = "".join(
        f"<li><a href='{html.escape(item['href'])}'>{html.escape(item.get('title', item['rel']))}"
        f"</a> ({html.escape(item['rel'])})</li>"
        for item in links
        if "{" not in item["href"]  # templates are not links to follow
    )
    return f"<ul>{rows}</ul>"


def collections_page(doc: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td><a href='{html.escape(_href(c, 'self'))}?f=html'>{html.escape(c['id'])}</a></td>"
        f"<td>{html.escape(c['title'])}</td><td>{html.escape(c.get('description', ''))}</td></tr>"
        for c in doc["collections"]
    )
    body = f"<table><tr><th>编号</th><th>名称</th><th>说明</th></tr>{rows}</table>"
    return _page("要素集合", body)


def collection_page(doc: dict[str, Any]) -> str:
    items = _href(doc, "items")
    body = (
        f"<p>{html.escape(doc.get('description', ''))}</p>"
        f"<p><a href='{html.escape(items)}?f=html'>浏览要素</a> · "
        f"<a href='{html.escape(_href(doc, 'self'))}/queryables'>可查询属性</a></p>"
        f"{_links(doc['links'])}"
    )
    return _page(doc["title"], body)


def items_page(title: str, doc: dict[str, Any], leaflet: str) -> str:
    features = doc["features"]
    names = sorted({k for f in features for k in f["properties"]})
    head = "".join(f"<th>{html.escape(n)}</th>" for n in ["id", *names])
    rows = "".join(
        "<tr>"
        + f"<td>{html.escape(str(f['id']))}</td>"
        + "".join(f"<td>{html.escape(_text(f['properties'].get(n)))}</td>" for n in names)
        + "</tr>"
        for f in features
    )
    words = {"next": "下一页", "prev": "上一页"}
    pager = " · ".join(
        f"<a href='{html.escape(_with_html(link['href']))}'>{words[link['rel']]}</a>"
        for link in doc["links"]
        if link["rel"] in words
    )
    counts = f"共 {doc['numberMatched']} 个，本页 {doc['numberReturned']} 个"
    body = (
        f"<p>{counts} {pager}</p><div id='map'></div>"
        f"<table><tr>{head}</tr>{rows}</table>{_map_script(doc)}"
    )
    return _page(title, body, leaflet=leaflet)


def item_page(title: str, doc: dict[str, Any], leaflet: str) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(_text(v))}</td></tr>"
        for k, v in doc["properties"].items()
    )
    collection = {"type": "FeatureCollection", "features": [doc]}
    body = f"<div id='map'></div><table>{rows}</table>{_map_script(collection)}"
    return _page(f"{title} {doc['id']}", body, leaflet=leaflet)


def _map_script(collection: dict[str, Any]) -> str:
    # </script> cannot occur: json.dumps escapes no "<", so it is escaped here
    data = json.dumps(
        {"type": "FeatureCollection", "features": collection["features"]}, ensure_ascii=False
    ).replace("<", "\\u003c")
    return (
        "<script>var m=L.map('map');var g=L.geoJSON(" + data + ",{style:{color:'#e6550d',"
        "weight:1.5}}).addTo(m);var b=g.getBounds();if(b.isValid()){m.fitBounds(b)}"
        "else{m.setView([30,110],4)}window.gridgeoPageMap=m;</script>"
    )


def _href(doc: dict[str, Any], rel: str) -> str:
    return next(str(link["href"]) for link in doc["links"] if link["rel"] == rel)


def _with_html(href: str) -> str:
    if "f=html" in href:
        return href
    return href + ("&" if "?" in href else "?") + "f=html"


def _text(value: object) -> str:
    return "" if value is None else str(value)
