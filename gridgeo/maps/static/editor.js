/* gridgeo boundary editor (/map/edit): a planner selects grids and splits, merges, reshapes,
   adds or renames them. Drawing and vertex dragging are Leaflet-Geoman's; every edit goes at
   once to POST /v1/versions/{id}/edits, which saves it as a new draft through the store's
   import core and answers with the draft and its validation findings. A 409 (the draft was
   saved by someone else) keeps the edit in a list to apply again on the newest draft. */
(function () {
  "use strict";
  var C = window.GRIDGEO_EDITOR, T = C.text;
  var map = L.map("map", { zoomControl: true });
  map.setView([25.28, 110.29], 13);
  L.control.scale({ imperial: false }).addTo(map);  // metres and kilometres only
  // Geoman's drawing tooltips in the page's language, in the words of the hints
  var pmLang = C.lang === "zh" ? "zh" : "en";
  map.pm.setLang(pmLang, {
    tooltips: {
      firstVertex: T.pm_first_vertex, continueLine: T.pm_continue_line,
      finishLine: T.pm_finish_line, finishPoly: T.pm_finish_poly
    }
  }, pmLang);
  window.gridgeoMap = map;
  var E = window.gridgeoEditor = {
    map: map, ready: false, version: null, status: null, published: null, selected: [],
    pending: [], busy: false, message: "", counts: {}, lastApplied: null
  };
  var byCode = {}, levelLayers = {}, fitted = false;
  var findingsLayer = L.layerGroup().addTo(map), diffLayer = L.layerGroup().addTo(map);
  var styles = {};
  C.levels.forEach(function (lv) {
    styles[lv.level] = { color: lv.color, weight: lv.weight, fill: lv.fill > 0, fillColor: lv.color, fillOpacity: lv.fill };
  });
  var SELECTED = { color: "#08306b", weight: 4, fill: true, fillColor: "#4292c6", fillOpacity: 0.35 };

  function $(id) { return document.getElementById(id); }
  // separators of the page's language: full-width in Chinese
  var ZH = C.lang === "zh", COMMA = ZH ? "，" : ", ", SEMI = ZH ? "；" : "; ", COLON = ZH ? "：" : ": ";
  var OPS = { split: T.split, merge: T.merge, move_vertex: T.reshape, add_grid: T.add, rename: T.rename };
  function fmt(s, v) { return s.replace(/\{(\w+)\}/g, function (_, k) { return v[k] === undefined ? "" : v[k]; }); }
  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function say(text) { E.message = text || ""; $("gg-status").textContent = E.message; }
  function detail(body) {
    if (!body) { return ""; }
    if (typeof body.detail === "string") { return body.detail; }
    if (Array.isArray(body.detail)) {
      return body.detail.map(function (d) { return (d.loc || []).join(".") + ": " + d.msg; }).join("; ");
    }
    return JSON.stringify(body);
  }

  var keyInput = $("ge-key");
  keyInput.value = sessionStorage.getItem("gridgeo-key") || "";
  keyInput.addEventListener("change", function () { sessionStorage.setItem("gridgeo-key", keyInput.value.trim()); });
  function api(path, method, body) {
    var headers = { Accept: "application/json", "X-API-Key": keyInput.value.trim() };
    if (body !== undefined) { headers["Content-Type"] = "application/json"; }
    return fetch(C.api + path, {
      method: method || "GET", headers: headers, body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (b) { return { status: r.status, body: b }; });
    });
  }

  // --- versions and features -------------------------------------------------------
  function loadVersions(pick) {
    return api("/versions").then(function (r) {
      if (r.status !== 200) { say(detail(r.body)); return; }
      var select = $("ge-version");
      select.innerHTML = "";
      r.body.filter(function (v) { return v.status === "published" || v.status === "draft"; }).forEach(function (v) {
        if (v.status === "published") { E.published = v.id; }
        var o = document.createElement("option");
        o.value = v.id;
        o.textContent = v.id + " · " + (v.status === "published" ? T.published : T.draft) +
          (v.note ? " · " + v.note.slice(0, 40) : "");
        select.appendChild(o);
      });
      if (pick) { select.value = String(pick); }
    });
  }

  function loadVersion(id) {
    var query = C.levels.map(function (lv) { return "level=" + lv.level; }).join("&");
    return api("/versions/" + id + "/features?" + query).then(function (r) {
      if (r.status !== 200) { say(detail(r.body)); return; }
      Object.keys(levelLayers).forEach(function (k) { map.removeLayer(levelLayers[k]); });
      diffLayer.clearLayers();  // a comparison belongs to the version it was made for
      E.diff = undefined;
      levelLayers = {}; byCode = {}; E.selected = []; E.counts = {};
      // coarse levels first, so the grids (clickable) lie on top
      C.levels.forEach(function (lv) {
        var features = r.body.features.filter(function (f) { return f.properties.level === lv.level; });
        E.counts[lv.level] = features.length;
        var grids = lv.level === 5;
        var layer = L.geoJSON({ type: "FeatureCollection", features: features }, {
          style: styles[lv.level], interactive: grids, pmIgnore: !grids,
          onEachFeature: function (f, l) {
            byCode[f.properties.code] = l;
            if (grids) {
              l.bindTooltip(esc(f.properties.code) + " " + esc(f.properties.name), { sticky: true });
              l.on("click", function (e) {
                if (E.mode) { return; }  // while drawing, clicks belong to the drawing
                L.DomEvent.stopPropagation(e);
                select(f.properties.code, e.originalEvent.shiftKey);
              });
            }
          }
        }).addTo(map);
        levelLayers[lv.level] = layer;
      });
      E.version = id;
      return api("/versions/" + id).then(function (v) {
        E.status = v.body.status;
        say(fmt(T.loaded, { id: id, status: v.body.status === "published" ? T.published : T.draft, n: r.body.features.length }));
        if (!fitted && levelLayers[5] && levelLayers[5].getLayers().length) {
          map.fitBounds(levelLayers[5].getBounds(), { padding: [20, 20] });
          fitted = true;
        }
        showSelection();
        E.ready = true;
      });
    });
  }

  // --- selection -------------------------------------------------------------------
  function select(code, add) {
    var at = E.selected.indexOf(code);
    if (add) {
      if (at >= 0) { E.selected.splice(at, 1); } else { E.selected.push(code); }
    } else {
      E.selected = at >= 0 && E.selected.length === 1 ? [] : [code];
    }
    showSelection();
    if (E.selected.length === 1) {
      $("ge-name").value = byCode[code].feature.properties.name || "";
    }
  }
  function showSelection() {
    if (levelLayers[5]) { levelLayers[5].setStyle(styles[5]); }
    E.selected.forEach(function (code) { if (byCode[code]) { byCode[code].setStyle(SELECTED); byCode[code].bringToFront(); } });
    $("ge-selected").textContent = E.selected.length ? fmt(T.selected, { n: E.selected.length }) + COLON + E.selected.join(COMMA) : "";
  }
  function one() {
    if (E.selected.length !== 1) { say(T.none_selected); return null; }
    return E.selected[0];
  }

  // --- sending edits ---------------------------------------------------------------
  function send(operations) {
    if (!keyInput.value.trim()) { say(T.need_key); return Promise.resolve(); }
    if (E.busy) { return Promise.resolve(); }  // one save at a time: a double click sends one
    E.busy = true;
    say(T.saving);
    return api("/versions/" + E.version + "/edits", "POST", { operations: operations }).then(function (r) {
      E.busy = false;
      if (r.status === 201) {
        var draft = r.body.version.id;
        E.lastApplied = r.body.applied;
        var what = r.body.applied.map(function (a, k) { return describe(operations[k], a); }).join(SEMI);
        var summary = r.body.report.summary;
        $("ge-findings").textContent = fmt(T.findings, { errors: summary.errors, warnings: summary.warnings });
        drawFindings(r.body.findings);
        return loadVersions(draft).then(function () { return loadVersion(draft); }).then(function () {
          say(fmt(T.saved, { id: draft, what: what }));
        });
      }
      if (r.status === 409) {
        operations.forEach(function (op) { E.pending.push(op); });
        showPending();
        say(fmt(T.stale, { detail: detail(r.body) }));
        return null;
      }
      say(fmt(T.refused, { detail: detail(r.body) }));
      return null;
    }).catch(function (err) { E.busy = false; say(String(err)); });
  }
  // the page's own words for what the server did (its messages stay in the API's language)
  function describe(op, a) {
    return fmt(T["did_" + op.op], {
      code: op.code || "", added: a.added.join(COMMA), removed: a.removed.join(COMMA), changed: a.changed.join(COMMA)
    });
  }
  function showPending() {
    $("ge-pending-box").hidden = E.pending.length === 0;
    $("ge-pending").innerHTML = E.pending.map(function (op) {
      return "<li>" + esc(OPS[op.op] || op.op) + " " + esc(op.code || (op.codes || []).join(COMMA) || "") + "</li>";
    }).join("");
  }
  // the newest draft of the chain this one was saved into
  function newest(id) {
    return api("/versions/" + id).then(function (r) {
      return r.body && r.body.superseded_by ? newest(r.body.superseded_by) : id;
    });
  }
  function retry() {
    var ops = E.pending.slice();
    return newest(E.version).then(function (id) {
      return loadVersions(id).then(function () { return loadVersion(id); });
    }).then(function () {
      E.pending = [];
      showPending();
      return send(ops);
    });
  }

  function drawFindings(collection) {
    findingsLayer.clearLayers();
    if (!collection || !collection.features) { return; }
    L.geoJSON(collection, {
      interactive: true,
      style: function (f) {
        var colour = C.findingColors[f.properties.rule] || "#e31a1c";
        return { color: colour, weight: 2, fillColor: colour, fillOpacity: 0.5 };
      },
      onEachFeature: function (f, l) { l.bindTooltip(esc(f.properties.message)); }
    }).addTo(findingsLayer);
  }

  // --- tools -------------------------------------------------------------------------
  function coords(latlngs) { return latlngs.map(function (ll) { return [ll.lng, ll.lat]; }); }
  // one tool at a time: starting one, or Esc, ends the one before (its handlers go too)
  var stopTool = null;
  function endTool() {
    if (stopTool) { var stop = stopTool; stopTool = null; stop(); }
    E.mode = null;
  }
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") { endTool(); } });
  function drawThen(shape, done) {
    endTool();
    E.mode = shape;
    function created(e) {
      map.removeLayer(e.layer);
      endTool();
      done(e.layer);
    }
    map.on("pm:create", created);
    map.pm.enableDraw(shape, { snappable: false, continueDrawing: false });
    stopTool = function () {
      map.off("pm:create", created);
      map.pm.disableDraw();
    };
  }
  $("ge-split").addEventListener("click", function () {
    var code = one();
    if (!code) { return; }
    say(T.split_hint);
    drawThen("Line", function (layer) {
      send([{ op: "split", code: code, line: coords(layer.getLatLngs()) }]);
    });
  });
  $("ge-merge").addEventListener("click", function () {
    if (E.selected.length < 2) { say(T.none_selected); return; }
    send([{ op: "merge", codes: E.selected.slice() }]);
  });
  $("ge-add").addEventListener("click", function () {
    say(T.add_hint);
    drawThen("Polygon", function (layer) {
      var ring = coords(layer.getLatLngs()[0]);
      ring.push(ring[0]);
      send([{ op: "add_grid", ring: ring, name: $("ge-name").value.trim() }]);
    });
  });
  $("ge-rename").addEventListener("click", function () {
    var code = one();
    if (!code) { return; }
    send([{ op: "rename", code: code, name: $("ge-name").value }]);
  });
  $("ge-reshape").addEventListener("click", function () {
    var code = one();
    if (!code) { return; }
    var layer = byCode[code], from = null;
    endTool();
    say(T.reshape_hint);
    E.mode = "reshape";
    function started(e) {
      var m = e.markerEvent.target, ll = m.getLatLng();
      // a middle marker sits where Geoman put it in screen pixels; the edge's own middle
      // in lon/lat is the point the server finds on the edge
      if (m.leftM && m.rightM) {
        var a = m.leftM.getLatLng(), b = m.rightM.getLatLng();
        from = [(a.lng + b.lng) / 2, (a.lat + b.lat) / 2];
      } else {
        from = [ll.lng, ll.lat];
      }
    }
    function ended(e) {
      var ll = e.markerEvent.target.getLatLng(), at = from;
      endTool();
      if (at) { send([{ op: "move_vertex", at: at, to: [ll.lng, ll.lat] }]); }
    }
    layer.on("pm:markerdragstart", started);
    layer.on("pm:markerdragend", ended);
    layer.pm.enable({ allowSelfIntersection: false, snappable: false, draggable: false });
    stopTool = function () {
      layer.off("pm:markerdragstart", started);
      layer.off("pm:markerdragend", ended);
      layer.pm.disable();
    };
  });
  $("ge-load").addEventListener("click", function () {
    sessionStorage.setItem("gridgeo-key", keyInput.value.trim());
    endTool();
    findingsLayer.clearLayers();
    $("ge-findings").textContent = "";
    fitted = false;
    loadVersions($("ge-version").value || null).then(function () { return loadVersion(Number($("ge-version").value)); });
  });
  $("ge-retry").addEventListener("click", retry);
  // before (the published version, grey dashed) and after (this draft, red) of every
  // grid the diff names; the moved areas of reshaped grids filled
  $("ge-diff").addEventListener("click", function () {
    if (!E.published || E.version === E.published) { return; }
    var path = "/versions/" + E.published + "/diff/" + E.version;
    Promise.all([api(path), api(path + "?format=geojson"), api("/versions/" + E.published + "/features?level=5")]).then(function (rs) {
      if (rs[0].status !== 200) { say(detail(rs[0].body)); return; }
      var n = rs[0].body.summary.counts, codes = {};
      Object.keys(n).forEach(function (kind) {
        (rs[0].body[kind] || []).forEach(function (c) { codes[c.code] = true; if (c.old_code) { codes[c.old_code] = true; } });
      });
      say(fmt(T.diff_summary, { old: E.published, added: n.added, removed: n.removed, reshaped: n.reshaped, renamed: n.renamed }));
      diffLayer.clearLayers();
      var before = (rs[2].body.features || []).filter(function (f) { return codes[f.properties.code]; });
      L.geoJSON({ type: "FeatureCollection", features: before }, {
        interactive: false, style: function () { return { color: "#636363", weight: 3, dashArray: "6 4", fill: false }; }
      }).addTo(diffLayer);
      Object.keys(codes).forEach(function (code) {
        if (byCode[code]) { L.geoJSON(byCode[code].feature, { interactive: false, style: { color: "#d7301f", weight: 3, fill: false } }).addTo(diffLayer); }
      });
      L.geoJSON(rs[1].body, {
        style: function () { return { color: "#d7301f", weight: 1, fill: true, fillOpacity: 0.25 }; },
        onEachFeature: function (f, l) { l.bindTooltip(esc(C.kinds[f.properties.kind] || f.properties.kind) + " " + esc(f.properties.code)); }
      }).addTo(diffLayer);
      E.diff = n;
    });
  });
  $("ge-publish").addEventListener("click", function () {
    if (!window.confirm(fmt(T.publish_confirm, { id: E.version }))) { return; }
    api("/versions/" + E.version + "/publish", "POST").then(function (r) {
      if (r.status !== 200) { say(fmt(T.refused, { detail: detail(r.body) })); return; }
      return loadVersions(E.version).then(function () { return loadVersion(E.version); }).then(function () {
        say(fmt(T.published_ok, { id: E.version }));
      });
    });
  });

  // first load: the versions list and the newest draft, or the published version
  if (keyInput.value.trim()) {
    loadVersions().then(function () { return loadVersion(Number($("ge-version").value)); });
  } else {
    say(T.need_key);
  }
})();
