/* Field entry (/saisie): record door visits on the phone, keep them in IndexedDB, sync when online.
 *
 * A tap on an outcome writes the entry (with an id made here, crypto.randomUUID()) to IndexedDB first;
 * only a sync answer that lists the id as stored removes it. A sync cut mid-way is simply sent again:
 * the server stores each id once. The phone keeps only the current campaign's queued entries and the
 * context of that campaign (buildings, walk list); the position of the phone is never sent.
 */
(function () {
  "use strict";

  var DB_NAME = "voisinmap-saisie";
  var TEXTS = JSON.parse(document.getElementById("s-texts").textContent);
  var state = { ctx: null, csrf: "", syncing: false, db: null, order: null };

  function $(id) { return document.getElementById(id); }
  function say(text, kind) {
    var el = $("s-status");
    el.textContent = text;
    el.className = "s-status" + (kind ? " s-" + kind : "");
  }

  // ------------------------------------------------------------------------------------ IndexedDB
  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () {
        var db = req.result;
        db.createObjectStore("entries", { keyPath: "id" });
        db.createObjectStore("context", { keyPath: "key" });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function tx(store, mode, work) {
    return new Promise(function (resolve, reject) {
      var t = state.db.transaction(store, mode);
      var out = work(t.objectStore(store));
      t.oncomplete = function () { resolve(out && "result" in out ? out.result : undefined); };
      t.onerror = function () { reject(t.error); };
      t.onabort = function () { reject(t.error); };
    });
  }
  function allEntries() { return tx("entries", "readonly", function (s) { return s.getAll(); }); }
  function putEntry(entry) { return tx("entries", "readwrite", function (s) { s.put(entry); }); }
  function deleteEntries(ids) {
    return tx("entries", "readwrite", function (s) { ids.forEach(function (id) { s.delete(id); }); });
  }

  // -------------------------------------------------------------------------------------- context
  function fetchContext(campaign) {
    var url = "/saisie/api/context" + (campaign ? "?campaign=" + encodeURIComponent(campaign) : "");
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, redirect: "manual" })
      .then(function (r) {
        if (r.status === 401 || r.type === "opaqueredirect") { throw { signin: true }; }
        if (!r.ok) { throw { status: r.status }; }
        return r.json();
      })
      .then(function (ctx) {
        state.csrf = ctx.csrf;
        delete ctx.csrf;
        return tx("context", "readwrite", function (s) { s.clear(); s.put({ key: "ctx", data: ctx }); })
          .then(function () { return ctx; });
      });
  }
  function cachedContext() {
    return tx("context", "readonly", function (s) { return s.get("ctx"); })
      .then(function (row) { return row ? row.data : null; });
  }

  function option(value, label) {
    var o = document.createElement("option");
    o.value = value;
    o.textContent = label;
    return o;
  }
  function fill(select, items, keep) {
    var previous = keep ? select.value : "";
    select.replaceChildren.apply(select, items);
    if (previous) { select.value = previous; }
  }
  function listItems(list, items, empty) {
    var nodes = items.length ? items : [(function () {
      var li = document.createElement("li"); li.className = "s-empty"; li.textContent = empty; return li;
    })()];
    list.replaceChildren.apply(list, nodes);
  }
  function li(text, extra) {
    var node = document.createElement("li");
    node.textContent = text;
    if (extra) { node.appendChild(extra); }
    return node;
  }

  function render() {
    var ctx = state.ctx;
    if (!ctx) { return; }
    $("s-who").textContent = ctx.voisin + " · " + ctx.site;
    fill($("s-campaign"), ctx.campaigns.map(function (c) { return option(c, c); }));
    $("s-campaign").value = ctx.campaign;
    if (!ctx.campaigns.length) { say(TEXTS.no_campaign, "warn"); }
    renderBuildings(state.order);
    fill($("s-language"), [option("", TEXTS.language_none)].concat(ctx.languages.map(function (l) { return option(l, l); })), true);
    fill($("s-topic"), [option("", TEXTS.language_none)].concat(ctx.topics.map(function (l) { return option(l, l); })), true);
    listItems($("s-today"), ctx.today.map(function (v) {
      return li(v.time + " · " + v.building + " · " + v.door + " · " + v.outcome);
    }), TEXTS.none_today);
    listItems($("s-walk"), ctx.walk.map(function (w) {
      return li(w.building + (w.address ? " · " + w.address : "") + (w.doors ? " — " + w.doors : ""));
    }), TEXTS.none_walk);
  }

  function renderBuildings(order) {
    var ctx = state.ctx;
    var items = (order || ctx.buildings).map(function (b) {
      var label = b.id + (b.address ? " · " + b.address : "") + (b.distance != null ? " (" + b.distance + " " + TEXTS.metres + ")" : "");
      return option(b.id, label);
    });
    fill($("s-building"), [option("", TEXTS.choose_building)].concat(items), true);
  }

  // ------------------------------------------------------------------------------------- nearest
  function metres(lat1, lon1, lat2, lon2) {
    var r = 6371000, rad = Math.PI / 180;
    var dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    var a = Math.sin(dlat / 2) * Math.sin(dlat / 2) +
      Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dlon / 2) * Math.sin(dlon / 2);
    return 2 * r * Math.asin(Math.sqrt(a));
  }
  function nearest() {
    if (!navigator.geolocation || !state.ctx) { say(TEXTS.near_denied, "warn"); return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      var here = pos.coords;
      var located = state.ctx.buildings.filter(function (b) { return b.lat != null; }).map(function (b) {
        return Object.assign({}, b, { distance: Math.round(metres(here.latitude, here.longitude, b.lat, b.lon)) });
      });
      located.sort(function (a, b) { return a.distance - b.distance; });
      state.order = located.slice(0, 8).concat(state.ctx.buildings.filter(function (b) {
        return located.slice(0, 8).every(function (n) { return n.id !== b.id; });
      }));
      renderBuildings(state.order);
      if (located.length) { $("s-building").value = located[0].id; }
      say(TEXTS.near_done, "ok");
    }, function () { say(TEXTS.near_denied, "warn"); }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  // ------------------------------------------------------------------------------------- entries
  function localMinute(d) {
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + "T" + two(d.getHours()) + ":" + two(d.getMinutes());
  }
  function record(outcome) {
    var ctx = state.ctx;
    if (!ctx || !ctx.campaign) { say(TEXTS.no_campaign, "warn"); return; }
    var building = $("s-building").value;
    var door = $("s-door").value.trim();
    if (!building) { say(TEXTS.need_building, "warn"); $("s-building").focus(); return; }
    if (!door) { say(TEXTS.need_door, "warn"); $("s-door").focus(); return; }
    if (!/[0-9]/.test(door) || !/^[0-9A-Za-zÀ-ÿ _.:/#'\-]+$/.test(door)) { say(TEXTS.bad_door, "warn"); return; }
    var topic = $("s-topic").value;
    var entry = {
      id: crypto.randomUUID(), campaign: ctx.campaign, building: building, door: door, outcome: outcome,
      language: $("s-language").value, topics: topic ? [topic] : [], at: localMinute(new Date()),
    };
    putEntry(entry).then(function () {
      $("s-door").value = "";
      say(TEXTS.saved, "ok");
      return renderQueue();
    }).then(sync);
  }

  function outcomeLabel(value) {
    var button = document.querySelector('.s-outcome[data-outcome="' + value + '"]');
    return button ? button.textContent : value;
  }

  function renderQueue() {
    return allEntries().then(function (entries) {
      $("s-count").textContent = String(entries.length);
      document.body.dataset.queued = String(entries.length);
      listItems($("s-queue"), entries.sort(function (a, b) { return a.at < b.at ? 1 : -1; }).map(function (e) {
        var extra = null;
        if (e.rejected) {
          extra = document.createElement("span");
          extra.className = "s-rejected";
          extra.textContent = " " + TEXTS.rejected + " " + e.rejected.join(" ; ") + " ";
          var drop = document.createElement("button");
          drop.type = "button"; drop.className = "s-small"; drop.textContent = TEXTS.delete;
          drop.addEventListener("click", function () { deleteEntries([e.id]).then(renderQueue); });
          extra.appendChild(drop);
        }
        return li(e.at.slice(11) + " · " + e.building + " · " + e.door + " · " + outcomeLabel(e.outcome), extra);
      }), TEXTS.none_queue);
      return entries;
    });
  }

  // ----------------------------------------------------------------------------------------- sync
  function postBatch(batch) {
    return fetch("/saisie/api/sync", {
      method: "POST", credentials: "same-origin", redirect: "manual",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": state.csrf },
      body: JSON.stringify({ entries: batch }),
    }).then(function (r) {
      if (r.status === 401) { throw { signin: true }; }
      if (!r.ok) { throw { status: r.status }; }
      return r.json();
    });
  }

  function sync() {
    if (state.syncing) { return Promise.resolve(); }
    state.syncing = true;
    document.body.dataset.syncing = "1";
    return allEntries().then(function (entries) {
      var pending = entries.filter(function (e) { return !e.rejected; });
      if (!pending.length) { return null; }
      var token = state.csrf ? Promise.resolve() : fetchContext(state.ctx && state.ctx.campaign).then(function (ctx) { state.ctx = ctx; });
      return token.then(function () {
        var batch = pending.slice(0, 200).map(function (e) {
          return { id: e.id, campaign: e.campaign, building: e.building, door: e.door, outcome: e.outcome,
                   language: e.language, topics: e.topics, at: e.at };
        });
        return postBatch(batch);
      }).then(function (answer) {
        var rejected = answer.rejected || {};
        var marks = entries.filter(function (e) { return rejected[e.id]; }).map(function (e) {
          return Object.assign({}, e, { rejected: rejected[e.id] });
        });
        return deleteEntries(answer.stored)
          .then(function () { return Promise.all(marks.map(putEntry)); })
          .then(function () {
            say(TEXTS.synced.replace("%n", String(answer.stored.length)), "ok");
            return fetchContext(state.ctx && state.ctx.campaign).then(function (ctx) { state.ctx = ctx; render(); });
          });
      });
    }).catch(function (err) {
      if (err && err.signin) { say(TEXTS.signin, "warn"); showSignin(); }
      else if (err && err.status) { say(TEXTS.sync_failed, "warn"); }
      else { say(TEXTS.offline, "warn"); }
    }).then(function () {
      state.syncing = false;
      document.body.dataset.syncing = "0";
      return renderQueue();
    });
  }

  function showSignin() {
    var link = document.createElement("a");
    link.href = "/login?next=/saisie";
    link.textContent = " → /login";
    $("s-status").appendChild(link);
  }

  function network() {
    var on = navigator.onLine;
    $("s-net").textContent = on ? TEXTS.online : TEXTS.net_offline;
    $("s-net").className = "s-net " + (on ? "s-on" : "s-off");
  }

  // --------------------------------------------------------------------------------------- wiring
  function changeCampaign() {
    var wanted = $("s-campaign").value;
    allEntries().then(function (entries) {
      if (entries.length) {
        $("s-campaign").value = state.ctx.campaign;
        say(TEXTS.pending_campaign, "warn");
        return null;
      }
      state.order = null;
      return fetchContext(wanted).then(function (ctx) { state.ctx = ctx; render(); });
    }).catch(function () { $("s-campaign").value = state.ctx.campaign; say(TEXTS.offline, "warn"); });
  }

  function start() {
    network();
    window.addEventListener("online", function () { network(); sync(); });
    window.addEventListener("offline", network);
    document.querySelectorAll(".s-outcome").forEach(function (b) {
      b.addEventListener("click", function () { record(b.dataset.outcome); });
    });
    $("s-sync").addEventListener("click", sync);
    $("s-near").addEventListener("click", nearest);
    $("s-campaign").addEventListener("change", changeCampaign);
    $("s-form").addEventListener("submit", function (e) { e.preventDefault(); });
    openDb().then(function (db) {
      state.db = db;
      return cachedContext();
    }).then(function (cached) {
      return allEntries().then(function (entries) {
        var campaign = entries.length ? entries[0].campaign : (cached && cached.campaign);
        return fetchContext(campaign).catch(function (err) {
          if (err && err.signin) { say(TEXTS.signin, "warn"); showSignin(); }
          return cached;
        });
      });
    }).then(function (ctx) {
      state.ctx = ctx;
      render();
      document.body.dataset.ready = "1";
      return renderQueue();
    }).then(sync);
    setInterval(function () { if (navigator.onLine) { sync(); } }, 30000);
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/saisie-sw.js", { scope: "/saisie" }).catch(function () { /* page works online */ });
    }
  }

  start();
})();
