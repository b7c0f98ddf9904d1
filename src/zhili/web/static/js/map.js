/* zhili map page (/map): district, streets/towns, communities and unit grids on Leaflet.
 *
 * Plain ES2017, no build step, no framework. The page hands its configuration and every string a
 * person will read to this script as JSON (<script type="application/json" id="map-config">), already
 * translated on the server: this file holds no language.
 *
 * Coordinates: every shape is requested with crs=<tile CRS>, so the map's own lat/lng are in the
 * tiles' CRS (WGS-84 or GCJ-02); the server converts. Boxes and clicked points are sent back in the
 * same CRS, so nothing is converted here.
 */
(function () {
  'use strict';

  const cfgEl = document.getElementById('map-config');
  const mapEl = document.getElementById('map');
  if (!cfgEl || !mapEl || typeof window.L === 'undefined') {
    return;
  }
  const L = window.L;
  const cfg = JSON.parse(cfgEl.textContent);
  const T = cfg.labels || {};
  const CRS = cfg.tileCrs === 'gcj02' ? 'gcj02' : 'wgs84';
  const GRID_MIN_ZOOM = cfg.gridMinZoom || 15;
  const STREET_LABEL_ZOOM = cfg.streetLabelZoom || 12;
  const COMMUNITY_LABEL_ZOOM = cfg.communityLabelZoom || 14;
  const GRID_LIMIT = 3000; // the server answers at most this many grids per box
  const GRID_CODE = /^\d{15}$/;
  const COLORS = {
    district: '#0d3f85',
    community: '#4f5d6b',
    grid: '#1459b8',
    selected: '#e65100',
  };

  // ---------------------------------------------------------------- helpers

  function label(key) {
    return Object.prototype.hasOwnProperty.call(T, key) ? T[key] : key;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function debounce(fn, ms) {
    let timer = null;
    const wrapped = function () {
      const args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
    wrapped.cancel = function () { clearTimeout(timer); };
    return wrapped;
  }

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail || ('HTTP ' + status));
      this.name = 'ApiError';
      this.status = status;
      this.detail = detail || '';
    }
  }

  function apiUrl(path, params) {
    const query = new URLSearchParams(params).toString();
    return query ? path + '?' + query : path;
  }

  // Same-origin GET with the session cookie; errors carry the server's problem `detail`.
  async function getJSON(url, signal) {
    const resp = await fetch(url, {
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
      signal: signal,
    });
    let body = null;
    try {
      body = await resp.json();
    } catch (e) {
      if (e && e.name === 'AbortError') {
        throw e;
      }
      body = null;
    }
    if (!resp.ok) {
      const detail = body && typeof body.detail === 'string' ? body.detail : '';
      throw new ApiError(resp.status, detail);
    }
    return body;
  }

  function isAbort(err) {
    return Boolean(err) && err.name === 'AbortError';
  }

  // A sentence for a person: the session and permission cases in our words, else the server's.
  function errorText(err) {
    if (err instanceof ApiError) {
      if (err.status === 401) {
        return label('sessionExpired');
      }
      if (err.status === 403) {
        return err.detail || label('notPermitted');
      }
      if (err.detail) {
        return err.detail;
      }
    }
    return label('loadFailed');
  }

  function featuresOf(fc) {
    return fc && Array.isArray(fc.features) ? fc.features : [];
  }

  const statusEl = document.getElementById('map-status');
  function setStatus(text, kind) {
    if (!statusEl) {
      return;
    }
    statusEl.textContent = text || '';
    statusEl.className = 'map-status' + (kind ? ' is-' + kind : '');
  }

  const hintEl = document.getElementById('grid-hint');
  function showHint(text, kind) {
    if (!hintEl) {
      return;
    }
    hintEl.textContent = text;
    hintEl.className = 'map-hint' + (kind ? ' is-' + kind : '');
    hintEl.hidden = false;
  }
  function hideHint() {
    if (hintEl) {
      hintEl.hidden = true;
    }
  }

  // ---------------------------------------------------------------- the map

  const district = cfg.district || {};
  const map = L.map(mapEl, {
    center: [Number(district.centroid_lat) || 23.2, Number(district.centroid_lon) || 113.3],
    zoom: 11,
    minZoom: 8,
    maxZoom: 18,
    zoomControl: true,
  });
  window.zhiliMap = map; // for browser tests and the console

  // Paint order, bottom to top; popups and tooltips stay above all of these.
  [['zhDistrict', 410], ['zhStreets', 420], ['zhCommunities', 430], ['zhDistrictLine', 435], ['zhGrids', 440],
    ['zhSelected', 450]]
    .forEach(function (pair) { map.createPane(pair[0]).style.zIndex = String(pair[1]); });
  map.getPane('zhSelected').style.pointerEvents = 'none';

  let baseLayer = null;
  if (cfg.tileUrl) {
    // The attribution is shown as text: it comes from a setting, and text needs no markup.
    const attribution = el('span', null, cfg.tileAttribution || '').innerHTML;
    baseLayer = L.tileLayer(cfg.tileUrl, { attribution: attribution, maxZoom: 18 }).addTo(map);
  } else {
    mapEl.classList.add('no-tiles');
  }

  // Lookups filled as layers load (for the "approximate" note in popups).
  const streetsByCode = Object.create(null);
  const communitiesByCode = Object.create(null);
  let userMoved = false;
  map.on('dragstart', function () { userMoved = true; });
  mapEl.addEventListener('wheel', function () { userMoved = true; }, { passive: true });

  // ---------------------------------------------------------------- district

  // Without tiles the district is a light sheet on a plain background, under everything else; its
  // outline is drawn above the streets and communities so that their edges do not hide it.
  const districtFill = L.geoJSON(null, {
    pane: 'zhDistrict',
    interactive: false,
    style: function () {
      return { stroke: false, fill: true, fillColor: '#ffffff', fillOpacity: 0.75 };
    },
  });
  if (!cfg.tileUrl) {
    districtFill.addTo(map);
  }
  const districtLayer = L.geoJSON(null, {
    pane: 'zhDistrictLine',
    interactive: false,
    style: function (feature) {
      const approx = Boolean(feature && feature.properties && feature.properties.approximate);
      return {
        color: COLORS.district,
        weight: 3,
        opacity: 0.9,
        dashArray: approx ? '8 6' : null,
        fill: false,
      };
    },
  }).addTo(map);

  // The side panel lies over the map: keep what we show (fitted areas, popups) out from under it.
  function panelInsets() {
    const panelEl = document.getElementById('map-panel');
    const insets = { left: 0, bottom: 0 };
    if (!panelEl || panelEl.offsetParent === null) {
      return insets;
    }
    const m = mapEl.getBoundingClientRect();
    const r = panelEl.getBoundingClientRect();
    if (r.top > m.top + m.height / 2) {
      insets.bottom = Math.max(0, m.bottom - r.top); // phones: the panel sits at the bottom
    } else {
      insets.left = Math.max(0, r.right - m.left);
    }
    return insets;
  }
  function fitPadding(extra) {
    const i = panelInsets();
    return { paddingTopLeft: [i.left + extra, extra], paddingBottomRight: [extra, i.bottom + extra] };
  }
  function popupOptions() {
    const i = panelInsets();
    return {
      maxWidth: 320,
      autoPanPaddingTopLeft: [i.left + 16, 16],
      autoPanPaddingBottomRight: [16, i.bottom + 16],
    };
  }

  // ---------------------------------------------------------------- streets and towns

  // Distinct, stable colours: hues spread by the golden angle in code order.
  const streetColor = Object.create(null);
  function colourFor(index) {
    const hue = Math.round((index * 137.508 + 15) % 360);
    return 'hsl(' + hue + ', 70%, 38%)';
  }

  const streetsLayer = L.geoJSON(null, {
    pane: 'zhStreets',
    className: 'zhili-street',
    style: function (feature) {
      const p = feature.properties || {};
      return {
        color: streetColor[p.code] || COLORS.district,
        weight: 2,
        opacity: 0.95,
        dashArray: p.approximate ? '6 4' : null,
        fillColor: streetColor[p.code] || COLORS.district,
        fillOpacity: 0.06,
      };
    },
    onEachFeature: function (feature, layer) {
      const p = feature.properties || {};
      layer.bindTooltip(String(p.name || p.code || ''), {
        permanent: true,
        direction: 'center',
        className: 'zh-label zh-label-street',
        opacity: 1,
      });
      // No popup of its own: a click falls through to the map, which finds the unit grid there.
      layer.on('mouseover', function () { layer.setStyle({ weight: 3, fillOpacity: 0.12 }); });
      layer.on('mouseout', function () { streetsLayer.resetStyle(layer); });
    },
  }).addTo(map);

  // ---------------------------------------------------------------- communities (on demand)

  const communitiesLayer = L.geoJSON(null, {
    pane: 'zhCommunities',
    className: 'zhili-community',
    style: function (feature) {
      const p = feature.properties || {};
      return {
        color: COLORS.community,
        weight: 1,
        opacity: 0.8,
        dashArray: p.approximate ? '4 3' : null,
        fillOpacity: 0,
      };
    },
    onEachFeature: function (feature, layer) {
      const p = feature.properties || {};
      layer.bindTooltip(String(p.name || p.code || ''), {
        permanent: true,
        direction: 'center',
        className: 'zh-label zh-label-community',
        opacity: 1,
      });
    },
  });
  let communitiesState = 'none'; // none | loading | loaded

  const showCommunitiesBtn = document.getElementById('show-communities');

  async function ensureCommunities() {
    if (communitiesState !== 'none') {
      return;
    }
    communitiesState = 'loading';
    setStatus(label('loading'), 'loading');
    try {
      const fc = await getJSON(apiUrl(cfg.api.areas, { level: 'community', crs: CRS }));
      const features = featuresOf(fc);
      features.forEach(function (f) {
        if (f.properties && f.properties.code) {
          communitiesByCode[f.properties.code] = f.properties;
        }
      });
      communitiesLayer.addData(fc);
      communitiesState = 'loaded';
      const countEl = document.getElementById('count-communities');
      if (countEl) {
        countEl.textContent = String(features.length);
      }
      setStatus('');
    } catch (err) {
      communitiesState = 'none';
      setStatus(errorText(err), 'error');
    }
  }
  communitiesLayer.on('add', function () {
    mapEl.classList.add('communities-on');
    if (showCommunitiesBtn) {
      showCommunitiesBtn.hidden = true;
    }
    ensureCommunities();
  });
  communitiesLayer.on('remove', function () {
    mapEl.classList.remove('communities-on');
    if (showCommunitiesBtn) {
      showCommunitiesBtn.hidden = false;
    }
  });
  if (showCommunitiesBtn) {
    showCommunitiesBtn.addEventListener('click', function () { map.addLayer(communitiesLayer); });
  }

  // ---------------------------------------------------------------- unit grids (per viewport)

  let selectedCode = null;

  function gridStyle(feature) {
    const p = (feature && feature.properties) || {};
    const selected = selectedCode !== null && p.code === selectedCode;
    return {
      color: selected ? COLORS.selected : COLORS.grid,
      weight: selected ? 3 : 1,
      opacity: selected ? 1 : 0.7,
      fillColor: selected ? COLORS.selected : COLORS.grid,
      fillOpacity: selected ? 0.15 : 0.04,
    };
  }

  const gridsLayer = L.geoJSON(null, {
    pane: 'zhGrids',
    className: 'zhili-grid',
    bubblingMouseEvents: false, // a click on a grid is answered here, not by the map's locate
    style: gridStyle,
    onEachFeature: function (feature, layer) {
      layer.on('click', function (e) {
        openInfoPopup(e.latlng, feature.properties || {});
      });
      layer.on('mouseover', function () { layer.setStyle({ weight: 2, fillOpacity: 0.18 }); });
      layer.on('mouseout', function () { layer.setStyle(gridStyle(feature)); });
    },
  }).addTo(map);

  let gridAbort = null;
  let gridBox = null; // the box the shown grids were fetched for
  let gridBoxComplete = false; // false when the server's limit may have cut the answer short

  function abortGrids() {
    if (gridAbort) {
      gridAbort.abort();
      gridAbort = null;
    }
  }

  function bboxParam(bounds) {
    return [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
      .map(function (v) { return v.toFixed(6); }).join(',');
  }

  // The server answers boxes up to a size (in square degrees); a larger view is asked for in parts.
  let maxBoxDeg2 = Number(cfg.gridMaxBoxDeg2) || 0.0016;
  function splitBox(bounds) {
    const w = bounds.getEast() - bounds.getWest();
    const h = bounds.getNorth() - bounds.getSouth();
    const parts = Math.max(1, Math.ceil((w * h) / (maxBoxDeg2 * 0.95)));
    let cols = Math.max(1, Math.round(Math.sqrt(parts * w / h)));
    let rows = Math.max(1, Math.ceil(parts / cols));
    while ((w / cols) * (h / rows) > maxBoxDeg2 * 0.95) {
      if (w / cols > h / rows) { cols += 1; } else { rows += 1; }
    }
    const boxes = [];
    for (let r = 0; r < rows; r += 1) {
      for (let c = 0; c < cols; c += 1) {
        const west = bounds.getWest() + (w * c) / cols;
        const south = bounds.getSouth() + (h * r) / rows;
        boxes.push(L.latLngBounds([south, west], [south + h / rows, west + w / cols]));
      }
    }
    return boxes;
  }

  // Nearest the view's centre first: the grids a person is looking at are the first in the page.
  function byDistanceFromCentre(features, centre) {
    function firstPoint(geometry) {
      let c = geometry && geometry.coordinates;
      while (Array.isArray(c) && Array.isArray(c[0])) {
        c = c[0];
      }
      return Array.isArray(c) ? c : null;
    }
    function centreOf(f) {
      const geometry = f.geometry || {};
      const rings = geometry.type === 'MultiPolygon' ? (geometry.coordinates[0] || []) : geometry.coordinates;
      const ring = Array.isArray(rings) ? rings[0] : null;
      if (!Array.isArray(ring) || ring.length === 0) {
        const p = firstPoint(geometry);
        return p ? { x: p[0], y: p[1] } : { x: Infinity, y: Infinity };
      }
      let minX = Infinity;
      let minY = Infinity;
      let maxX = -Infinity;
      let maxY = -Infinity;
      ring.forEach(function (pt) {
        minX = Math.min(minX, pt[0]);
        maxX = Math.max(maxX, pt[0]);
        minY = Math.min(minY, pt[1]);
        maxY = Math.max(maxY, pt[1]);
      });
      return { x: (minX + maxX) / 2, y: (minY + maxY) / 2 };
    }
    return features
      .map(function (f) {
        const c = centreOf(f);
        const dx = c.x - centre.lng;
        const dy = c.y - centre.lat;
        return { f: f, d: dx * dx + dy * dy };
      })
      .sort(function (a, b) { return a.d - b.d; })
      .map(function (item) { return item.f; });
  }

  async function loadGrids(pad, retried) {
    abortGrids();
    const ctrl = new AbortController();
    gridAbort = ctrl;
    const box = map.getBounds().pad(pad);
    const parts = splitBox(box);
    if (parts.length > 6) {
      // Far too many parts for one view (a huge screen): ask for exactly the view instead.
      if (pad > 0) {
        gridAbort = null;
        loadGrids(0, retried);
        return;
      }
    }
    showHint(label('loading'), 'loading');
    try {
      const answers = await Promise.all(parts.map(function (part) {
        return getJSON(apiUrl(cfg.api.grids, { bbox: bboxParam(part), crs: CRS }), ctrl.signal);
      }));
      if (ctrl.signal.aborted) {
        return;
      }
      // A grid across two parts comes back twice: keep one.
      const seen = Object.create(null);
      let complete = true;
      const features = [];
      answers.forEach(function (fc) {
        const list = featuresOf(fc);
        if (list.length >= GRID_LIMIT || (fc && fc.truncated)) {
          complete = false;
        }
        list.forEach(function (f) {
          const code = f.properties && f.properties.code;
          if (code && seen[code]) {
            return;
          }
          if (code) {
            seen[code] = true;
          }
          features.push(f);
        });
      });
      gridsLayer.clearLayers();
      gridsLayer.addData({ type: 'FeatureCollection', features: byDistanceFromCentre(features, map.getCenter()) });
      gridBox = box;
      gridBoxComplete = complete;
      hideHint();
    } catch (err) {
      if (isAbort(err) || ctrl.signal.aborted) {
        return;
      }
      if (err instanceof ApiError && err.status === 422 && !retried) {
        // The server's box limit is smaller than we thought: ask in smaller parts, once.
        ctrl.abort();
        maxBoxDeg2 /= 2;
        gridAbort = null;
        loadGrids(pad, true);
        return;
      }
      gridsLayer.clearLayers();
      gridBox = null;
      if (err instanceof ApiError && err.status === 422) {
        showHint(err.detail || label('tooManyGrids'), 'error');
      } else {
        showHint(errorText(err), 'error');
      }
    } finally {
      if (gridAbort === ctrl) {
        gridAbort = null;
      }
    }
  }
  const loadGridsSoon = debounce(function () { loadGrids(0.1, false); }, 250);

  function refreshGrids() {
    if (!map.hasLayer(gridsLayer)) {
      loadGridsSoon.cancel();
      abortGrids();
      hideHint();
      return;
    }
    if (map.getZoom() < GRID_MIN_ZOOM) {
      loadGridsSoon.cancel();
      abortGrids();
      gridsLayer.clearLayers();
      gridBox = null;
      showHint(label('zoomInForGrids'));
      return;
    }
    if (gridBox && gridBoxComplete && gridBox.contains(map.getBounds())) {
      hideHint();
      return; // what is shown already covers the view
    }
    loadGridsSoon();
  }
  map.on('moveend', refreshGrids);
  gridsLayer.on('add', refreshGrids);
  gridsLayer.on('remove', function () {
    gridsLayer.clearLayers();
    gridBox = null;
    refreshGrids();
  });

  // ---------------------------------------------------------------- popups

  function isApproximate(info) {
    const street = streetsByCode[info.street_code];
    const community = communitiesByCode[info.community_code];
    return Boolean(info.approximate || (street && street.approximate) || (community && community.approximate));
  }

  function formatArea(m2) {
    const n = Math.round(Number(m2));
    return label('squareMetres').replace('{n}', n.toLocaleString(document.documentElement.lang || undefined));
  }

  // Grid properties (from /grids) or a located point (from /locate) have the same fields.
  function infoContent(info) {
    const box = el('div', 'zh-popup zh-grid-popup');
    box.appendChild(el('div', 'zh-popup-title', label('unitGrid')));
    box.appendChild(el('div', 'zh-grid-code', info.grid_code || info.code || ''));
    const dl = el('dl');
    function row(term, value, className) {
      if (value === undefined || value === null || value === '') {
        return;
      }
      const wrap = el('div', className || null);
      wrap.appendChild(el('dt', null, term));
      wrap.appendChild(el('dd', null, value));
      dl.appendChild(wrap);
    }
    row(label('community'), info.community_name || info.community_code);
    row(label('street'), info.street_name || info.street_code);
    row(label('responsibilityGrid'), info.responsibility_grid_code);
    row(label('inspector'), info.inspector_name || label('unassigned'),
      info.inspector_name ? 'zh-inspector' : 'zh-inspector is-unassigned');
    if (info.area_m2) {
      row(label('area'), formatArea(info.area_m2));
    }
    box.appendChild(dl);
    if (isApproximate(info)) {
      box.appendChild(el('p', 'zh-approx', label('approximateNote')));
    }
    return box;
  }

  function messageContent(text, kind) {
    return el('div', 'zh-popup zh-popup-message' + (kind ? ' is-' + kind : ''), text);
  }

  function openInfoPopup(latlng, info) {
    L.popup(popupOptions())
      .setLatLng(latlng)
      .setContent(infoContent(info))
      .openOn(map);
  }

  // A click anywhere not on a grid: ask the server which grid holds the point.
  let locateAbort = null;
  map.on('click', async function (e) {
    if (locateAbort) {
      locateAbort.abort();
    }
    const ctrl = new AbortController();
    locateAbort = ctrl;
    const popup = L.popup(popupOptions())
      .setLatLng(e.latlng)
      .setContent(messageContent(label('locating'), 'loading'))
      .openOn(map);
    const params = { lon: e.latlng.lng.toFixed(7), lat: e.latlng.lat.toFixed(7), crs: CRS };
    try {
      const info = await getJSON(apiUrl(cfg.api.locate, params), ctrl.signal);
      popup.setContent(infoContent(info || {}));
    } catch (err) {
      if (isAbort(err) || ctrl.signal.aborted) {
        return;
      }
      // Outside the district the server says so (422 with a detail): show its words.
      popup.setContent(messageContent(errorText(err), 'error'));
    } finally {
      if (locateAbort === ctrl) {
        locateAbort = null;
      }
    }
  });

  // ---------------------------------------------------------------- labels by zoom

  function updateZoomClasses() {
    const z = map.getZoom();
    mapEl.classList.toggle('show-street-labels', z >= STREET_LABEL_ZOOM);
    mapEl.classList.toggle('show-community-labels', z >= COMMUNITY_LABEL_ZOOM);
  }
  map.on('zoomend', updateZoomClasses);
  updateZoomClasses();

  // ---------------------------------------------------------------- layer switcher

  // Base map as a check box, not a lone radio button: it can be switched off to see the shapes alone.
  const overlays = {};
  if (baseLayer) {
    overlays[label('baseMap')] = baseLayer;
  }
  overlays[label('districtBoundary')] = districtLayer;
  overlays[label('streets')] = streetsLayer;
  overlays[label('communities')] = communitiesLayer;
  overlays[label('unitGrids')] = gridsLayer;
  L.control.layers(null, overlays, { collapsed: window.innerWidth < 700 }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);

  // ---------------------------------------------------------------- grid search

  const selectedLayer = L.geoJSON(null, {
    pane: 'zhSelected',
    interactive: false,
    style: function () {
      return { color: COLORS.selected, weight: 4, opacity: 1, fillOpacity: 0 };
    },
  }).addTo(map);

  function boundsOf(result) {
    if (result && result.geometry) {
      return L.geoJSON(result.geometry).getBounds();
    }
    if (result && Array.isArray(result.bbox) && result.bbox.length === 4) {
      const b = result.bbox;
      return L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
    }
    if (result && typeof result.min_lon === 'number') {
      return L.latLngBounds([result.min_lat, result.min_lon], [result.max_lat, result.max_lon]);
    }
    if (result && typeof result.centroid_lon === 'number') {
      return L.latLng(result.centroid_lat, result.centroid_lon).toBounds(150);
    }
    return null;
  }

  const searchForm = document.getElementById('grid-search-form');
  const searchInput = document.getElementById('grid-search');
  let searchAbort = null;

  async function searchGrid(raw) {
    const code = String(raw || '').replace(/\s+/g, '');
    if (!GRID_CODE.test(code)) {
      setStatus(label('enterGridCode'), 'error');
      if (searchInput) {
        searchInput.setAttribute('aria-invalid', 'true');
        searchInput.focus();
      }
      return;
    }
    if (searchInput) {
      searchInput.removeAttribute('aria-invalid');
    }
    if (searchAbort) {
      searchAbort.abort();
    }
    const ctrl = new AbortController();
    searchAbort = ctrl;
    setStatus(label('searching'), 'loading');
    try {
      // The grid's facts (404 when there is no such grid), then its outline in the tiles' CRS.
      const base = cfg.api.grids + '/' + encodeURIComponent(code);
      const found = await getJSON(base, ctrl.signal);
      const shapeFc = await getJSON(apiUrl(base + '/geometry', { crs: CRS }), ctrl.signal);
      const feature = featuresOf(shapeFc)[0] || null;
      const info = Object.assign({}, (feature && feature.properties) || {}, found || {});
      if (!info.code) {
        info.code = code;
      }
      const bounds = boundsOf(feature || found);
      setStatus('');
      selectedCode = info.code;
      gridsLayer.setStyle(gridStyle);
      selectedLayer.clearLayers();
      if (feature && feature.geometry) {
        selectedLayer.addData(feature);
      }
      userMoved = true;
      if (bounds && bounds.isValid()) {
        map.once('moveend', function () { openInfoPopup(bounds.getCenter(), info); });
        map.flyToBounds(bounds, Object.assign({ maxZoom: 18, duration: 0.8 }, fitPadding(40)));
      }
      if (window.matchMedia('(max-width: 699.98px)').matches) {
        setPanelOpen(false); // give the map the screen
      }
    } catch (err) {
      if (isAbort(err) || ctrl.signal.aborted) {
        return;
      }
      if (err instanceof ApiError && err.status === 404) {
        setStatus(label('gridNotFound'), 'error');
      } else {
        setStatus(errorText(err), 'error');
      }
    } finally {
      if (searchAbort === ctrl) {
        searchAbort = null;
      }
    }
  }

  if (searchForm) {
    searchForm.addEventListener('submit', function (e) {
      e.preventDefault();
      searchGrid(searchInput ? searchInput.value : '');
    });
  }

  // ---------------------------------------------------------------- side panel

  const panel = document.getElementById('map-panel');
  const panelToggle = document.getElementById('map-panel-toggle');

  function setPanelOpen(open) {
    if (!panel || !panelToggle) {
      return;
    }
    panel.classList.toggle('is-collapsed', !open);
    panelToggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    panelToggle.textContent = open ? label('hidePanel') : label('showPanel');
  }

  if (panel) {
    // Keep clicks, drags and wheel turns in the panel from reaching the map underneath.
    L.DomEvent.disableClickPropagation(panel);
    L.DomEvent.disableScrollPropagation(panel);
  }
  if (panelToggle) {
    panelToggle.addEventListener('click', function () {
      setPanelOpen(panel.classList.contains('is-collapsed'));
    });
    setPanelOpen(!window.matchMedia('(max-width: 699.98px)').matches);
  }
  if (hintEl) {
    L.DomEvent.disableClickPropagation(hintEl);
  }

  // ---------------------------------------------------------------- street list

  function fillStreetList(features) {
    const list = document.querySelector('#street-list ul');
    if (!list) {
      return;
    }
    list.textContent = '';
    features.forEach(function (f) {
      const p = f.properties || {};
      const li = el('li');
      const btn = el('button', 'linkbutton');
      btn.type = 'button';
      const swatch = el('span', 'swatch');
      swatch.style.borderColor = streetColor[p.code] || COLORS.district;
      swatch.setAttribute('aria-hidden', 'true');
      btn.appendChild(swatch);
      btn.appendChild(document.createTextNode(String(p.name || p.code)));
      if (p.approximate) {
        btn.appendChild(el('small', 'muted', ' · ' + label('approximate')));
      }
      btn.addEventListener('click', function () {
        const bounds = L.geoJSON(f).getBounds();
        if (bounds.isValid()) {
          userMoved = true;
          map.flyToBounds(bounds, Object.assign({ duration: 0.6 }, fitPadding(20)));
        }
      });
      li.appendChild(btn);
      list.appendChild(li);
    });
  }

  // ---------------------------------------------------------------- first load

  async function loadDistrict() {
    const fc = await getJSON(apiUrl(cfg.api.areas, { level: 'district', crs: CRS }));
    districtFill.addData(fc);
    districtLayer.addData(fc);
    const bounds = districtLayer.getBounds();
    if (!userMoved && bounds.isValid()) {
      map.fitBounds(bounds, fitPadding(10));
    }
  }

  async function loadStreets() {
    const fc = await getJSON(apiUrl(cfg.api.areas, { level: 'street', crs: CRS }));
    const features = featuresOf(fc).slice().sort(function (a, b) {
      return String((a.properties || {}).code).localeCompare(String((b.properties || {}).code));
    });
    features.forEach(function (f, i) {
      const p = f.properties || {};
      streetColor[p.code] = colourFor(i);
      streetsByCode[p.code] = p;
    });
    streetsLayer.addData({ type: 'FeatureCollection', features: features });
    const countEl = document.getElementById('count-streets');
    if (countEl) {
      countEl.textContent = String(features.length);
    }
    fillStreetList(features);
  }

  Promise.all([loadDistrict(), loadStreets()]).catch(function (err) {
    setStatus(errorText(err), 'error');
  });
  refreshGrids();
})();
