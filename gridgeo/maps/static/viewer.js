/* gridgeo live viewer: grids per level from OGC API Features, click for the grid chain,
   workstation and responsible people (/v1/lookup, /map/staff), search, level toggles, cases.
   Levels with more than C.maxFeatures grids ("viewport" levels) are drawn per view, from
   bbox requests, while the view holds at most that many of them.
   Cases: the work loop (/v1/cases coloured by state, overdue ones ringed, a popup with the
   tasks and timeline of /v1/cases/{id}, filters, live through /v1/events), or the points
   of a GeoJSON file (C.casesMode "geojson").
   考核 (with the work loop): an indicator of /v1/assessment per grid of a level, coloured in
   the classes of gridgeo.maps.assessment_map (C.assessment), with a legend and tooltips.
   Plain Leaflet, no other library: the page works on an intranet with no internet. */
(function () {
  "use strict";
  var C = window.GRIDGEO_VIEWER, T = C.text;
  var map = L.map("map", { zoomControl: true, preferCanvas: false });
  L.control.scale({ imperial: false }).addTo(map);  // metres and kilometres only
  window.gridgeoMap = map;
  window.gridgeoReady = false;
  window.gridgeoViewport = {};  // level -> grids drawn after the last move, or "zoom_in"
  C.tiles.forEach(function (t) {
    L.tileLayer(t.url, { attribution: t.attribution, subdomains: t.subdomains, maxZoom: 18 }).addTo(map);
  });
  map.setView([30, 110], 5);

  var levelName = {}, byCode = {}, layers = {}, counts = {};
  C.levels.forEach(function (lv) { levelName[lv.level] = lv.name; });
  var status = document.getElementById("gg-status");
  var highlight = L.layerGroup().addTo(map);

  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function say(text) { status.textContent = text || ""; }
  // the page's language: full-width brackets and colons in Chinese
  var ZH = C.lang === "zh";
  function paren(s) { return ZH ? "（" + s + "）" : "(" + s + ")"; }
  // a count after a label: no space before the full-width bracket
  function count(s) { return (ZH ? "" : " ") + paren(s); }
  function colon(label, value) { return label + (ZH ? "：" : ": ") + value; }
  function fmt(s, v) { return s.replace(/\{(\w+)\}/g, function (_, k) { return v[k] === undefined ? "" : v[k]; }); }

  function getJson(url, signal, accept) {
    return fetch(url, { headers: { Accept: accept || "application/geo+json" }, signal: signal }).then(function (r) {
      if (!r.ok) { throw new Error(url + ": HTTP " + r.status); }
      return r.json();
    });
  }
  // every page of a collection, following the OGC "next" links
  function fetchAll(url, acc, signal) {
    acc = acc || [];
    return getJson(url, signal).then(function (doc) {
      acc.push.apply(acc, doc.features || []);
      var next = (doc.links || []).filter(function (l) { return l.rel === "next"; })[0];
      return next ? fetchAll(next.href, acc, signal) : acc;
    });
  }
  // on a GCJ-02 base map (C.crs) every geometry is asked for in it, every box and click
  // given in it: the service shifts, this page never does
  function withCrs(url, name) {
    return C.crs ? url + (url.indexOf("?") >= 0 ? "&" : "?") + (name || "crs") + "=" + C.crs : url;
  }
  function itemsUrl(id) { return withCrs(C.collections + "/" + id + "/items?limit=10000"); }
  function itemUrl(id, code) { return withCrs(C.collections + "/" + id + "/items/" + encodeURIComponent(code)); }
  function viewUrl(id, limit) {
    var b = map.getBounds();
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); });
    return withCrs(withCrs(C.collections + "/" + id + "/items?bbox=" + bbox.join(",") + "&limit=" + limit), "bbox-crs");
  }
  function levelStyle(lv) {
    return { color: lv.color, weight: lv.weight, fill: lv.fill > 0, fillColor: lv.color, fillOpacity: lv.fill };
  }
  // thousands of SVG paths make every zoom crawl; one canvas draws them in one pass
  var canvas = L.canvas({ padding: 0.5 });
  function layerOptions(lv, n) {
    var options = { interactive: false, style: levelStyle(lv) };  // clicks go to the map
    if (n > C.canvasAbove) { options.renderer = canvas; }
    return options;
  }
  function register(lv, layer) {
    layer.eachLayer(function (l) {
      var p = l.feature.properties;
      byCode[p.code] = { props: p, layer: l, level: lv.level };
    });
  }
  // a level's grids were (re)loaded: the 考核 layer colours the new ones
  var levelListeners = [];
  function levelLoaded(level) { levelListeners.forEach(function (f) { f(level); }); }
  function note(lv, text) {
    var el = document.querySelector('.gg-note[data-level="' + lv.level + '"]');
    if (el) { el.textContent = text ? " · " + text : ""; }
  }

  // a viewport level: redrawn after every move from a bbox request, while the view holds
  // at most C.maxFeatures of its grids (a count with limit=1 first); else "zoom in"
  function viewportLayer(lv) {
    var layer = L.geoJSON(null, layerOptions(lv, C.canvasAbove + 1));
    var running = null;
    function refresh() {
      if (!map.hasLayer(layer)) { return; }
      if (running) { running.abort(); }
      var ctl = running = new AbortController();
      getJson(viewUrl(lv.id, 1), ctl.signal).then(function (doc) {
        if (doc.numberMatched > C.maxFeatures) { return null; }
        return fetchAll(viewUrl(lv.id, C.maxFeatures), [], ctl.signal);
      }).then(function (features) {
        if (ctl !== running) { return; }
        running = null;
        layer.clearLayers();
        if (features === null) {
          note(lv, T.zoom_in);
          window.gridgeoViewport[lv.level] = "zoom_in";
          return;
        }
        layer.addData({ type: "FeatureCollection", features: features });
        register(lv, layer);
        levelLoaded(lv.level);
        note(lv, "");
        window.gridgeoViewport[lv.level] = features.length;
      }).catch(function (err) { if (err.name !== "AbortError") { say(String(err)); } });
    }
    map.on("moveend", refresh);
    layer.on("add", refresh);
    return layer;
  }

  function addToggle(lv, n) {
    var label = document.createElement("label");
    label.className = "gg-toggle";
    label.innerHTML = '<input type="checkbox" data-level="' + lv.level + '"' + (lv.on ? " checked" : "") +
      '> <span class="gg-swatch" style="border-color:' + lv.color + '"></span>' +
      esc(lv.name) + '<span class="gg-count">' + esc(count(n)) + "</span>" +
      '<span class="gg-note" data-level="' + lv.level + '"></span>';
    label.querySelector("input").addEventListener("change", function (e) {
      if (e.target.checked) { layers[lv.level].addTo(map); } else { map.removeLayer(layers[lv.level]); }
    });
    document.getElementById("gg-layers").appendChild(label);
  }

  function loadLevels() {
    return Promise.all(C.levels.map(function (lv) {
      if (lv.viewport) {
        layers[lv.level] = viewportLayer(lv);
        counts[lv.level] = lv.count;
        return Promise.resolve(lv);
      }
      return fetchAll(itemsUrl(lv.id)).then(function (features) {
        // not interactive: clicks go to the map, where "click anywhere" asks the lookup
        var layer = L.geoJSON({ type: "FeatureCollection", features: features }, layerOptions(lv, features.length));
        register(lv, layer);
        levelLoaded(lv.level);
        layers[lv.level] = layer;
        counts[lv.level] = features.length;
        return lv;
      });
    })).then(function (levels) {
      levels.forEach(function (lv) { addToggle(lv, counts[lv.level]); });
      // finer levels first, so the coarser (thicker) outlines stay visible on top
      levels.slice().reverse().forEach(function (lv) { if (lv.on) { layers[lv.level].addTo(map); } });
      // fit to what is loaded whole (a viewport level is empty until the view settles)
      var whole = levels.filter(function (lv) { return !lv.viewport && counts[lv.level] > 0; });
      var shown = whole.filter(function (lv) { return lv.on; });
      var any = whole;
      var fit = (shown.length ? shown : any).map(function (lv) { return layers[lv.level].getBounds(); });
      if (fit.length) {
        var b = fit[0];
        fit.slice(1).forEach(function (x) { b.extend(x); });
        map.fitBounds(b, { padding: [20, 20] });
      }
    });
  }

  function loadWorkstations() {
    return fetchAll(itemsUrl(C.workstations)).then(function (features) {
      L.geoJSON({ type: "FeatureCollection", features: features }, {
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, { radius: 7, color: "#fff", weight: 2, fillColor: C.workstationColor, fillOpacity: 1 });
        },
        onEachFeature: function (f, l) {
          var p = f.properties;
          l.bindTooltip("<b>" + esc(p.name) + "</b><br>" + esc(p.address) +
            (p.illustrative ? "<br><i>" + esc(T.illustrative) + "</i>" : ""));
          // a station stands inside a grid: its click answers like a click on the map there
          l.on("click", function (e) { L.DomEvent.stopPropagation(e); lookupAt(e.latlng); });
        }
      }).addTo(map);
    }).catch(function () { /* a dataset without workstations */ });
  }

  function staffHtml(people) {
    if (!people || !people.length) { return "<i>" + esc(T.no_staff) + "</i>"; }
    return people.map(function (s) {
      var role = C.lang === "zh" ? s.role_zh : s.role.replace("_", " ");
      var kind = C.employments[s.employment] || (ZH ? s.employment_zh : s.employment);
      return esc(s.name) + " · " + esc(role) + " · " + esc(kind) + (s.title ? " · " + esc(s.title) : "");
    }).join("<br>");
  }

  // the chain (leaf first), the workstation and the people responsible, in one popup
  var popupSerial = 0;  // the latest popup: a late outline of an earlier one is dropped
  function showInfo(latlng, grids, workstation, nearest) {
    var mine = ++popupSerial;
    highlight.clearLayers();
    if (!grids.length) {
      var msg = esc(T.outside);
      if (nearest) {
        msg += "<br>" + esc(colon(T.nearest, nearest.code + " " + nearest.name + " " +
          paren(fmt(T.metres, { n: nearest.distance_m }))));
      }
      L.popup().setLatLng(latlng).setContent('<div class="gg-info">' + msg + "</div>").openOn(map);
      return;
    }
    var leaf = byCode[grids[0].code], outline = { color: "#000", weight: 3, fill: false };
    if (leaf) {
      L.geoJSON(leaf.layer.feature, { interactive: false, style: outline }).addTo(highlight);
    } else {  // a grid of a viewport level not drawn now: its outline by code
      var lv = C.levels.filter(function (l) { return l.level === grids[0].level; })[0];
      if (lv) {
        getJson(itemUrl(lv.id, grids[0].code)).then(function (f) {
          if (mine === popupSerial) { L.geoJSON(f, { interactive: false, style: outline }).addTo(highlight); }
        }).catch(function () { /* the outline is a nicety; the popup says it all */ });
      }
    }
    var codes = grids.map(function (g) { return g.code; });
    fetch(C.staff + "?codes=" + encodeURIComponent(codes.join(","))).then(function (r) {
      return r.ok ? r.json() : {};
    }).catch(function () { return {}; }).then(function (staff) {
      var rows = grids.map(function (g) {
        return "<tr><th>" + esc(levelName[g.level] || g.level) + "</th><td><b class=\"gg-code\">" + esc(g.code) +
          "</b> " + esc(g.name) + "</td></tr>";
      }).join("");
      var html = '<div class="gg-info"><table>' + rows + "</table>";
      if (workstation) {
        html += "<div class=\"gg-sub\">" + esc(T.workstation) + "</div>" + esc(workstation.name) +
          "<br><small>" + esc(workstation.address) + "</small>";
      }
      var people = grids.filter(function (g) { return staff[g.code] && staff[g.code].length; });
      html += "<div class=\"gg-sub\">" + esc(T.responsible) + "</div>";
      html += people.length ? people.map(function (g) {
        return "<div><b>" + esc(levelName[g.level]) + " " + esc(g.name) + "</b><br>" + staffHtml(staff[g.code]) + "</div>";
      }).join("") : "<i>" + esc(T.no_staff) + "</i>";
      L.popup({ maxWidth: 420 }).setLatLng(latlng).setContent(html + "</div>").openOn(map);
    });
  }

  function lookupAt(latlng) {
    var url = C.lookup + "?lon=" + latlng.lng + "&lat=" + latlng.lat + "&crs=" + (C.crs || "cgcs2000");
    say(T.loading);
    fetch(url).then(function (r) { return r.json(); }).then(function (res) {
      say("");
      showInfo(latlng, res.grids || [], res.workstation, res.nearest);
    }).catch(function (err) { say(String(err)); });
  }
  map.on("click", function (e) { lookupAt(e.latlng); });

  // search codes and names among the loaded grids
  function chainOf(code) {
    var out = [], seen = {};
    while (code && byCode[code] && !seen[code]) {
      seen[code] = true;
      var p = byCode[code].props;
      out.push({ level: byCode[code].level, code: p.code, name: p.name });
      code = p.parent_code;
    }
    return out;
  }
  function select(code) {
    var hit = byCode[code];
    if (!hit) { return; }
    var bounds = hit.layer.getBounds();
    map.fitBounds(bounds, { padding: [40, 40], maxZoom: 17 });
    var chain = chainOf(code);
    showInfo(bounds.getCenter(), chain, null, null);
  }
  var input = document.getElementById("gg-search"), results = document.getElementById("gg-results");
  function search() {
    var q = input.value.trim().toLowerCase();
    results.innerHTML = "";
    if (!q) { return []; }
    var found = Object.keys(byCode).filter(function (code) {
      return code.toLowerCase().indexOf(q) === 0 || String(byCode[code].props.name).toLowerCase().indexOf(q) >= 0;
    }).sort(function (a, b) { return byCode[a].level - byCode[b].level || (a < b ? -1 : 1); }).slice(0, 20);
    if (!found.length) { results.innerHTML = "<li class=\"gg-none\">" + esc(T.search_none) + "</li>"; }
    found.forEach(function (code) {
      var li = document.createElement("li");
      li.innerHTML = esc(byCode[code].props.name) + ' <span class="gg-code">' + esc(code) + "</span>";
      li.setAttribute("data-code", code);
      li.addEventListener("click", function () { select(code); });
      results.appendChild(li);
    });
    return found;
  }
  // a whole code of a grid in a viewport level that is not drawn now: asked by its code
  function fetchByCode(code) {
    var big = C.levels.filter(function (lv) { return lv.viewport; });
    function tryLevel(i) {
      if (i >= big.length) { return Promise.resolve(null); }
      return fetch(itemUrl(big[i].id, code), { headers: { Accept: "application/geo+json" } }).then(function (r) {
        if (!r.ok) { return tryLevel(i + 1); }
        return r.json().then(function (f) {
          var layer = L.geoJSON(f).getLayers()[0];
          if (!layer) { return null; }  // a grid without geometry: nothing to zoom to
          byCode[code] = { props: f.properties, layer: layer, level: big[i].level };
          return code;
        });
      });
    }
    return /^[0-9A-Za-z]+$/.test(code) ? tryLevel(0) : Promise.resolve(null);
  }
  input.addEventListener("input", search);
  input.addEventListener("keydown", function (e) {
    if (e.key !== "Enter") { return; }
    var found = search(), q = input.value.trim();
    if (found.length) { select(found[0]); return; }
    fetchByCode(q).then(function (code) {
      if (code) { results.innerHTML = ""; select(code); }
    }).catch(function (err) { say(String(err)); });
  });

  // ---- cases ----
  var caseToggle = document.getElementById("gg-cases");
  var caseCount = document.getElementById("gg-case-count");

  // a GeoJSON file's points, drawn as dots on a canvas, loaded on first use
  function geojsonCases() {
    var cases = null;
    caseToggle.addEventListener("change", function (e) {
      if (!e.target.checked) { if (cases) { map.removeLayer(cases); } return; }
      if (cases) { cases.addTo(map); return; }
      say(T.loading);
      var renderer = L.canvas({ padding: 0.5 });
      fetchAll(withCrs(C.cases)).then(function (features) {
        cases = L.geoJSON({ type: "FeatureCollection", features: features }, {
          pointToLayer: function (f, latlng) {
            return L.circleMarker(latlng, { renderer: renderer, radius: 4, color: "#fff", weight: 1, fillColor: C.caseColor, fillOpacity: 1, interactive: false });
          }
        }).addTo(map);
        caseCount.textContent = count(features.length);
        say("");
      }).catch(function (err) { say(fmt(T.cases_failed, { error: err })); e.target.checked = false; });
    });
  }

  // times of the work loop are ISO 8601 with an offset; people read Beijing time
  function parseTime(s) {
    if (!s) { return NaN; }
    var iso = String(s).replace(/(\.\d{3})\d+/, "$1");
    if (!/(Z|[+-]\d\d:?\d\d)$/.test(iso)) { iso += "Z"; }
    return Date.parse(iso);
  }
  function beijing(s) {
    var ms = parseTime(s);
    if (isNaN(ms)) { return ""; }
    var d = new Date(ms + 8 * 3600 * 1000);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return d.getUTCFullYear() + "-" + two(d.getUTCMonth() + 1) + "-" + two(d.getUTCDate()) + " " +
      two(d.getUTCHours()) + ":" + two(d.getUTCMinutes());
  }

  // the work loop: every case a circle coloured by its state, overdue ones ringed in red;
  // filters by state, unit and category; a click shows its tasks and timeline; the event
  // stream refetches a case when it changes
  function loopCases() {
    // case id -> {c: the case, tasks and events (null until its detail came), marker, halo
    // (the pulsing red ring of an overdue case), at (when its answer was asked for), late}
    var byId = {};
    var group = L.layerGroup();
    map.createPane("gg-cases").style.zIndex = 450;  // above the grids, below popups
    var renderer = null;
    var loading = null, loaded = false, perView = false, capped = false, running = null;
    var stateOf = {}, openTask = {}, units = {}, categories = {};
    var filters = { states: {}, unit: "", category: "" };
    var openId = null, popup = null;
    var api = window.gridgeoCases = { loaded: false, shown: 0, total: 0, overdue: 0, live: false, refresh: refresh };
    var panel = document.getElementById("gg-case-panel"), liveEl = document.getElementById("gg-live");
    var overdueEl = document.getElementById("gg-case-overdue"), noteEl = document.getElementById("gg-case-note");
    var unitSel = document.getElementById("gg-case-unit"), catSel = document.getElementById("gg-case-category");
    C.openTaskStates.forEach(function (s) { openTask[s] = true; });
    panel.querySelector(".gg-ring").style.borderColor = C.overdueColor;

    // the legend: one checkbox per state, in its colour, with its count
    C.caseStates.forEach(function (s) {
      stateOf[s.state] = s;
      filters.states[s.state] = true;
      var label = document.createElement("label");
      label.className = "gg-toggle gg-state";
      label.innerHTML = '<input type="checkbox" checked data-state="' + esc(s.state) + '"> ' +
        '<span class="gg-dot" style="background:' + esc(s.color) + '"></span>' + esc(s.label) +
        '<span class="gg-count" data-state-count="' + esc(s.state) + '"></span>';
      label.querySelector("input").addEventListener("change", function (e) {
        filters.states[s.state] = e.target.checked;
        apply();
      });
      document.getElementById("gg-case-states").appendChild(label);
    });
    unitSel.addEventListener("change", function () { filters.unit = unitSel.value; apply(); });
    catSel.addEventListener("change", function () { filters.category = catSel.value; apply(); });

    function taskLate(task, now) { return !!openTask[task.state] && parseTime(task.deadline) <= now; }
    // overdue: a task still to be worked whose deadline passed (the list gives the earliest
    // such deadline, next_deadline, so the ring appears when it passes, without an event)
    function isOverdue(e, now) {
      if (e.tasks) { return e.tasks.some(function (x) { return taskLate(x, now); }); }
      return !!e.c.next_deadline && parseTime(e.c.next_deadline) <= now;
    }
    // the units of a case: those working it once dispatched, else the suggested ones
    function unitsOf(e) {
      var active = (e.tasks || []).filter(function (x) { return x.state !== "cancelled"; });
      if (active.length) { return active.map(function (x) { return x.unit; }); }
      if (e.c.units && e.c.units.length) { return e.c.units; }
      return (e.c.partner_units || []).map(function (u) { return u.code; });
    }
    function unitName(code) { return units[code] || code || ""; }
    function learn(e) {
      (e.c.partner_units || []).forEach(function (u) { if (u.code && !units[u.code]) { units[u.code] = u.name || u.code; } });
      (e.tasks || []).forEach(function (x) { if (x.unit && !units[x.unit]) { units[x.unit] = x.unit_name || x.unit; } });
      if (e.c.category) { categories[e.c.category] = true; }
    }
    function fillSelect(sel, all, entries) {
      var keep = sel.value;
      if (sel.options.length === entries.length + 1) { return; }  // nothing new seen
      sel.innerHTML = "";
      [["", all]].concat(entries).forEach(function (kv) {
        var o = document.createElement("option");
        o.value = kv[0];
        o.textContent = kv[1];
        sel.appendChild(o);
      });
      sel.value = keep;
    }
    function fillSelects() {
      fillSelect(unitSel, T.all_units, Object.keys(units).map(function (code) {
        return [code, units[code]];
      }).sort(function (a, b) { return a[1].localeCompare(b[1], "zh"); }));
      fillSelect(catSel, T.all_categories, Object.keys(categories).sort().map(function (code) {
        return [code, code + " " + (C.categories[code] || "")];
      }));
    }

    function ensureRenderer(n) {
      if (!renderer) {
        // thousands of SVG circles make every zoom crawl; a canvas draws them in one pass
        renderer = n > C.canvasAbove ? L.canvas({ pane: "gg-cases", padding: 0.5 }) : L.svg({ pane: "gg-cases" });
      }
      return renderer;
    }
    // attributes on the SVG circles (none on a canvas), for styling and for tests
    function decorate(e) {
      var el = e.marker.getElement ? e.marker.getElement() : null;
      if (el && el.setAttribute) {
        el.setAttribute("data-case-id", e.c.id);
        el.setAttribute("data-state", e.c.state);
        if (e.late) { el.classList.add("gg-case-overdue"); } else { el.classList.remove("gg-case-overdue"); }
      }
      var ring = e.halo && e.halo.getElement ? e.halo.getElement() : null;
      if (ring && ring.setAttribute) { ring.setAttribute("data-halo-of", e.c.id); }
    }
    function restyle(e, now, force) {
      var late = isOverdue(e, now), color = (stateOf[e.c.state] || { color: "#000" }).color;
      if (!force && late === e.late && color === e.color) { return; }
      e.late = late;
      e.color = color;
      e.marker.setStyle({ fillColor: color, color: late ? C.overdueColor : "#fff", weight: late ? 2 : 1.5 });
      e.marker.setRadius(late ? 7 : 6);
      if (late && !e.halo) {
        // a ring apart from the dot: unlike any other marker (workstations are red dots)
        e.halo = L.circleMarker(e.marker.getLatLng(), {
          renderer: ensureRenderer(0), radius: 12, color: C.overdueColor, weight: 2.5, fill: false, interactive: false,
          className: "gg-case-halo"
        });
        e.halo.on("add", function () { decorate(e); });
        if (group.hasLayer(e.marker)) { group.addLayer(e.halo); }
      } else if (!late && e.halo) {
        group.removeLayer(e.halo);
        e.halo = null;
      }
      decorate(e);
    }
    // a case from the list (detail null) or its detail, answered to a request started at `at`
    function upsert(c, detail, at) {
      if (!c || !c.point) { return null; }
      var e = byId[c.id];
      if (e && at < e.at) { return e; }  // an answer older than the one shown
      if (!e) {
        e = byId[c.id] = { c: c, tasks: null, events: null, marker: null, at: at };
      } else if (!detail && e.c.updated_at !== c.updated_at) {
        e.tasks = e.events = null;  // changed since its detail came
      }
      e.c = c;
      e.at = at;
      if (detail) { e.tasks = detail.tasks || []; e.events = detail.events || []; }
      var latlng = [c.point.lat, c.point.lon];
      if (!e.marker) {
        e.marker = L.circleMarker(latlng, {
          renderer: ensureRenderer(0), radius: 6, color: "#fff", weight: 1.5, fillOpacity: 0.9, bubblingMouseEvents: false
        });
        e.marker.on("add", function () { decorate(e); });
        e.marker.on("click", function () { openCase(e.c.id); });
      } else {
        e.marker.setLatLng(latlng);
        if (e.halo) { e.halo.setLatLng(latlng); }
      }
      learn(e);
      restyle(e, Date.now(), true);
      return e;
    }
    function drop(id) {
      var e = byId[id];
      if (e) { group.removeLayer(e.marker); if (e.halo) { group.removeLayer(e.halo); } delete byId[id]; }
    }

    // filters and counts: cases shown, of all loaded; overdue among those shown
    function apply() {
      var shown = 0, late = 0, total = 0, perState = {};
      fillSelects();
      Object.keys(byId).forEach(function (id) {
        var e = byId[id];
        total += 1;
        var match = (!filters.category || e.c.category === filters.category) &&
          (!filters.unit || unitsOf(e).indexOf(filters.unit) >= 0);
        if (match) { perState[e.c.state] = (perState[e.c.state] || 0) + 1; }
        if (match && filters.states[e.c.state]) {
          shown += 1;
          if (e.late) { late += 1; }
          if (!group.hasLayer(e.marker)) { group.addLayer(e.marker); }
          if (e.halo && !group.hasLayer(e.halo)) { group.addLayer(e.halo); }
        } else if (group.hasLayer(e.marker)) {
          group.removeLayer(e.marker);
          if (e.halo) { group.removeLayer(e.halo); }
        }
      });
      caseCount.textContent = count(shown + (shown !== total ? "/" + total : ""));
      overdueEl.textContent = String(late);
      C.caseStates.forEach(function (s) {
        panel.querySelector('[data-state-count="' + s.state + '"]').textContent = count(perState[s.state] || 0);
      });
      noteEl.textContent = !perView ? "" : capped ? T.in_view_newest.replace("{n}", C.maxCases) : T.in_view;
      api.shown = shown;
      api.total = total;
      api.overdue = late;
    }

    // the newest C.maxCases cases (of the view, with bbox), page by page; `more` when cut
    function fetchCases(bbox, signal) {
      var acc = [], want = C.maxCases + 1;
      function page(offset) {
        var n = Math.min(C.casePage, want - acc.length);
        var url = C.cases + (C.cases.indexOf("?") >= 0 ? "&" : "?") + "limit=" + n + "&offset=" + offset +
          (bbox ? "&bbox=" + bbox : "");
        url = withCrs(bbox ? withCrs(url, "bbox_crs") : url, "out_crs");
        return getJson(url, signal, "application/json").then(function (doc) {
          var rows = doc.cases || [];
          acc.push.apply(acc, rows);
          return rows.length < n || acc.length >= want ? acc : page(offset + rows.length);
        });
      }
      return page(0).then(function (rows) { return { cases: rows.slice(0, C.maxCases), more: rows.length > C.maxCases }; });
    }
    function viewBbox() {
      var b = map.getBounds();
      return [Math.max(b.getWest(), -180), Math.max(b.getSouth(), -90), Math.min(b.getEast(), 180), Math.min(b.getNorth(), 90)]
        .map(function (v) { return v.toFixed(6); }).join(",");
    }
    // more cases than C.maxCases: those of the view, after every move
    function viewRefresh() {
      if (!map.hasLayer(group)) { return; }
      if (running) { running.abort(); }
      var ctl = running = new AbortController(), at = performance.now();
      fetchCases(viewBbox(), ctl.signal).then(function (res) {
        if (ctl !== running) { return; }
        running = null;
        var keep = {};
        res.cases.forEach(function (c) { keep[c.id] = true; upsert(c, null, at); });
        Object.keys(byId).forEach(function (id) { if (!keep[id] && id !== String(openId)) { drop(id); } });
        capped = res.more;
        apply();
      }).catch(function (err) { if (err.name !== "AbortError") { say(fmt(T.cases_failed, { error: err })); } });
    }
    function load() {
      var at = performance.now();
      return fetchCases(null).then(function (res) {
        ensureRenderer(res.cases.length);
        res.cases.forEach(function (c) { upsert(c, null, at); });
        if (res.more && !perView) {
          perView = true;
          map.on("moveend", viewRefresh);
          group.on("add", viewRefresh);
          viewRefresh();
        }
        loaded = api.loaded = true;
        apply();
      });
    }
    // after the stream was away: read the cases again (events may have been missed)
    function resync() {
      if (perView) { viewRefresh(); } else { load().catch(function (err) { say(fmt(T.cases_failed, { error: err })); }); }
    }

    // one case again, after an event: its marker, its filters, its popup if open; at most
    // four requests at a time (an import writes many events at once)
    var jobs = {}, queue = [], active = 0, applying = null;
    function scheduleApply() {
      if (!applying) { applying = setTimeout(function () { applying = null; apply(); }, 30); }
    }
    function refresh(id) {
      id = Number(id);
      var job = jobs[id];
      if (job && !job.started) { return job.promise; }  // still queued: its answer will be new
      if (job) { job.again = true; return job.promise; }  // on its way: ask once more after it
      job = jobs[id] = { started: false, again: false };
      job.promise = new Promise(function (resolve) { job.resolve = resolve; });
      queue.push(id);
      pump();
      return job.promise;
    }
    function pump() {
      while (active < 4 && queue.length) { run(queue.shift()); }
    }
    function run(id) {
      var job = jobs[id], at = performance.now();
      job.started = true;
      active += 1;
      getJson(withCrs(C.caseItem + id, "out_crs"), null, "application/json").then(function (doc) {
        var e = upsert(doc, doc, at);
        scheduleApply();
        if (e && openId === id) { showCase(e); }
      }, function (err) {
        if (/HTTP 404/.test(String(err))) { drop(id); scheduleApply(); }
      }).then(function () {
        active -= 1;
        delete jobs[id];
        if (job.again) { refresh(id).then(job.resolve); } else { job.resolve(); }
        pump();
      });
    }

    function row(label, html) { return html ? "<tr><th>" + esc(label) + "</th><td>" + html + "</td></tr>" : ""; }
    function caseHtml(e) {
      var c = e.c, s = stateOf[c.state] || { label: c.state, color: "#000" }, now = Date.now();
      var grid = byCode[c.grid_code];
      var html = '<div class="gg-info gg-case" data-case-id="' + esc(c.id) + '"><div class="gg-case-head">' +
        '<span class="gg-dot" style="background:' + esc(s.color) + '"></span> <b>' + esc(fmt(T["case"], { id: c.id })) +
        "</b> " + esc(s.label) + (e.late ? ' <span class="gg-badge">' + esc(T.overdue) + "</span>" : "") + "</div><table>" +
        row(T.category, c.category ? '<span class="gg-code">' + esc(c.category) + "</span> " + esc(C.categories[c.category] || "") : "") +
        row(T.state, esc(s.label)) +
        row(T.address, esc(c.address)) +
        row(T.description, esc(c.description)) +
        row(T.grid, c.grid_code ? '<b class="gg-code">' + esc(c.grid_code) + "</b> " + esc(grid ? grid.props.name : "") : "") +
        row(T.urgency, esc(C.urgencies[c.urgency] || c.urgency)) +
        row(T.reported_at, esc(beijing(c.created_at))) + "</table>";
      html += '<div class="gg-sub">' + esc(T.tasks) + "</div>";
      if (!e.tasks) {
        html += "<i>" + esc(T.loading) + "</i>";
      } else if (!e.tasks.length) {
        html += "<i>" + esc(T.no_tasks) + "</i>";
      } else {
        html += '<table class="gg-tasks">' + e.tasks.map(function (x) {
          var late = taskLate(x, now);
          var cls = late ? "gg-late" : x.state === "cancelled" ? "gg-cancelled" : "";
          return '<tr class="' + cls + '" data-unit="' + esc(x.unit) + '"><td>' + esc(x.unit_name || x.unit) + "</td><td>" +
            esc(C.taskStates[x.state] || x.state) + "</td><td>" + esc(T.deadline) + " " + esc(beijing(x.deadline)) +
            (late ? ' <span class="gg-badge">' + esc(T.overdue) + "</span>" : "") +
            (x.extension_requested_until ? "<br><small>" + esc(T.extension_asked) + " " + esc(beijing(x.extension_requested_until)) + "</small>" : "") +
            "</td></tr>";
        }).join("") + "</table>";
      }
      html += '<div class="gg-sub">' + esc(T.timeline) + "</div>";
      if (!e.events) {
        html += "<i>" + esc(T.loading) + "</i>";
      } else {
        html += '<ol class="gg-timeline">' + e.events.map(function (ev) {
          var action = C.lang === "zh" ? ev.action_zh || C.actions[ev.action] : C.actions[ev.action] || ev.action;
          var who = [ev.unit ? unitName(ev.unit) : "", ev.actor].filter(Boolean).map(esc).join(" · ");
          return '<li><span class="gg-time">' + esc(beijing(ev.at)) + "</span> <b>" + esc(action) + "</b> " + who +
            (ev.deadline ? " · " + esc(T.deadline) + " " + esc(beijing(ev.deadline)) : "") +
            (ev.note ? '<div class="gg-remark">' + esc(ev.note) + "</div>" : "") + "</li>";
        }).join("") + "</ol>";
      }
      return html + "</div>";
    }
    function showCase(e) {
      if (popup) { popup.setLatLng(e.marker.getLatLng()).setContent(caseHtml(e)); }
    }
    function openCase(id) {
      var e = byId[id];
      if (!e) { return; }
      var mine = L.popup({
        maxWidth: 440, maxHeight: 360,
        autoPanPaddingTopLeft: L.point(10, 10), autoPanPaddingBottomRight: L.point(280, 10)
      });
      mine.on("remove", function () { if (popup === mine) { popup = null; openId = null; } });
      popup = mine;
      openId = id;
      mine.setLatLng(e.marker.getLatLng()).setContent(caseHtml(e)).openOn(map);
      refresh(id);  // its tasks and timeline, fresh
    }

    // live: Server-Sent Events. EventSource reconnects by itself after a network error,
    // sending the id of the last event it saw (the stream resumes from there); after an HTTP
    // error it closes for good, and a new one is tried later, with ?after= that id.
    var retry = 5000, streaming = false, lastId = "", opens = 0;
    function live(on) {
      api.live = on;
      liveEl.className = "gg-live " + (on ? "gg-live-on" : "gg-live-off");
      liveEl.title = on ? T.live_on : T.live_off;
    }
    function connect() {
      if (!C.events || !window.EventSource) { return; }
      liveEl.hidden = false;
      live(false);
      var url = C.events + (lastId ? (C.events.indexOf("?") >= 0 ? "&" : "?") + "after=" + encodeURIComponent(lastId) : "");
      var source = new EventSource(url);
      source.addEventListener("open", function () {
        live(true);
        retry = 5000;
        // read the cases again when events may have been missed: the first connection may
        // come after they were read, and a stream with no event seen starts at the newest
        if (loaded && (opens === 0 || !lastId)) { resync(); }
        opens += 1;
      });
      source.addEventListener("case.event", function (m) {
        if (m.lastEventId) { lastId = m.lastEventId; }
        var d = null;
        try { d = JSON.parse(m.data); } catch (err) { return; }
        if (d && d.case_id) { refresh(d.case_id); }
      });
      source.addEventListener("error", function () {
        live(false);
        if (source.readyState === 2) {
          source.close();
          setTimeout(connect, retry);
          retry = Math.min(retry * 2, 60000);
        }
      });
    }
    // a deadline passes while the page is open: the ring comes without any event
    setInterval(function () {
      if (!loaded) { return; }
      var now = Date.now();
      Object.keys(byId).forEach(function (id) { restyle(byId[id], now, false); });
      apply();
    }, 30000);

    caseToggle.addEventListener("change", function (e) {
      panel.hidden = !e.target.checked;
      if (!e.target.checked) { map.removeLayer(group); return; }
      group.addTo(map);
      if (loading) { return; }
      say(T.loading);
      if (!streaming) { streaming = true; connect(); }
      loading = load().then(function () { say(""); }).catch(function (err) {
        say(fmt(T.cases_failed, { error: err }));
        loading = null;
        e.target.checked = false;
        panel.hidden = true;
        map.removeLayer(group);
      });
    });
  }
  if (C.casesMode === "loop") { loopCases(); } else { geojsonCases(); }

  // ---- 考核: the indicators of /v1/assessment per grid of a level ----
  // Classes as in gridgeo/maps/assessment_map.py: fixed thresholds for rates and the score
  // (A.indicators[].cuts), counts 0 apart then up to A.maxCountClasses equal whole steps;
  // the worse end dark; a grid with nothing due grey. Drawn in a pane under the level
  // outlines (which stay readable on top; viewer.css lets the pointer through their empty
  // svg to the grids' tooltips and takes the fifth level's tint off meanwhile); a click
  // still goes to the map (the lookup popup).
  function assessment() {
    var A = C.assessment, toggle = document.getElementById("gg-assess");
    if (!A || !toggle) { return; }
    var panel = document.getElementById("gg-assess-panel");
    var indSel = document.getElementById("gg-assess-indicator"), levelSel = document.getElementById("gg-assess-level");
    var fromIn = document.getElementById("gg-assess-from"), toIn = document.getElementById("gg-assess-to");
    var legendEl = document.getElementById("gg-assess-legend"), noteEl = document.getElementById("gg-assess-note");
    map.createPane("gg-assess").style.zIndex = 390;  // above the tiles (200), under the outlines (400)
    var group = L.layerGroup();
    var docs = {}, doc = null, running = null;
    var api = window.gridgeoAssessment = { loaded: false, url: "", rows: 0, colours: {}, error: "" };
    var byIndicator = {};
    A.indicators.forEach(function (ind) {
      byIndicator[ind.key] = ind;
      var o = document.createElement("option");
      o.value = ind.key;
      o.textContent = ind.label;
      indSel.appendChild(o);
    });
    indSel.value = A["default"];
    C.levels.forEach(function (lv) {
      var o = document.createElement("option");
      o.value = String(lv.level);
      o.textContent = lv.name;
      levelSel.appendChild(o);
    });
    levelSel.value = String(A.level);
    // this month so far, in Beijing days; "to" is inclusive here, the request's is exclusive
    function beijingDay(ms) { return new Date(ms + 8 * 3600 * 1000).toISOString().slice(0, 10); }
    function nextDay(day) { return new Date(Date.parse(day + "T00:00:00Z") + 86400000).toISOString().slice(0, 10); }
    var today = beijingDay(Date.now());
    fromIn.value = today.slice(0, 8) + "01";
    toIn.value = today;

    function countCuts(values) {  // as count_cuts in assessment_map.py
      var top = 0;
      values.forEach(function (v) { if (v !== null && v > top) { top = Math.floor(v); } });
      if (top <= 0) { return []; }
      var k = Math.min(A.maxCountClasses, top), cuts = [1];
      for (var i = 1; i < k; i++) { cuts.push(Math.ceil(top * i / k) + 1); }
      return cuts;
    }
    function countLabels(cuts, top) {
      var out = ["0"];
      cuts.forEach(function (low, i) {
        var high = i + 1 < cuts.length ? cuts[i + 1] - 1 : top;
        out.push(high === low ? String(low) : low + " – " + high);
      });
      return out;
    }
    function scaleOf(ind, values) {
      var cuts = ind.kind === "count" ? countCuts(values) : ind.cuts;
      var ramp = A.ramps[String(cuts.length + 1)].slice();  // light to dark
      var colours = ind.worse === "high" ? ramp : ramp.reverse();
      if (ind.kind === "count" && !cuts.length) { colours = [A.zero]; }  // all zero
      var top = 0;
      values.forEach(function (v) { if (v !== null && v > top) { top = v; } });
      var labels = ind.kind === "count" ? countLabels(cuts, top) : ind.labels;
      return {
        cuts: cuts, colours: colours, labels: labels,
        colour: function (v) {
          if (v === null || v === undefined) { return A.noDue; }
          var k = 0;
          while (k < cuts.length && v >= cuts[k]) { k += 1; }  // bisect_right
          return colours[k];
        }
      };
    }
    function fmt(key, v) {
      if (v === null || v === undefined) { return "—"; }
      if (/_rate$/.test(key)) { return (v * 100).toFixed(1) + "%"; }
      if (key === "score") { return Number(v).toFixed(1); }
      return String(v);
    }
    function tooltip(code, name, row) {
      return '<div class="gg-info"><b>' + esc(name) + '</b> <span class="gg-code">' + esc(code) + "</span><table>" +
        A.fields.map(function (f) {
          return "<tr><th>" + esc(f.label) + "</th><td>" + esc(fmt(f.key, row ? row[f.key] : (/_rate$|^score$|^rank$/.test(f.key) ? null : 0))) + "</td></tr>";
        }).join("") + "</table></div>";
    }
    function legend(ind, scale) {
      var rows = scale.colours.map(function (c, i) { return [c, scale.labels[i]]; });
      if (ind.kind !== "count") { rows.push([A.noDue, T.no_due]); }
      var level = levelSel.options[levelSel.selectedIndex].text;
      legendEl.innerHTML = '<div class="gg-panel-sub">' + esc(ind.label) +
        esc(ZH ? paren(level) : " " + paren(level)) + "</div>" +
        rows.map(function (r) {
          return '<div class="gg-assess-row"><span class="gg-assess-sw" style="background:' + esc(r[0]) + '"></span>' + esc(r[1]) + "</div>";
        }).join("") + (ind.kind !== "count" ? '<div class="gg-note">' + esc(T.half_open) + "</div>" : "");
    }

    // colour the loaded grids of the level by the indicator chosen
    function draw() {
      group.clearLayers();
      api.colours = {};
      if (!doc) { legendEl.innerHTML = ""; return; }
      var ind = byIndicator[indSel.value], level = Number(levelSel.value), rows = {};
      (doc.rows || []).forEach(function (r) { rows[r.key] = r; });
      var codes = Object.keys(byCode).filter(function (c) { return byCode[c].level === level && byCode[c].layer.feature; });
      var values = codes.map(function (c) {
        var r = rows[c];
        if (r && r[ind.key] !== undefined) { return r[ind.key]; }
        return ind.kind === "count" ? 0 : null;  // no registered case: nothing due
      });
      var scale = scaleOf(ind, values);
      codes.forEach(function (code, i) {
        var colour = scale.colour(values[i]), props = byCode[code].props;
        api.colours[code] = colour;
        L.geoJSON(byCode[code].layer.feature, {
          pane: "gg-assess",
          style: { color: "#333", weight: 1, fillColor: colour, fillOpacity: A.opacity },
          onEachFeature: function (f, l) { l.bindTooltip(tooltip(code, props.name, rows[code]), { sticky: true }); }
        }).addTo(group);
      });
      legend(ind, scale);
      var lv = C.levels.filter(function (x) { return x.level === level; })[0] || {};
      var totals = doc.totals || {};
      noteEl.textContent = (doc.rows || []).length ?
        T.assess_summary.replace("{n}", doc.rows.length).replace("{level}", lv.name || level)
          .replace("{registered}", totals.registered || 0).replace("{due}", totals.due || 0) : T.assess_none;
      if (lv.viewport) { noteEl.textContent += (ZH ? "；" : "; ") + T.assess_zoom.replace("{level}", lv.name); }
      api.rows = (doc.rows || []).length;
    }
    function url() {
      return A.url + "?by=grid&level=" + encodeURIComponent(levelSel.value) + "&from=" + encodeURIComponent(fromIn.value) +
        "&to=" + encodeURIComponent(nextDay(toIn.value));
    }
    function load() {
      if (!toggle.checked) { return; }
      if (!fromIn.value || !toIn.value) { return; }
      var u = url();
      api.url = u;
      if (docs[u]) { if (running) { running.abort(); running = null; } doc = docs[u]; api.loaded = true; draw(); return; }
      if (running && running.url === u) { return; }  // asked already, on its way
      if (running) { running.abort(); }  // a period or level no longer wanted
      var ctl = running = new AbortController();
      ctl.url = u;
      say(T.loading);
      getJson(u, ctl.signal, "application/json").then(function (d) {
        if (ctl !== running) { return; }
        running = null;
        docs[u] = doc = d;
        api.error = "";
        api.loaded = true;
        say("");
        draw();
      }).catch(function (err) {
        if (err.name === "AbortError") { return; }
        running = null;
        doc = null;
        api.error = String(err);
        api.loaded = false;
        draw();
        say("");
        var why = String(err.message || err).replace(/^.*: /, "");  // "HTTP 404", without the URL
        noteEl.textContent = T.assess_failed + (ZH ? paren(why) : " " + paren(why));
      });
    }
    toggle.addEventListener("change", function () {
      panel.hidden = !toggle.checked;
      map.getContainer().classList.toggle("gg-assessing", toggle.checked);
      if (toggle.checked) { group.addTo(map); load(); } else { map.removeLayer(group); }
    });
    indSel.addEventListener("change", draw);
    [levelSel, fromIn, toIn].forEach(function (el) { el.addEventListener("change", load); });
    levelListeners.push(function (level) { if (doc && toggle.checked && String(level) === levelSel.value) { draw(); } });
    api.reload = function () { docs = {}; load(); };
  }
  assessment();

  say(T.loading);
  Promise.all([loadLevels(), loadWorkstations()]).then(function () {
    say("");
    window.gridgeoReady = true;
  }).catch(function (err) { say(String(err)); window.gridgeoError = String(err); });
})();
