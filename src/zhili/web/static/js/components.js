/* zhili component map (/components) and the cases panel of a component's record.
 *
 * Plain ES2017, no build step. Configuration and every string a person reads come from the page as
 * JSON (<script type="application/json" id="components-config">), translated on the server.
 *
 * Coordinates: requests carry crs=<tile CRS>, so everything drawn is already in the map's CRS.
 * Zoomed out, the server answers with H3 cell aggregates (circles with counts); zoomed in, with the
 * components themselves (status-coloured dots on one canvas). "mobile" mode (phones, or ?mode=mobile)
 * folds the panel to the bottom and opens a component's record as a sheet over the map.
 */
(function () {
  'use strict';

  // ------------------------------------------------------------ cases panel (map and record page)

  function casesFrom(body) {
    if (Array.isArray(body)) { return body; }
    if (body && Array.isArray(body.items)) { return body.items; }
    if (body && Array.isArray(body.cases)) { return body.cases; }
    return [];
  }

  function text(tag, className, value) {
    const node = document.createElement(tag);
    if (className) { node.className = className; }
    if (value !== undefined && value !== null) { node.textContent = String(value); }
    return node;
  }

  // The cases domain serves /api/v1/cases?component_id=…; until it does (404) the panel says so.
  document.addEventListener('htmx:beforeSwap', function (evt) {
    const target = evt.detail.target;
    if (!target || !target.classList || !target.classList.contains('js-cases-panel')) { return; }
    const status = evt.detail.xhr.status;
    const box = document.createElement('div');
    if (status === 404) {
      box.appendChild(text('p', 'muted', target.dataset.labelNone));
    } else if (status === 403 || status === 401) {
      box.appendChild(text('p', 'muted', target.dataset.labelDenied));
    } else if (status >= 400) {
      box.appendChild(text('p', 'muted', target.dataset.labelFailed));
    } else {
      let body = null;
      try { body = JSON.parse(evt.detail.serverResponse); } catch (e) { body = null; }
      const list = casesFrom(body);
      if (!list.length) {
        box.appendChild(text('p', 'muted', target.dataset.labelEmpty));
      } else {
        const ul = text('ul', 'cd-case-list');
        list.slice(0, 20).forEach(function (c) {
          const number = c.number || c.case_number || c.id || '';
          const li = document.createElement('li');
          const a = text('a', null, number);
          a.href = '/cases/' + encodeURIComponent(number);
          li.appendChild(a);
          const what = c.title || c.matter_name || c.class_name || c.description || '';
          if (what) { li.appendChild(text('span', null, ' ' + what)); }
          if (c.status_label || c.status) { li.appendChild(text('span', 'badge', c.status_label || c.status)); }
          ul.appendChild(li);
        });
        box.appendChild(ul);
      }
    }
    evt.detail.shouldSwap = true;
    evt.detail.isError = false;
    evt.detail.serverResponse = box.innerHTML;
  });

  // ------------------------------------------------------------ the map

  const cfgEl = document.getElementById('components-config');
  const mapEl = document.getElementById('map');
  if (!cfgEl || !mapEl || typeof window.L === 'undefined') { return; }
  const L = window.L;
  const cfg = JSON.parse(cfgEl.textContent);
  const T = cfg.labels || {};
  const CRS = cfg.tileCrs === 'gcj02' ? 'gcj02' : 'wgs84';
  const COLOURS = cfg.statusColours || {};
  const mobile = cfg.mode === 'mobile' || (cfg.mode !== 'console' && window.matchMedia('(max-width: 699.98px)').matches);
  document.body.classList.toggle('cmp-mobile', mobile);

  function label(key) { return Object.prototype.hasOwnProperty.call(T, key) ? T[key] : key; }

  function apiUrl(path, params) {
    const q = new URLSearchParams();
    Object.keys(params).forEach(function (k) {
      const v = params[k];
      if (Array.isArray(v)) { v.forEach(function (x) { q.append(k, x); }); } else if (v !== undefined && v !== null) { q.append(k, v); }
    });
    const s = q.toString();
    return s ? path + '?' + s : path;
  }

  async function getJSON(url, signal) {
    const resp = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' }, signal: signal });
    let body = null;
    try { body = await resp.json(); } catch (e) { if (e && e.name === 'AbortError') { throw e; } }
    if (!resp.ok) {
      const err = new Error((body && body.detail) || ('HTTP ' + resp.status));
      err.status = resp.status;
      err.detail = body && typeof body.detail === 'string' ? body.detail : '';
      throw err;
    }
    return body;
  }

  function errorText(err) {
    if (err && err.status === 401) { return label('sessionExpired'); }
    if (err && err.status === 403) { return err.detail || label('notPermitted'); }
    return (err && err.detail) || label('loadFailed');
  }

  const statusEl = document.getElementById('map-status');
  function setStatus(msg, kind) {
    if (!statusEl) { return; }
    statusEl.textContent = msg || '';
    statusEl.className = 'map-status' + (kind ? ' is-' + kind : '');
  }
  const hintEl = document.getElementById('map-hint');
  function hint(msg) {
    if (!hintEl) { return; }
    hintEl.textContent = msg || '';
    hintEl.hidden = !msg;
  }

  const district = cfg.district || {};
  const map = L.map(mapEl, {
    center: [Number(district.centroid_lat) || 23.25, Number(district.centroid_lon) || 113.3],
    zoom: mobile ? 12 : 11, minZoom: 9, maxZoom: 19, preferCanvas: true, zoomControl: !mobile,
  });
  window.zhiliComponentsMap = map; // for browser tests and the console
  if (cfg.tileUrl) {
    const attribution = text('span', null, cfg.tileAttribution || '').innerHTML;
    L.tileLayer(cfg.tileUrl, { attribution: attribution, maxZoom: 19 }).addTo(map);
  } else {
    mapEl.classList.add('no-tiles');
  }
  map.createPane('cmpAreas').style.zIndex = '390';
  // Areas on SVG (a few dozen shapes); the many points go on one canvas below.
  const areas = L.geoJSON(null, {
    pane: 'cmpAreas', interactive: false, renderer: L.svg({ padding: 0.5 }),
    style: function (f) {
      const district = f && f.properties && f.properties.level === 'district';
      return district ? { color: '#0d3f85', weight: 3, fillColor: '#fff', fillOpacity: cfg.tileUrl ? 0 : 0.7 }
        : { color: '#5d6b7a', weight: 1, dashArray: '4 3', fillOpacity: 0 };
    },
  }).addTo(map);
  const renderer = L.canvas({ padding: 0.3 });
  const pointsLayer = L.layerGroup().addTo(map);
  const cellsLayer = L.layerGroup().addTo(map);
  L.control.scale({ imperial: false }).addTo(map);

  Promise.all([
    getJSON(apiUrl(cfg.api.areas, { level: 'district', crs: CRS })),
    getJSON(apiUrl(cfg.api.areas, { level: 'street', crs: CRS })),
  ]).then(function (both) {
    map.invalidateSize(); // phones settle their layout (toolbars, viewport meta) after the first paint
    areas.addData(both[0]);
    areas.addData(both[1]);
    if (!cfg.focus && !userMoved) {
      const b = areas.getBounds();
      if (b.isValid()) { map.fitBounds(b, { padding: [10, 10] }); }
    }
  }).catch(function (err) { setStatus(errorText(err), 'error'); });
  let userMoved = false;
  map.on('dragstart', function () { userMoved = true; });
  window.addEventListener('resize', function () { map.invalidateSize(); });

  // ------------------------------------------------------------ layers (classes) and statuses

  const layersEl = document.getElementById('cmp-layers');
  let classes = []; // [{code, name, major_code, major_name, count}]
  const unchecked = new Set(); // class codes switched off (empty = all on)

  function formatCount(n) {
    if (n >= 100000) { return Math.round(n / 1000) + 'k'; }
    if (n >= 10000) { return (n / 1000).toFixed(1).replace(/\.0$/, '') + 'k'; }
    return String(n);
  }

  function renderLayers() {
    if (!layersEl) { return; }
    layersEl.textContent = '';
    const majors = [];
    const byMajor = Object.create(null);
    classes.filter(function (c) { return c.count > 0; }).forEach(function (c) {
      if (!byMajor[c.major_code]) { byMajor[c.major_code] = []; majors.push(c); }
      byMajor[c.major_code].push(c);
    });
    let total = 0;
    majors.forEach(function (m) {
      const list = byMajor[m.major_code];
      const sum = list.reduce(function (a, c) { return a + c.count; }, 0);
      total += sum;
      const details = document.createElement('details');
      details.className = 'cmp-major';
      const summary = document.createElement('summary');
      const box = document.createElement('input');
      box.type = 'checkbox';
      const on = list.filter(function (c) { return !unchecked.has(c.code); }).length;
      box.checked = on === list.length;
      box.indeterminate = on > 0 && on < list.length;
      box.setAttribute('aria-label', m.major_name);
      box.addEventListener('click', function (e) { e.stopPropagation(); });
      box.addEventListener('change', function () {
        list.forEach(function (c) { if (box.checked) { unchecked.delete(c.code); } else { unchecked.add(c.code); } });
        renderLayers();
        reload();
      });
      summary.appendChild(box);
      summary.appendChild(text('span', 'cmp-major-name', m.major_code + ' ' + m.major_name));
      summary.appendChild(text('span', 'cmp-count', formatCount(sum)));
      details.appendChild(summary);
      const ul = text('ul', 'cmp-minors');
      list.forEach(function (c) {
        const li = document.createElement('li');
        const lab = document.createElement('label');
        const cb = document.createElement('input');
        cb.type = 'checkbox';
        cb.value = c.code;
        cb.checked = !unchecked.has(c.code);
        cb.addEventListener('change', function () {
          if (cb.checked) { unchecked.delete(c.code); } else { unchecked.add(c.code); }
          renderLayers();
          reload();
        });
        lab.appendChild(cb);
        lab.appendChild(text('span', null, c.code + ' ' + c.name + (c.is_local ? ' *' : '')));
        lab.appendChild(text('span', 'cmp-count', formatCount(c.count)));
        li.appendChild(lab);
        ul.appendChild(li);
      });
      details.appendChild(ul);
      layersEl.appendChild(details);
    });
    const totalEl = document.getElementById('cmp-total');
    if (totalEl) { totalEl.textContent = total.toLocaleString(); }
  }

  function selectedClasses() {
    if (!unchecked.size) { return null; }
    return classes.filter(function (c) { return c.count > 0 && !unchecked.has(c.code); }).map(function (c) { return c.code; });
  }

  function selectedStatuses() {
    const boxes = Array.prototype.slice.call(document.querySelectorAll('.cmp-statuses input[name=status]'));
    const on = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
    return on.length === boxes.length ? null : on;
  }
  document.querySelectorAll('.cmp-statuses input[name=status]').forEach(function (b) {
    b.addEventListener('change', function () { reload(); });
  });
  const allBtn = document.getElementById('cmp-all');
  const noneBtn = document.getElementById('cmp-none');
  if (allBtn) { allBtn.addEventListener('click', function () { unchecked.clear(); renderLayers(); reload(); }); }
  if (noneBtn) {
    noneBtn.addEventListener('click', function () {
      classes.forEach(function (c) { unchecked.add(c.code); });
      renderLayers();
      reload();
    });
  }

  const classNames = Object.create(null); // class code -> name, for point tooltips
  getJSON(cfg.api.classes).then(function (list) {
    classes = list || [];
    classes.forEach(function (c) { classNames[c.code] = c.name; });
    renderLayers();
  }).catch(function (err) { setStatus(errorText(err), 'error'); });

  // ------------------------------------------------------------ viewport loading

  let abort = null;
  let selectedCode = cfg.focus || null;

  function cellIcon(count, alert) {
    const size = Math.round(Math.min(48, 22 + Math.log10(Math.max(1, count)) * 8));
    return L.divIcon({
      // A red ring where more than one in twenty is damaged or missing: everywhere has a few.
      className: 'cmp-cell' + (alert * 20 > count ? ' has-alert' : ''),
      html: '<span>' + formatCount(count) + '</span>',
      iconSize: [size, size],
    });
  }

  function draw(body) {
    pointsLayer.clearLayers();
    cellsLayer.clearLayers();
    mapEl.dataset.mode = body.mode;
    if (body.mode === 'points') {
      body.points.forEach(function (p) {
        const selected = p[0] === selectedCode;
        const marker = L.circleMarker([p[4], p[3]], {
          renderer: renderer, radius: selected ? 9 : (mobile ? 7 : 6), weight: selected ? 3 : 1,
          color: selected ? '#0d3f85' : '#ffffff', fillColor: COLOURS[p[2]] || '#1459b8', fillOpacity: 0.95,
        });
        marker.componentCode = p[0];
        marker.on('click', function () { openDetail(p[0]); });
        if (!mobile) {
          marker.bindTooltip((classNames[p[1]] || p[1]) + ' · ' + ((cfg.statusLabels || {})[p[2]] || p[2]),
            { direction: 'top' });
        }
        marker.addTo(pointsLayer);
      });
      hint(body.points.length ? '' : label('noneInView'));
    } else {
      body.cells.forEach(function (c) {
        const m = L.marker([c[4], c[3]], { icon: cellIcon(c[1], c[2]), keyboard: false });
        m.on('click', function () { map.setView([c[4], c[3]], Math.min(map.getZoom() + 2, 18)); });
        m.addTo(cellsLayer);
      });
      hint(body.cells.length ? label('cellsHint') : label('noneInView'));
    }
    setStatus(label('inView').replace('{n}', Number(body.total || 0).toLocaleString()));
  }

  async function load() {
    if (abort) { abort.abort(); }
    const ctrl = new AbortController();
    abort = ctrl;
    const b = map.getBounds();
    const chosen = selectedClasses();
    if (chosen && !chosen.length) {
      draw({ mode: 'points', points: [], cells: [], total: 0 });
      return;
    }
    const params = {
      bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(','),
      zoom: map.getZoom(), crs: CRS, class_code: chosen || undefined, status: selectedStatuses() || undefined,
    };
    try {
      const body = await getJSON(apiUrl(cfg.api.viewport, params), ctrl.signal);
      if (!ctrl.signal.aborted) {
        draw(body);
        mapEl.dataset.loaded = String(Number(mapEl.dataset.loaded || 0) + 1);
      }
    } catch (err) {
      if (err && err.name === 'AbortError') { return; }
      setStatus(errorText(err), 'error');
    }
  }
  let timer = null;
  function reload() { clearTimeout(timer); timer = setTimeout(load, 150); }
  map.on('moveend', reload);
  load();

  // ------------------------------------------------------------ detail

  const detail = document.getElementById('component-detail');
  const detailBody = document.getElementById('cmp-detail-body');
  const layersWrap = document.getElementById('cmp-layers-wrap');

  function openDetail(code) {
    selectedCode = code;
    if (!detail || !detailBody || !window.htmx) { window.location.href = cfg.api.panel + code; return; }
    detail.hidden = false;
    if (layersWrap) { layersWrap.hidden = true; }
    setPanelOpen(true);
    window.htmx.ajax('GET', cfg.api.panel + encodeURIComponent(code) + '/panel', { target: detailBody, swap: 'innerHTML' });
    pointsLayer.eachLayer(function (m) {
      const on = m.componentCode === code;
      m.setStyle({ radius: on ? 9 : (mobile ? 7 : 6), weight: on ? 3 : 1, color: on ? '#0d3f85' : '#ffffff' });
    });
  }
  function closeDetail() {
    selectedCode = null;
    if (detail) { detail.hidden = true; }
    if (layersWrap) { layersWrap.hidden = false; }
    reload();
  }
  const closeBtn = document.getElementById('cmp-detail-close');
  if (closeBtn) { closeBtn.addEventListener('click', closeDetail); }

  if (cfg.focus) {
    getJSON(apiUrl(cfg.api.component + encodeURIComponent(cfg.focus), { crs: CRS })).then(function (c) {
      map.setView([c.lat, c.lon], 18);
      openDetail(c.code);
    }).catch(function (err) { setStatus(errorText(err), 'error'); });
  }

  // ------------------------------------------------------------ search

  const form = document.getElementById('cmp-search-form');
  const input = document.getElementById('cmp-search');
  const results = document.getElementById('cmp-results');
  if (form && input && results) {
    form.addEventListener('submit', async function (e) {
      e.preventDefault();
      const q = input.value.trim();
      results.textContent = '';
      if (q.length < 2) { setStatus(label('searchShort'), 'error'); return; }
      setStatus(label('loading'), 'loading');
      try {
        const page = await getJSON(apiUrl(cfg.api.search, { q: q, limit: 10, crs: CRS }));
        const items = (page && page.items) || [];
        results.hidden = false;
        if (!items.length) { setStatus(label('noResults')); return; }
        setStatus('');
        items.forEach(function (c) {
          const li = document.createElement('li');
          const btn = text('button', 'linkbutton', c.name);
          btn.type = 'button';
          btn.appendChild(text('small', 'muted', ' ' + c.code + (c.address ? ' · ' + c.address : '')));
          btn.addEventListener('click', function () {
            results.hidden = true;
            map.setView([c.lat, c.lon], 18);
            openDetail(c.code);
          });
          li.appendChild(btn);
          results.appendChild(li);
        });
      } catch (err) {
        setStatus(errorText(err), 'error');
      }
    });
  }

  // ------------------------------------------------------------ panel folding (phones)

  const panel = document.getElementById('map-panel');
  const toggle = document.getElementById('map-panel-toggle');
  function setPanelOpen(open) {
    if (!panel || !toggle) { return; }
    panel.classList.toggle('is-collapsed', !open);
    toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    toggle.textContent = open ? label('hidePanel') : label('showPanel');
  }
  if (panel) {
    L.DomEvent.disableClickPropagation(panel);
    L.DomEvent.disableScrollPropagation(panel);
  }
  if (toggle) {
    toggle.addEventListener('click', function () { setPanelOpen(panel.classList.contains('is-collapsed')); });
    setPanelOpen(!mobile);
  }
})();
