/* voisinmap: choice of the background of a map (see app/components/basemap.py).
 * The page opens on the neutral background. One probe tile of the first tile background is loaded; the map
 * switches to that background only when the tile arrives. Offline, the neutral background stays selected
 * after a single failed request, instead of one console error per tile. A tile background that fails later
 * (the connection drops) is swapped for the neutral one at its first tile error; the rest are not loaded. */
(function () {
    "use strict";
    const ns = (window.voisinmap = window.voisinmap || {});
    const PROBE_TIMEOUT_MS = 8000;

    function bases(control) {
        return (control._layers || []).filter((entry) => !entry.overlay);
    }

    function isTiles(entry) {
        return entry.layer instanceof window.L.TileLayer;
    }

    function select(control, entry) {
        const id = window.L.stamp(entry.layer);
        const input = (control._layerControlInputs || []).find((i) => i.layerId === id);
        if (input && !input.checked) { input.click(); }
    }

    function setState(map, state) {
        map.getContainer().dataset.basemap = state;
    }

    function tileUrl(layer, map) {
        const z = Math.max(0, Math.min(Math.round(map.getZoom()), layer.options.maxNativeZoom || 19));
        const c = map.getCenter();
        const n = Math.pow(2, z);
        const rad = c.lat * Math.PI / 180;
        const x = Math.floor((c.lng + 180) / 360 * n);
        const y = Math.floor((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2 * n);
        const subs = layer.options.subdomains || "abc";
        return window.L.Util.template(layer._url, window.L.Util.extend({s: subs[0], r: "", x: x, y: y, z: z},
                                                                       layer.options));
    }

    function fallBack(control, map, neutral) {
        const first = map.getContainer().dataset.basemap !== "neutral-offline";
        setState(map, "neutral-offline");
        select(control, neutral);
        if (first) { console.info("voisinmap: background tiles unavailable, neutral background selected"); }
    }

    function watch(control, map) {
        if (control._vmWatched) { return; }
        const all = bases(control);
        const neutral = all.find((entry) => !isTiles(entry));
        const tiles = all.filter(isTiles);
        if (!neutral || !tiles.length) {
            if (neutral) { setState(map, "neutral"); }
            return;
        }
        control._vmWatched = true;
        setState(map, "probing");
        tiles.forEach((entry) => entry.layer.on("tileerror", () => fallBack(control, map, neutral)));
        const img = new Image();
        let done = false;
        const finish = (ok) => {
            if (done) { return; }
            done = true;
            if (ok) {
                setState(map, "tiles");
                select(control, tiles[0]);
            } else {
                fallBack(control, map, neutral);
            }
        };
        if (navigator.onLine === false) { finish(false); return; }  // offline: no request, no console error
        img.onload = () => finish(true);
        img.onerror = () => finish(false);
        setTimeout(() => finish(false), PROBE_TIMEOUT_MS);
        img.src = tileUrl(tiles[0].layer, map);
    }

    /* Called by the wrapped control once its base layers are in (react-leaflet adds them after the control). */
    function schedule(control) {
        clearTimeout(control._vmTimer);
        control._vmTimer = setTimeout(() => { if (control._map) { watch(control, control._map); } }, 60);
    }

    function hook() {
        if (!window.L || !window.L.Control || !window.L.Control.Layers || ns._basemapHooked) { return; }
        ns._basemapHooked = true;
        window.L.Control.Layers.addInitHook(function () {
            const control = this;
            const addBase = control.addBaseLayer;
            control.addBaseLayer = function (layer, name) {
                const out = addBase.call(control, layer, name);
                schedule(control);
                return out;
            };
            const onAdd = control.onAdd;
            control.onAdd = function (map) {
                const out = onAdd.call(control, map);
                schedule(control);
                return out;
            };
        });
    }
    hook();
    document.addEventListener("DOMContentLoaded", hook);

    /** Name of the selected background of the first map with a layer control, and the state of the choice. */
    ns.basemapState = function () {
        const map = (ns.maps || []).find((m) => m.getContainer().dataset.basemap);
        if (!map) { return null; }
        const labels = Array.from(map.getContainer().querySelectorAll(".leaflet-control-layers-base label"));
        const checked = labels.find((l) => l.querySelector("input:checked"));
        return {state: map.getContainer().dataset.basemap, selected: checked ? checked.textContent.trim() : null,
                names: labels.map((l) => l.textContent.trim())};
    };
})();
