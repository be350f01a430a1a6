/* voisinmap: French month and day names in Dash's date pickers.
 * Dash's DatePickerRange formats with date-fns and takes its locale from window.dateFns.locale (the entry that
 * matches the browser's languages, else the first one). When the page is in French (cookie voisinmap_lang,
 * French by default) a French locale is registered; its names come from the browser's own Intl data (CLDR),
 * so none are typed here. English pages keep date-fns' default English. */
(function () {
    "use strict";
    const match = document.cookie.match(/(?:^|;\s*)voisinmap_lang=([a-z]+)/);
    const lang = match ? match[1] : "fr";
    if (lang !== "fr" || typeof Intl === "undefined") { return; }

    const WIDTHS = {narrow: "narrow", short: "short", abbreviated: "short", wide: "long"};
    const monthFmt = {};
    const dayFmt = {};
    function monthName(index, options) {
        const width = WIDTHS[(options && options.width) || "wide"] || "long";
        monthFmt[width] = monthFmt[width] || new Intl.DateTimeFormat("fr-FR", {month: width, timeZone: "UTC"});
        return monthFmt[width].format(new Date(Date.UTC(2021, index, 1)));
    }
    function dayName(index, options) {
        const width = (options && options.width) || "wide";
        const key = width === "wide" ? "long" : "short";
        dayFmt[key] = dayFmt[key] || new Intl.DateTimeFormat("fr-FR", {weekday: key, timeZone: "UTC"});
        const name = dayFmt[key].format(new Date(Date.UTC(2021, 0, 3 + index)));  /* 3 Jan 2021 is a Sunday */
        /* « lu ma me je ve sa di » for the calendar's column heads, « lun. » or « lundi » otherwise */
        return width === "short" || width === "narrow" ? name.slice(0, 2) : name;
    }
    const nothing = () => null;
    const matcher = {ordinalNumber: nothing, era: nothing, quarter: nothing, month: nothing, day: nothing,
                     dayPeriod: nothing};
    const fr = {
        code: "fr",
        localize: {
            ordinalNumber: (n) => (Number(n) === 1 ? "1er" : String(n)),
            era: (n) => (n ? "ap. J.-C." : "av. J.-C."),
            quarter: (n) => "T" + n,
            month: monthName,
            day: dayName,
            dayPeriod: (p) => (p === "am" ? "AM" : "PM"),
        },
        formatLong: {
            date: () => "dd/MM/y",
            time: () => "HH:mm",
            dateTime: () => "{{date}} {{time}}",
        },
        formatDistance: (token, count) => String(count),
        formatRelative: () => "P",
        match: matcher,
        options: {weekStartsOn: 1, firstWeekContainsDate: 4},
    };
    window.dateFns = window.dateFns || {};
    window.dateFns.locale = Object.assign({fr: fr}, window.dateFns.locale || {});
})();
