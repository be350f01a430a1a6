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
        const esc = ns.escapeHtml || ((t) => String(t));
        const label = (h.labels && h.labels[h.prop]) || h.prop || "";
        const v = p[h.prop];
        const txt = v === undefined || v === null ? ((h.labels && h.labels.missing) || "—")
            : new Intl.NumberFormat(h.lang === "en" ? "en-GB" : "fr-FR", {maximumFractionDigits: 1}).format(v);
        marker.bindTooltip("<b>" + esc(p.lib_qp || "") + "</b> (" + esc(p.code || "") + ")<br>" + esc(p.lib_com || "") +
                           "<br>" + esc(label) + " : " + esc(txt));
        return marker;
    };

    function toggle(map) {
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
