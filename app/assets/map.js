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

    /* Numbers in the page's language (fr-FR: « 12 345 », « 45,3 % »; en-GB: « 12,345 », « 45.3% »). */
    function locale(lang) {
        return (lang || document.documentElement.lang || "fr").slice(0, 2) === "en" ? "en-GB" : "fr-FR";
    }
    function fmt(value, unit, lang) {
        if (unit === "pct") {
            return new Intl.NumberFormat(locale(lang), {style: "percent", maximumFractionDigits: 1}).format(value / 100);
        }
        return new Intl.NumberFormat(locale(lang), {maximumFractionDigits: unit === "decimal" ? 1 : 0}).format(value);
    }
    ns.formatNumber = fmt;

    function escapeHtml(text) {
        return String(text).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
    }
    ns.escapeHtml = escapeHtml;
    /* « label : » in French, « label: » in English: the colon the server put in the labels (geo.i18n.colon). */
    function colon(labels) { return escapeHtml((labels && labels.colon) || "\u00a0:") + " "; }
    ns.colon = colon;

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

    /* Figures of a QPV fetched on demand (app/qpv_figures.py), once per page: code -> {promise, data}. */
    //: keep in step with app/qpv_figures.py URL_PREFIX
    ns.QPV_FIGURES_URL = "/api/qpv/";
    const figures = new Map();
    ns.qpvFigures = function (code) {
        let entry = figures.get(code);
        if (!entry) {
            entry = {data: null};
            entry.promise = fetch(ns.QPV_FIGURES_URL + encodeURIComponent(code),
                                  {credentials: "same-origin", headers: {"Accept": "application/json"}})
                .then((r) => r.json().catch(() => ({})).then((body) => {
                    if (!r.ok) { throw new Error(body.error || ""); }
                    return body;
                }))
                .then((data) => { entry.data = data; return data; },
                      (err) => { figures.delete(code); throw err; });  // a later hover asks again
            figures.set(code, entry);
        }
        return entry;
    };

    /* A tooltip on `layer` showing render(figures) for QPV `code`: « Chargement… » until they arrive,
     * then the figures (or the server's message when they cannot come). */
    function bindFigures(layer, code, context, render, options) {
        const hideout = () => (context && context.hideout) || {};
        let failure = null;
        const content = function () {
            const h = hideout();
            const entry = figures.get(code);
            if (entry && entry.data) { return render(entry.data, h); }
            const labels = h.labels || {};
            const note = failure === null ? (labels.loading || "…") : (failure || labels.unavailable || "");
            return "<div class='qpv-tip'><div class='tip-sub'>" + escapeHtml(code) + "</div>" +
                "<div class='tip-loading' aria-live='polite'>" + escapeHtml(note) + "</div></div>";
        };
        layer.bindTooltip(content, options);
        layer.on("tooltipopen", function () {
            if (!code) { return; }
            const entry = ns.qpvFigures(code);
            if (entry.data) { return; }
            failure = null;
            layer.setTooltipContent(content);
            entry.promise.then(() => { failure = null; }, (err) => { failure = err.message; })
                .then(() => { if (layer.isTooltipOpen()) { layer.setTooltipContent(content); } });
        });
    }
    ns.bindFigures = bindFigures;

    function qpvTipHtml(d, h) {
        const L = h.labels || {};
        const lang = h.lang;
        const line = (key, unit) => {
            const v = d[key];
            const txt = v === undefined || v === null ? L.missing : fmt(v, unit, lang);
            return "<div>" + escapeHtml(L[key] || key) + colon(L) + "<b>" + escapeHtml(txt) + "</b></div>";
        };
        return "<div class='qpv-tip'><div class='tip-title'>" + escapeHtml(d.lib_qp || "") + "</div>" +
            "<div class='tip-sub'>" + escapeHtml(d.code_qp || "") + " · " + escapeHtml(d.lib_com || "") + "</div>" +
            line("population", "count") + line("households", "count") +
            line("poverty_rate", "pct") + line("employment_rate", "pct") +
            (d.npnru ? "<div><b>" + escapeHtml(L.npnru || "NPNRU") + "</b></div>" : "") +
            "<div class='tip-src'>" + escapeHtml(L.source || "") + "</div></div>";
    }
    ns.qpvTipHtml = qpvTipHtml;

    ns.qpvTooltip = function (feature, layer, context) {
        bindFigures(layer, (feature.properties || {}).code_qp, context, qpvTipHtml, {sticky: true});
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
            escapeHtml((h.labels && h.labels.qpv_residents_touching) || "QPV") + colon(h.labels) + fmt(pop, "count", lang) +
            " · " + escapeHtml((h.labels && h.labels.n_qpv) || "n") + colon(h.labels) + fmt(p.n_qpv || 0, "count", lang) +
            "<div class='tip-src'>" + escapeHtml((h.labels && h.labels.source) || "") + "</div>");
        return marker;
    };

    ns.npnruPoint = function (feature, latlng, context) {
        const h = (context && context.hideout) || {};
        const p = feature.properties || {};
        const marker = window.L.circleMarker(latlng, {radius: 4, color: "#111111", weight: 1,
                                                      fillColor: "#e69f00", fillOpacity: 0.95,
                                                      pane: (context && context.pane) || "overlayPane"});
        bindFigures(marker, p.code_qp, context, (d, hh) => "<b>NPNRU</b> · " + escapeHtml(d.lib_qp || "") + " (" +
            escapeHtml(d.code_qp || "") + ")<br>" + escapeHtml(d.lib_com || "") +
            "<div class='tip-src'>" + escapeHtml(hh.source || "") + "</div>");
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
        const nf = (v) => ns.formatNumber(v, "count", h.lang);
        const sep = ns.colon(L);
        layer.bindTooltip("<b>" + escapeHtml(L.title || "") + sep + escapeHtml(p.name || "") + "</b><br>" +
            escapeHtml(p.region || "") + "<br>" + escapeHtml(L.n_qpv || "QPV") + sep + nf(p.n_qpv || 0) + " · " +
            escapeHtml(L.population || "") + sep + nf(p.population || 0) +
            (p.npnru_count ? " · " + escapeHtml(L.npnru || "NPNRU") + sep + nf(p.npnru_count) : "") +
            "<div class='tip-src'>" + escapeHtml(L.source || "") + "</div>", {sticky: true});
    };
})();
