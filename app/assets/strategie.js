/* Stratégie map: QPV as proportional symbols at national zoom, polygons when zoomed in. */
(function () {
    "use strict";
    const ns = (window.voisinmap = window.voisinmap || {});
    //: keep in step with app/components/qpv_symbols.py SYMBOL_MAX_ZOOM
    ns.QPV_SYMBOL_MAX_ZOOM = 9;

    ns.qpvSymbol = function (feature, latlng, context) {
        const h = (context && context.hideout) || {};
        const p = feature.properties || {};
        const pop = p.population || 0;
        const colour = ns.classColour ? ns.classColour(p[h.prop], h) : "#888888";
        const marker = window.L.circleMarker(latlng, {
            radius: Math.max(2.5, Math.sqrt(pop) / (h.scale || 16)), color: "#333333", weight: 0.5,
            fillColor: colour, fillOpacity: 0.85, pane: (context && context.pane) || "overlayPane"});
        const esc = ns.escapeHtml;
        // the indicator's value is on the layer; the name and commune come on demand (app/qpv_figures.py)
        ns.bindFigures(marker, p.code, context, function (d, hh) {
            const labels = hh.labels || {};
            const v = p[hh.prop];
            let line = "";
            if (hh.binary) {
                line = v ? "<br>" + esc(labels[hh.prop] || "") : "";
            } else {
                const txt = v === undefined || v === null ? (labels.missing || "—") : ns.formatNumber(v, hh.unit, hh.lang);
                line = "<br>" + esc(labels[hh.prop] || hh.prop || "") + ns.colon(labels) + esc(txt);
            }
            return "<b>" + esc(d.lib_qp || "") + "</b> (" + esc(d.code_qp || "") + ")<br>" + esc(d.lib_com || "") + line;
        });
        return marker;
    };

    /* Panes whose layers are drawn, never hovered (land, outlines). With the canvas renderer each pane
     * is one canvas over the whole map, and the topmost canvas takes every pointer event: these let
     * them through to the QPV below. Keep in step with app/pages/strategie.py PANES. */
    ns.PASSIVE_PANES = ["vm-land", "vm-outlines"];

    function toggle(map) {
        ns.PASSIVE_PANES.forEach((name) => {
            const pane = map.getPane(name);
            if (pane) { pane.style.pointerEvents = "none"; }
        });
        const symbols = map.getPane("vm-qpv-points");
        const polygons = map.getPane("vm-qpv");
        const national = map.getZoom() < ns.QPV_SYMBOL_MAX_ZOOM;
        if (symbols) { symbols.style.display = national ? "" : "none"; }
        if (polygons) { polygons.style.display = national ? "none" : ""; }
    }
    ns.toggleQpvPanes = toggle;

    function hook() {
        if (!window.L || !window.L.Map || ns._strategieHooked) { return; }
        ns._strategieHooked = true;
        window.L.Map.addInitHook(function () {
            const map = this;
            map.on("zoomend", () => toggle(map));
            map.on("layeradd", () => toggle(map));
        });
    }
    hook();
    document.addEventListener("DOMContentLoaded", hook);
})();
