/* voisinmap, page « Terrain »: browser-side styling of the door-coverage layers (dash-leaflet functions).
 * Parameters come from each layer's hideout; geometry and figures come from the server's aggregates. */
(function () {
    "use strict";
    const ns = (window.voisinmap = window.voisinmap || {});
    /* map.js (loaded first) provides the HTML escaper and the class colouring shared by every map */
    const esc = (text) => ns.escapeHtml(text === undefined || text === null ? "" : text);
    const classColour = (value, breaks, colors) => ns.classColour(value, {breaks: breaks, colors: colors,
                                                                         missing: "#b0b0b0"});

    function num(value, lang, digits) {
        if (value === undefined || value === null || Number.isNaN(value)) { return "–"; }
        return new Intl.NumberFormat(lang === "en" ? "en-GB" : "fr-FR", {maximumFractionDigits: digits || 0}).format(value);
    }
    function pct(value, lang) {
        if (value === undefined || value === null || Number.isNaN(value)) { return "–"; }
        return num(100 * value, lang, 0) + (lang === "en" ? "%" : "\u202f%");
    }

    ns.terrainCellStyle = function (feature, context) {
        const h = (context && context.hideout) || {};
        const p = feature.properties || {};
        return {fillColor: classColour(p[h.prop || "value"], h.breaks || [], h.colors || ["#fec44f"]),
                fillOpacity: 0.72, color: "#7f2704", weight: 0.4};
    };

    ns.terrainCellTooltip = function (feature, layer, context) {
        layer.bindTooltip(function () {
            const h = (context && context.hideout) || {};
            const L = h.labels || {};
            const p = feature.properties || {};
            const lang = h.lang || "fr";
            return "<div class='qpv-tip'><div class='tip-title'>" + esc(L.value || "") + " : " + num(p.value, lang) +
                "</div><div>" + esc(L.visits || "") + " : " + num(p.visits, lang) + "</div><div>" +
                esc(L.ouvert || "") + " : " + num(p.ouvert, lang) + "</div><div>" + esc(L.open_rate || "") + " : " +
                pct(p.open_rate, lang) + "</div><div>" + esc(L.households_reached || "") + " : " +
                num(p.households_reached, lang) + "</div></div>";
        }, {sticky: true});
    };

    ns.terrainQpvStyle = function (feature, context) {
        const h = (context && context.hideout) || {};
        const p = feature.properties || {};
        /* coverage is an outline only, so it never blends with the heat cells' fill */
        return {color: classColour(p.coverage_rate, h.breaks || [], h.colors || ["#6baed6"]),
                weight: 3.5, opacity: 0.95, fill: true, fillOpacity: 0, dashArray: null};
    };

    /* the QPV name stays on the map (readable without background tiles); its figures open on a tap */
    ns.terrainQpvTooltip = function (feature, layer, context) {
        const name = (feature.properties || {}).lib_qp;
        if (name) {
            layer.bindTooltip(esc(name), {permanent: true, direction: "center", className: "terrain-qpv-name"});
        }
        layer.bindPopup(function () {
            const h = (context && context.hideout) || {};
            const p = feature.properties || {};
            const lang = h.lang || "fr";
            const en = lang === "en";
            return "<div class='qpv-tip'><div class='tip-title'>" + esc(p.lib_qp || "") + "</div><div class='tip-sub'>" +
                esc(p.code_qp || "") + "</div><div>" + (en ? "Households (INSEE)" : "Ménages (INSEE)") + " : " +
                num(p.households, lang) + "</div><div>" + (en ? "Households met" : "Ménages rencontrés") + " : " +
                num(p.households_reached, lang) + "</div><div>" + (en ? "Coverage" : "Couverture") + " : <b>" +
                pct(p.coverage_rate, lang) + "</b></div><div>" + (en ? "Households left" : "Ménages restants") + " : " +
                num(p.remaining_households, lang) + "</div><div class='tip-src'>INSEE, ANCT</div></div>";
        });
    };

    /* labels of the outcome codes, when the layer's hideout does not bring them */
    const OUTCOME_LABELS = {
        fr: {ouvert: "porte ouverte", absent: "absent", refus: "refus", a_revoir: "à revoir",
             ne_pas_deranger: "ne pas déranger"},
        en: {ouvert: "door opened", absent: "absent", refus: "refused", a_revoir: "to revisit",
             ne_pas_deranger: "do not disturb"},
    };
    ns.terrainOutcomeLabel = function (code, hideout) {
        const h = hideout || {};
        const table = h.outcomes || OUTCOME_LABELS[h.lang === "en" ? "en" : "fr"];
        return table[code] || OUTCOME_LABELS.fr[code] || code || "";
    };

    function line(label, value) {
        return "<br>" + esc(label || "") + " : " + value;
    }

    /* a building: its address (or id), doors knocked, doors opened, doors « à revoir », last visit */
    ns.terrainDoorPoint = function (feature, latlng, context) {
        const h = (context && context.hideout) || {};
        const L = h.labels || {};
        const p = feature.properties || {};
        const lang = h.lang || "fr";
        const colour = (h.colors || {})[p.last_outcome] || "#444";
        const marker = window.L.circleMarker(latlng, {radius: Math.max(5, Math.min(14, 3 + Math.sqrt(p.visits || 1))),
            color: "#222", weight: 1, fillColor: colour, fillOpacity: 0.9,
            pane: (context && context.pane) || "markerPane"});
        const title = p.address || p.building;
        const details = "<b>" + esc(title) + "</b>" + (p.address ? "<br><span class='tip-sub'>" + esc(p.building) +
            "</span>" : "") + line(L.knocked, num(p.doors_knocked, lang)) +
            line(L.opened, num(p.households_reached, lang) + " (" + pct(p.open_rate, lang) + ")") +
            line(L.revisit, num(p.to_revisit || 0, lang)) +
            line(L.last, esc(p.last_visit) + " · " + esc(ns.terrainOutcomeLabel(p.last_outcome, h)));
        if (h.permanent) {
            /* close up: the address stays written beside the building, its figures open on a tap */
            marker.bindTooltip(esc(title), {permanent: true, direction: "right", className: "terrain-building-label",
                                            offset: [8, 0]});
            marker.bindPopup(details);
        } else {
            marker.bindTooltip(details);
        }
        return marker;
    };

    ns.terrainRevisitPoint = function (feature, latlng, context) {
        const h = (context && context.hideout) || {};
        const L = h.labels || {};
        const p = feature.properties || {};
        const lang = h.lang || "fr";
        const n = p.doors_to_revisit || 1;
        const marker = window.L.circleMarker(latlng, {radius: Math.max(7, Math.min(18, 5 + 2 * Math.sqrt(n))),
            color: h.color || "#cc79a7", weight: 3, fill: false, dashArray: "4 3",
            pane: (context && context.pane) || "markerPane"});
        marker.bindTooltip("<b>" + esc(p.address || p.building) + "</b>" + line(L.revisit, num(n, lang)) +
            line(L.last, esc(p.last_visit)) + (p.doors ? "<br>" + esc(p.doors) : ""));
        return marker;
    };
})();
