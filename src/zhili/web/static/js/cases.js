/* zhili case pages (/cases, /cases/new, /cases/{number}, /m…): small map, photo uploads, batch ticks,
 * the phone's position.
 *
 * Plain ES2017, no build step. The page hands its configuration and every string a person reads to
 * this script as JSON (<script type="application/json" id="case-map-config">), translated on the
 * server: this file holds no language. Points arrive in the base map's CRS and clicked points are
 * sent back with that CRS named (the form's `crs` field), so nothing is converted here; the phone's
 * GPS position is WGS-84 and is sent as such.
 */
(function () {
  'use strict';

  const cfgEl = document.getElementById('case-map-config');
  const cfg = cfgEl ? JSON.parse(cfgEl.textContent) : {};
  const T = cfg.labels || {};
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const CSRF = csrfMeta ? csrfMeta.getAttribute('content') : '';

  function label(key) {
    return Object.prototype.hasOwnProperty.call(T, key) ? T[key] : key;
  }

  // ---------------------------------------------------------------- map (detail and report form)

  const mapEl = document.getElementById('case-map');
  if (mapEl && typeof window.L !== 'undefined') {
    const L = window.L;
    const point = Array.isArray(cfg.point) ? [cfg.point[1], cfg.point[0]] : null;
    const centre = point || (Array.isArray(cfg.centre) ? [cfg.centre[1], cfg.centre[0]] : [23.25, 113.3]);
    const map = L.map(mapEl, { center: centre, zoom: cfg.zoom || 16, minZoom: 8, maxZoom: 18 });
    window.zhiliCaseMap = map; // for browser tests
    if (cfg.tileUrl) {
      const attribution = document.createElement('span');
      attribution.textContent = cfg.tileAttribution || '';
      L.tileLayer(cfg.tileUrl, { attribution: attribution.innerHTML, maxZoom: 18 }).addTo(map);
    } else {
      mapEl.classList.add('no-tiles');
    }
    // The page's grid layout may still settle after the script runs: measure again once it has.
    window.addEventListener('load', function () {
      map.invalidateSize();
      if (point) {
        map.setView(point, map.getZoom(), { animate: false });
      }
    });
    if (cfg.gridUrl) {
      // The case's unit grid, for context when no base map is configured (served in the tiles' CRS).
      fetch(cfg.gridUrl, { credentials: 'same-origin', headers: { Accept: 'application/geo+json' } })
        .then(function (resp) { return resp.ok ? resp.json() : null; })
        .then(function (geojson) {
          if (geojson) {
            L.geoJSON(geojson, {
              interactive: false,
              style: { color: '#1459b8', weight: 2, fillColor: '#1459b8', fillOpacity: 0.08 },
            }).addTo(map).bringToBack();
          }
        })
        .catch(function () { /* the point alone still shows where the case is */ });
    }
    const style = { radius: 9, color: '#0d3f85', weight: 3, fillColor: '#e65100', fillOpacity: 0.9 };
    let marker = point ? L.circleMarker(point, style).addTo(map).bindTooltip(label('case')) : null;

    if (cfg.picker) {
      const lonIn = document.querySelector('[data-point=lon]');
      const latIn = document.querySelector('[data-point=lat]');
      const result = document.getElementById('locate-result');
      const crsIn = document.querySelector('input[name=crs]');
      const crs = crsIn ? crsIn.value : 'wgs84';
      const place = async function (lat, lng) {
        if (marker) {
          marker.setLatLng([lat, lng]);
        } else {
          marker = L.circleMarker([lat, lng], style).addTo(map);
        }
        if (result && cfg.locateUrl) {
          result.textContent = label('locating');
          const q = new URLSearchParams({ lon: lng.toFixed(7), lat: lat.toFixed(7), crs: crs });
          try {
            const resp = await fetch(cfg.locateUrl + '?' + q.toString(), {
              credentials: 'same-origin', headers: { Accept: 'application/json' },
            });
            const body = await resp.json();
            result.textContent = resp.ok
              ? [body.street_name, body.community_name, body.grid_code].filter(Boolean).join(' · ')
              : (body.detail || label('outside'));
            result.className = resp.ok ? 'muted' : 'error-text';
          } catch (e) {
            result.textContent = '';
          }
        }
      };
      map.on('click', function (e) {
        lonIn.value = e.latlng.lng.toFixed(7);
        latIn.value = e.latlng.lat.toFixed(7);
        place(e.latlng.lat, e.latlng.lng);
      });
      const typed = function () {
        const lng = parseFloat(lonIn.value);
        const lat = parseFloat(latIn.value);
        if (Number.isFinite(lng) && Number.isFinite(lat)) {
          map.setView([lat, lng], Math.max(map.getZoom(), 16));
          place(lat, lng);
        }
      };
      lonIn.addEventListener('change', typed);
      latIn.addEventListener('change', typed);
      if (point) {
        place(point[0], point[1]);
      }
    }
  }

  // ---------------------------------------------------------------- photo uploads

  // Each <input type=file data-upload=NAME> uploads to /api/v1/files on change; the answer's sha256
  // becomes a hidden input NAME in the next [data-uploads=NAME] box, with a thumbnail to remove it.
  function uploadBox(input) {
    const name = input.getAttribute('data-upload');
    const form = input.closest('form');
    return form.querySelector('[data-uploads="' + name + '"]');
  }

  function thumb(box, name, sha) {
    const span = document.createElement('span');
    span.className = 'upload';
    const img = document.createElement('img');
    img.src = '/api/v1/files/' + sha + '/content';
    img.alt = '';
    const hidden = document.createElement('input');
    hidden.type = 'hidden';
    hidden.name = name;
    hidden.value = sha;
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'remove';
    remove.textContent = '×';
    remove.title = label('remove');
    remove.addEventListener('click', function () { span.remove(); });
    span.append(img, hidden, remove);
    box.append(span);
  }

  async function upload(input) {
    const name = input.getAttribute('data-upload');
    const box = uploadBox(input);
    const form = input.closest('form');
    const submit = form.querySelector('button[type=submit]');
    const note = document.createElement('span');
    note.className = 'upload-note';
    note.textContent = label('uploading');
    box.append(note);
    if (submit) {
      submit.disabled = true;
    }
    try {
      for (const file of Array.from(input.files || [])) {
        const data = new FormData();
        data.append('file', file);
        const resp = await fetch('/api/v1/files', {
          method: 'POST', body: data, credentials: 'same-origin',
          headers: { 'X-CSRF-Token': CSRF, Accept: 'application/json' },
        });
        let body = null;
        try {
          body = await resp.json();
        } catch (e) {
          body = null;
        }
        if (!resp.ok || !body || !body.sha256) {
          const err = document.createElement('span');
          err.className = 'error-text';
          err.textContent = label('uploadFailed') + ' ' + ((body && body.detail) || ('HTTP ' + resp.status));
          box.append(err);
          continue;
        }
        thumb(box, name, body.sha256);
      }
    } finally {
      note.remove();
      input.value = '';
      if (submit) {
        submit.disabled = false;
      }
    }
  }

  document.querySelectorAll('input[type=file][data-upload]').forEach(function (input) {
    input.addEventListener('change', function () { upload(input); });
  });

  // ---------------------------------------------------------------- batch ticks and toggles

  document.addEventListener('change', function (e) {
    const target = e.target;
    if (target.matches('[data-check-all]')) {
      target.closest('table').querySelectorAll('input[name=items]').forEach(function (box) {
        box.checked = target.checked;
      });
    }
    if (target.matches('[data-toggle]')) {
      const block = document.getElementById(target.getAttribute('data-toggle'));
      if (block) {
        block.hidden = !target.checked;
      }
    }
  });

  // ---------------------------------------------------------------- the phone's position (WGS-84)

  function geolocate() {
    const status = document.querySelector('[data-geo-status]');
    if (!navigator.geolocation) {
      if (status) {
        status.textContent = label('noLocation');
      }
      return;
    }
    navigator.geolocation.getCurrentPosition(function (pos) {
      const lon = pos.coords.longitude.toFixed(7);
      const lat = pos.coords.latitude.toFixed(7);
      document.querySelectorAll('[data-geo=lon]').forEach(function (el) { el.value = lon; });
      document.querySelectorAll('[data-geo=lat]').forEach(function (el) { el.value = lat; });
      if (status) {
        status.textContent = label('located').replace('{m}', String(Math.round(pos.coords.accuracy || 0)));
      }
    }, function () {
      if (status) {
        status.textContent = label('noLocation');
      }
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  if (cfg.geolocate) {
    geolocate();
    document.querySelectorAll('[data-geolocate]').forEach(function (btn) {
      btn.addEventListener('click', geolocate);
    });
  }
})();
