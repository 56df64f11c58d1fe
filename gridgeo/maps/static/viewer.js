/* gridgeo live viewer: grids per level from OGC API Features, click for the grid chain,
   workstation and responsible people (/v1/lookup, /map/staff), search, level toggles, cases.
   Levels with more than C.maxFeatures grids ("viewport" levels) are drawn per view, from
   bbox requests, while the view holds at most that many of them.
   Plain Leaflet, no other library: the page works on an intranet with no internet. */
(function () {
  "use strict";
  var C = window.GRIDGEO_VIEWER, T = C.text;
  var map = L.map("map", { zoomControl: true, preferCanvas: false });
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

  function getJson(url, signal) {
    return fetch(url, { headers: { Accept: "application/geo+json" }, signal: signal }).then(function (r) {
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
  function itemsUrl(id) { return C.collections + "/" + id + "/items?limit=10000"; }
  function itemUrl(id, code) { return C.collections + "/" + id + "/items/" + encodeURIComponent(code); }
  function viewUrl(id, limit) {
    var b = map.getBounds();
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); });
    return C.collections + "/" + id + "/items?bbox=" + bbox.join(",") + "&limit=" + limit;
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
      esc(lv.name) + ' <span class="gg-count">(' + n + ")</span>" +
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
      var kind = C.lang === "zh" ? s.employment_zh : s.employment;
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
      if (nearest) { msg += "<br>" + esc(T.nearest) + ": " + esc(nearest.code) + " " + esc(nearest.name) + " (" + nearest.distance_m + " m)"; }
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
    var url = C.lookup + "?lon=" + latlng.lng + "&lat=" + latlng.lat + "&crs=cgcs2000";
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

  // cases: GeoJSON points from the configured URL, loaded on first use
  var cases = null;
  document.getElementById("gg-cases").addEventListener("change", function (e) {
    if (!e.target.checked) { if (cases) { map.removeLayer(cases); } return; }
    if (cases) { cases.addTo(map); return; }
    say(T.loading);
    var renderer = L.canvas({ padding: 0.5 });
    fetchAll(C.cases).then(function (features) {
      cases = L.geoJSON({ type: "FeatureCollection", features: features }, {
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, { renderer: renderer, radius: 4, color: "#fff", weight: 1, fillColor: C.caseColor, fillOpacity: 1, interactive: false });
        }
      }).addTo(map);
      document.getElementById("gg-case-count").textContent = "(" + features.length + ")";
      say("");
    }).catch(function (err) { say(T.cases + ": " + err); e.target.checked = false; });
  });

  say(T.loading);
  Promise.all([loadLevels(), loadWorkstations()]).then(function () {
    say("");
    window.gridgeoReady = true;
  }).catch(function (err) { say(String(err)); window.gridgeoError = String(err); });
})();
