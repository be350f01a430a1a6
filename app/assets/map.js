/* voisinmap: browser-side styling of the map layers (dash-leaflet functional props).
 * Functions receive dash-leaflet's context as last argument; context.hideout carries the parameters
 * sent by the server, so a restyle never re-sends geometry. */
(function () {
    "use strict";
    const ns = (window.voisinmap = window.voisinmap || {});
    ns.maps = ns.maps || [];

    function hookMaps() {
        if (window.L && window.L.Map && !ns._hooked) {
            window.L.Map.addInitHook(function () { ns.maps.push(this); });
            ns._hooked = true;
        }
    }
    hookMaps();
    document.addEventListener("DOMContentLoaded", hookMaps);

    function fmt(value, unit, lang) {
        const locale = lang === "en" ? "en-GB" : "fr-FR";
        if (unit === "pct") {
            return new Intl.NumberFormat(locale, {maximumFractionDigits: 1}).format(value) + (lang === "en" ? "%" : "\u202f%");
        }
        return new Intl.NumberFormat(locale, {maximumFractionDigits: 0}).format(value);
    }

    function escapeHtml(text) {
        return String(text).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
    }
    ns.escapeHtml = escapeHtml;

    function classColour(value, h) {
        if (value === undefined || value === null || Number.isNaN(value)) { return h.missing; }
        if (h.binary) { return h.colors[value ? 1 : 0]; }
        let i = 0;
        while (i < h.breaks.length && value >= h.breaks[i]) { i++; }
        return h.colors[i];
    }
    ns.classColour = classColour;

    ns.qpvStyle = function (feature, context) {
        const h = (context && context.hideout) || {};
        const p = feature.properties || {};
        const npnru = p.npnru === 1 || p.npnru === true;
        const selected = h.selected && p.code_qp === h.selected;
        return {
            fillColor: classColour(p[h.prop], h),
            fillOpacity: 0.75,
            color: selected ? h.selectedColor : (npnru ? "#111111" : "#4d4d4d"),
            weight: selected ? 3.5 : (npnru ? 2.2 : 0.7),
        };
    };

    ns.qpvTooltip = function (feature, layer, context) {
        layer.bindTooltip(function () {
            const h = (context && context.hideout) || {};
            const L = h.labels || {};
            const p = feature.properties || {};
            const lang = h.lang || "fr";
            const line = (key, unit) => {
                const v = p[key];
                const txt = v === undefined || v === null ? L.missing : fmt(v, unit, lang);
                return "<div>" + escapeHtml(L[key] || key) + " : <b>" + escapeHtml(txt) + "</b></div>";
            };
            return "<div class='qpv-tip'><div class='tip-title'>" + escapeHtml(p.lib_qp || "") + "</div>" +
                "<div class='tip-sub'>" + escapeHtml(p.code_qp || "") + " · " + escapeHtml(p.lib_com || "") + "</div>" +
                line("population", "count") + line("households", "count") +
                line("poverty_rate", "pct") + line("employment_rate", "pct") +
                ((p.npnru === 1 || p.npnru === true) ? "<div><b>" + escapeHtml(L.npnru) + "</b></div>" : "") +
                "<div class='tip-src'>" + escapeHtml(L.source || "") + "</div></div>";
        }, {sticky: true});
    };

    ns.outlineStyle = function (feature, context) {
        const h = (context && context.hideout) || {};
        return {color: h.color || "#555", weight: h.weight || 1, fillColor: h.fill || "#f4f1ea",
                fillOpacity: h.fillOpacity === undefined ? 0 : h.fillOpacity, interactive: false};
    };

    ns.communeBubble = function (feature, latlng, context) {
        const h = (context && context.hideout) || {};
        const p = feature.properties || {};
        const pop = p.qpv_residents_touching || 0;
        const radius = Math.max(3, Math.sqrt(pop) / (h.scale || 12));
        const marker = window.L.circleMarker(latlng, {radius: radius, color: "#1f5fa8", weight: 0.8, opacity: 0.7,
                                                      fillColor: "#1f5fa8", fillOpacity: 0.18,
                                                      pane: (context && context.pane) || "overlayPane"});
        const lang = h.lang || "fr";
        marker.bindTooltip("<b>" + escapeHtml(p.name || "") + "</b> (" + escapeHtml(p.insee_com || "") + ")<br>" +
            escapeHtml((h.labels && h.labels.qpv_residents_touching) || "QPV") + " : " + fmt(pop, "count", lang) +
            " · " + escapeHtml((h.labels && h.labels.n_qpv) || "n") + " : " + (p.n_qpv || 0) +
            "<div class='tip-src'>" + escapeHtml((h.labels && h.labels.source) || "") + "</div>");
        return marker;
    };

    ns.npnruPoint = function (feature, latlng, context) {
        const h = (context && context.hideout) || {};
        const p = feature.properties || {};
        const marker = window.L.circleMarker(latlng, {radius: 4, color: "#111111", weight: 1,
                                                      fillColor: "#e69f00", fillOpacity: 0.95,
                                                      pane: (context && context.pane) || "overlayPane"});
        marker.bindTooltip("<b>NPNRU</b> · " + escapeHtml(p.lib_qp || "") + " (" + escapeHtml(p.code_qp || "") + ")<br>" +
            escapeHtml(p.lib_com || "") + "<div class='tip-src'>" + escapeHtml(h.source || "") + "</div>");
        return marker;
    };

    /* For tests and the bench: how many features a GeoJSON layer of the first map holds, per property. */
    ns.countFeatures = function (property, polygonsOnly) {
        const seen = new Set();
        (ns.maps[0] || {eachLayer: () => {}}).eachLayer(function (layer) {
            if (polygonsOnly && !(layer instanceof window.L.Polygon)) { return; }
            if (layer.feature && layer.feature.properties && layer.feature.properties[property] !== undefined) {
                seen.add(layer.feature.properties[property]);
            }
        });
        return seen.size;
    };
})();

(function () {
    "use strict";
    const ns = (window.voisinmap = window.voisinmap || {});
    const escapeHtml = ns.escapeHtml;
    ns.districtStyle = function () {
        return {color: "#7b3294", weight: 2, dashArray: "5 4", fillColor: "#7b3294", fillOpacity: 0.06};
    };
    ns.districtTooltip = function (feature, layer, context) {
        const h = (context && context.hideout) || {};
        const L = h.labels || {};
        const p = feature.properties || {};
        const nf = new Intl.NumberFormat(h.lang === "en" ? "en-GB" : "fr-FR", {maximumFractionDigits: 0});
        layer.bindTooltip("<b>" + escapeHtml(L.title || "") + " : " + escapeHtml(p.name || "") + "</b><br>" +
            escapeHtml(p.region || "") + "<br>" + escapeHtml(L.n_qpv || "QPV") + " : " + (p.n_qpv || 0) + " · " +
            escapeHtml(L.population || "") + " : " + nf.format(p.population || 0) +
            (p.npnru_count ? " · " + escapeHtml(L.npnru || "NPNRU") + " : " + p.npnru_count : "") +
            "<div class='tip-src'>" + escapeHtml(L.source || "") + "</div>", {sticky: true});
    };
})();
