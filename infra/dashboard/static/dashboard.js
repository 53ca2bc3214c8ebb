// The STDS dashboard page: the server-sent events bring the whole state once, then only what changed (each event's
// id is the version it brings the page to); the tables render from it. Charts are fetched (downsampled by the
// server) when the state moves, at most every few seconds, and again on zoom.
"use strict";

const CHART_REFRESH_MS = 2000;
const KEYED_TABLES = ["accounts", "strategies", "streams"];  // sent as {row key: row}, changed rows only

const token = (() => {
  const match = /token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem("stds-token", decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname);  // keep the token out of the address bar
  }
  return sessionStorage.getItem("stds-token") || "";
})();

const state = {
  snapshot: null, keyed: null, version: null, symbol: null, zoom: null, charts: {}, chartsAt: 0, chartsKey: "",
  colours: {}, sort: { field: "strategy", descending: false }, filter: "",
};
window.stdsState = state;  // for tests and the curious: what the page holds
window.stdsPageLoads = (window.stdsPageLoads || 0) + 1;  // tests read this to prove no reload happened

function api(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + token }, options.headers || {});
  return fetch(path, Object.assign({}, options, { headers })).then(async (response) => {
    if (!response.ok) throw new Error(path + ": " + response.status + " " + (await response.text()));
    return response.json();
  });
}

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  if (text !== undefined && text !== null) node.textContent = String(text);  // never innerHTML: reasons and dead letters come from outside
  return node;
}

function number(value, places) {
  if (value === null || value === undefined || value === "") return "";
  const text = Number(value).toLocaleString("en-US", { minimumFractionDigits: places, maximumFractionDigits: places });
  return /^-[0.,]+$/.test(text) ? text.slice(1) : text;  // a loss too small to show is not "-0.00"
}

function qty(value) {
  return value === null || value === undefined ? "" : String(Number(value));
}

function utc(ms) {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 16);
}

function colour(name) {
  return state.colours[name] || "#7f7f7f";  // the server's, as in chart.png: one colour per strategy
}

function moneyCell(field, value, places = 2) {
  const cell = el("td", { "data-field": field, "data-value": value, title: String(value) }, number(value, places));
  const shown = /[1-9]/.test(cell.textContent);  // colour only what the rounding lets one see
  if (shown && Number(value) > 0) cell.className = "up";
  if (shown && Number(value) < 0) cell.className = "down";
  return cell;
}

function plainCell(field, value, text) {
  return el("td", { "data-field": field, "data-value": value }, text === undefined ? value : text);
}

function fillBody(id, rows, build) {
  const body = document.querySelector("#" + id + " tbody");
  const before = body.children.length;
  body.replaceChildren(...rows.map(build));
  return before;
}

function render(snapshot) {
  const previous = state.snapshot;
  state.snapshot = snapshot;
  document.getElementById("source").textContent = snapshot.source;
  for (const row of snapshot.strategies) state.colours[row.strategy] = row.colour;
  renderRun(snapshot);
  renderKillSwitch(snapshot.kill_switch, snapshot.live);
  renderPortfolio(snapshot.portfolio);

  fillBody("strategies", snapshot.strategies, (row) => {
    const tr = el("tr", { "data-strategy": row.strategy });
    const name = el("td");
    name.append(el("span", { class: "swatch", style: "background:" + colour(row.strategy) }), row.strategy);
    tr.append(name, plainCell("symbols", row.symbols), moneyCell("return_pct", row.return_pct, 3),
      moneyCell("pnl", row.pnl), plainCell("fees", row.fees, number(row.fees, 2)), plainCell("trades", row.trades));
    return tr;
  });

  renderAccounts();
  const seenFills = new Set(previous ? previous.activity.fills.map((f) => f.time_ms + f.strategy + f.symbol) : []);
  fillBody("fills", snapshot.activity.fills, (fill) => {
    const key = fill.time_ms + fill.strategy + fill.symbol;
    const tr = el("tr", { class: previous && !seenFills.has(key) ? "fresh" : "" });
    tr.append(el("td", {}, utc(fill.time_ms)), el("td", {}, fill.strategy), el("td", {}, fill.symbol),
      el("td", { class: fill.side === "buy" ? "up" : "down" }, fill.side), el("td", {}, qty(fill.qty)),
      el("td", {}, number(fill.price, 2)), el("td", {}, number(fill.fee, 4)));
    return tr;
  });
  fillBody("rejects", snapshot.activity.rejects, (reject) => {
    const tr = el("tr");
    tr.append(el("td", {}, utc(reject.time_ms)), el("td", {}, reject.strategy), el("td", {}, reject.symbol),
      el("td", {}, reject.side), el("td", {}, qty(reject.qty)), el("td", { class: "reason" }, reject.reason));
    return tr;
  });
  fillBody("targets", snapshot.activity.targets, (change) => {
    const tr = el("tr");
    tr.append(el("td", {}, utc(change.time_ms)), el("td", {}, change.strategy), el("td", {}, change.symbol),
      el("td", {}, qty(change.target)), el("td", {}, change.side + " " + qty(change.qty)), el("td", {}, change.status));
    return tr;
  });
  fillBody("dead-letters", snapshot.dead_letters, (letter) => {
    const tr = el("tr");
    tr.append(el("td", {}, String(letter.time || "").replace("T", " ").slice(0, 19)), el("td", {}, letter.origin),
      el("td", { class: "reason" }, letter.error));
    return tr;
  });

  const totals = snapshot.streamer.totals;
  document.getElementById("streamer-totals").textContent = snapshot.streamer.updated_ms
    ? "streamer: " + totals.published + " bars published, " + totals.backfilled + " backfilled, " +
      totals.reconnects + " reconnects, " + totals.malformed + " malformed messages (saved " +
      utc(snapshot.streamer.updated_ms) + ")"
    : "no streamer counters in this state (a replay, or --aws): last bars only";
  fillBody("streams", snapshot.streams, (stream) => {
    const tr = el("tr", { "data-stream": stream.exchange + "|" + stream.symbol + "|" + stream.timeframe });
    tr.append(el("td", {}, stream.symbol), el("td", {}, stream.timeframe),
      el("td", {}, utc(stream.last_open_time_ms)), el("td", {}, ago(Math.max(0, Math.floor((snapshot.now_ms - stream.closed_at_ms) / 1000)))),
      plainCell("lag_bars", stream.lag_bars ?? "", stream.lag_bars ?? "–"),
      plainCell("backfilled", stream.backfilled ?? "", stream.backfilled ?? "–"),
      el("td", {}, stream.seconds_since_publish ?? "–"));
    return tr;
  });

  renderTradeStats(snapshot.trade_statistics);
  refreshSymbolChoices(snapshot);
  refreshCharts(false);
}

// A finished run (a replay, a stopped `stds run`) is history: no "live" badge and nothing to halt.
function renderRun(snapshot) {
  const connection = document.getElementById("connection");
  if (!snapshot.live) {
    connection.textContent = "finished run";
    connection.className = "badge done";
  } else if (state.connected) {
    connection.textContent = "live";
    connection.className = "badge on";
  }
  connection.dataset.live = String(snapshot.live);
  document.getElementById("kill-switch-actions").hidden = !snapshot.live;
}

function renderKillSwitch(kill, live) {
  const badge = document.getElementById("kill-switch");
  const modes = { halt: "HALTED", "reduce-only": "REDUCE ONLY", flatten: "FLATTENING" };
  const released = live ? "trading allowed" : "kill switch released";
  badge.textContent = kill.engaged ? modes[kill.mode] + ": " + kill.reason : released;
  badge.className = "badge " + (!kill.engaged ? (live ? "on" : "done") : kill.mode === "reduce-only" ? "reducing" : "engaged");
  badge.dataset.engaged = String(kill.engaged);
  badge.dataset.mode = kill.mode || "";
  for (const button of document.querySelectorAll("#kill-switch-actions button[data-mode]")) {
    button.disabled = kill.engaged && kill.mode === button.dataset.mode;
  }
  document.getElementById("resume").disabled = !kill.engaged;
}

function renderPortfolio(portfolio) {
  const show = (field, text, signed) => {
    const cell = document.querySelector("#portfolio [data-field=" + field + "]");
    cell.textContent = text;
    cell.dataset.value = String(portfolio[field]);
    cell.title = String(portfolio[field]);
    cell.className = signed && /[1-9]/.test(text) ? (Number(portfolio[field]) > 0 ? "up" : "down") : "";
  };
  show("equity", number(portfolio.equity, 2));
  show("pnl", number(portfolio.pnl, 2), true);
  show("return_pct", number(portfolio.return_pct, 3) + " %", true);
  show("fees", number(portfolio.fees, 2));
  show("trades", number(portfolio.trades, 0));
  show("sub_accounts", number(portfolio.sub_accounts, 0));
}

const NUMERIC = new Set(["target", "position", "pending", "cash", "realised", "unrealised", "pnl", "fees", "trades", "round_trips", "rejects"]);

function shownAccounts(rows) {
  const terms = state.filter.toLowerCase().split(/\s+/).filter(Boolean);
  const kept = rows.filter((row) => {
    const text = (row.strategy + " " + row.symbol + " " + row.exchange).toLowerCase();
    return terms.every((term) => text.includes(term));
  });
  const { field, descending } = state.sort;
  const order = NUMERIC.has(field)
    ? (a, b) => Number(a[field]) - Number(b[field])
    : (a, b) => String(a[field]).localeCompare(String(b[field]));
  kept.sort((a, b) => (descending ? -order(a, b) : order(a, b)) || a.strategy.localeCompare(b.strategy) || a.symbol.localeCompare(b.symbol));
  return kept;
}

function renderAccounts() {
  const rows = state.snapshot ? state.snapshot.accounts : [];
  const shown = shownAccounts(rows);
  document.getElementById("account-count").textContent = shown.length === rows.length
    ? rows.length + " sub-accounts" : shown.length + " of " + rows.length + " sub-accounts";
  for (const th of document.querySelectorAll("#accounts th[data-sort]")) {
    th.setAttribute("aria-sort", th.dataset.sort === state.sort.field ? (state.sort.descending ? "descending" : "ascending") : "none");
  }
  fillBody("accounts", shown, (row) => {
    const tr = el("tr", { "data-account": row.strategy + "|" + row.exchange + "|" + row.symbol, class: "clickable" });
    const name = el("td", { "data-field": "strategy", "data-value": row.strategy });
    name.append(el("span", { class: "swatch", style: "background:" + colour(row.strategy) }), row.strategy);
    tr.append(name, plainCell("symbol", row.symbol),
      plainCell("target", row.target, qty(row.target)), plainCell("position", row.position, qty(row.position)),
      plainCell("pending", row.pending, qty(row.pending)), plainCell("cash", row.cash, number(row.cash, 2)),
      moneyCell("realised", row.realised), moneyCell("unrealised", row.unrealised), moneyCell("pnl", row.pnl),
      plainCell("fees", row.fees, number(row.fees, 2)), plainCell("trades", row.trades),
      plainCell("round_trips", row.round_trips), plainCell("rejects", row.rejects));
    tr.addEventListener("click", () => selectSymbol(row.exchange + "|" + row.symbol + "|1m"));
    return tr;
  });
}

const TRIP_COLUMNS = [
  ["round_trips", "trips", (v) => number(v, 0)], ["wins", "wins", (v) => number(v, 0)],
  ["draws", "draws", (v) => number(v, 0)], ["losses", "losses", (v) => number(v, 0)],
  ["win_rate_pct", "win %", (v) => number(v, 1)], ["profit", "profit", (v) => number(v, 2)],
  ["profit_factor", "profit factor", (v) => (v === null ? "–" : number(v, 2))],
  ["expectancy", "expectancy", (v) => number(v, 4)], ["avg_duration_s", "avg duration", duration],
  ["max_duration_s", "longest", duration], ["best_pct", "best %", (v) => (v === null ? "–" : number(v, 2))],
  ["worst_pct", "worst %", (v) => (v === null ? "–" : number(v, 2))],
];

function duration(seconds) {
  if (seconds < 3600) return Math.round(seconds / 60) + " min";
  if (seconds < 172800) return (seconds / 3600).toFixed(1) + " h";
  return (seconds / 86400).toFixed(1) + " d";
}

// The ledger's round trips: all of them, then per strategy (or per day, or per week: the selector).
function renderTradeStats(stats) {
  const table = document.getElementById("trade-stats-table");
  const empty = !stats || !stats.total.round_trips;
  document.getElementById("trade-stats-empty").hidden = !empty;
  table.hidden = empty;
  if (empty) return;
  const view = document.getElementById("trade-stats-view").value;
  const groups = { strategy: stats.per_strategy, day: stats.per_day, week: stats.per_week }[view];
  const head = el("tr");
  head.append(el("th", {}, view), ...TRIP_COLUMNS.map(([, title]) => el("th", {}, title)));
  table.tHead.replaceChildren(head);
  const rows = [["all", stats.total]].concat(Object.entries(groups));
  fillBody("trade-stats-table", rows, ([name, row]) => {
    const tr = el("tr", { "data-group": name });
    const label = el("td", { "data-field": "group", "data-value": name });
    if (view === "strategy" && name !== "all") label.append(el("span", { class: "swatch", style: "background:" + colour(name) }));
    label.append(name);
    tr.append(label, ...TRIP_COLUMNS.map(([field, , show]) => {
      const cell = plainCell(field, row[field] ?? "", show(row[field]));
      if (field === "profit" && /[1-9]/.test(cell.textContent)) cell.className = Number(row[field]) > 0 ? "up" : "down";
      return cell;
    }));
    return tr;
  });
}

function ago(seconds) {
  if (seconds < 120) return seconds + " s";
  if (seconds < 7200) return Math.round(seconds / 60) + " min";
  if (seconds < 172800) return Math.round(seconds / 3600) + " h";
  return Math.round(seconds / 86400) + " d";
}

function refreshSymbolChoices(snapshot) {
  const select = document.getElementById("symbol");
  const keys = snapshot.streams.map((s) => s.exchange + "|" + s.symbol + "|" + s.timeframe);
  if (select.options.length !== keys.length) {
    select.replaceChildren(...keys.map((key) => el("option", { value: key }, key.split("|")[1] + " (" + key.split("|")[0] + ")")));
  }
  if (!state.symbol || !keys.includes(state.symbol)) {
    // start on the symbol most sub-accounts trade: the one that shows strategies side by side
    const counts = {};
    for (const row of snapshot.accounts) counts[row.exchange + "|" + row.symbol] = (counts[row.exchange + "|" + row.symbol] || 0) + 1;
    const best = keys.slice().sort((a, b) => (counts[b.split("|").slice(0, 2).join("|")] || 0) - (counts[a.split("|").slice(0, 2).join("|")] || 0))[0];
    state.symbol = best || null;
  }
  if (state.symbol) select.value = state.symbol;
}

function selectSymbol(key) {
  state.symbol = key;
  state.zoom = null;
  document.getElementById("symbol").value = key;
  refreshCharts(true);
}

// Charts follow the state, but a busy run commits every second: redraw at most every CHART_REFRESH_MS.
let pendingRefresh = null;
function refreshCharts(force) {
  const snapshot = state.snapshot;
  if (!snapshot) return;
  const key = JSON.stringify([snapshot.range_ms, snapshot.fills, state.symbol, state.zoom]);
  if (!force && key === state.chartsKey) return;
  const wait = force ? 0 : Math.max(0, state.chartsAt + CHART_REFRESH_MS - Date.now());
  clearTimeout(pendingRefresh);
  pendingRefresh = setTimeout(() => {
    state.chartsKey = key;
    state.chartsAt = Date.now();
    drawCharts().catch(showError);
  }, wait);
}

function width(id) {
  return Math.max(240, document.getElementById(id).clientWidth);
}

// Times in UTC, as in the tables (bar times are UTC), whatever the browser's own time zone.
const inUtc = (seconds) => uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC");

function replaceChart(id, options, data) {
  if (state.charts[id]) state.charts[id].destroy();
  const target = document.getElementById(id);
  target.replaceChildren();
  state.charts[id] = new uPlot(Object.assign({ width: width(id), tzDate: inUtc }, options), data, target);
}

async function drawCharts() {
  const points = Math.min(2000, Math.max(200, Math.floor(window.innerWidth)));
  const range = state.zoom ? "&from=" + state.zoom[0] + "&to=" + state.zoom[1] : "";
  const market = state.symbol ? state.symbol.split("|").slice(0, 2).join("|") : "";
  const equity = await api("/api/equity?points=" + points + "&market=" + encodeURIComponent(market));
  const names = Object.keys(equity.strategies);
  replaceChart("equity-chart", {
    height: 260,
    series: [{}].concat(names.map((name) => ({ label: name, stroke: colour(name), width: 1.5, value: (u, v) => v == null ? "" : v.toFixed(3) + " %" }))),
    axes: [{}, { label: "return %", size: 60 }],
    cursor: { drag: { x: true, y: false } },
  }, [equity.times].concat(names.map((name) => equity.strategies[name])));

  if (!state.symbol) return;
  const [exchange, symbol, timeframe] = state.symbol.split("|");
  const query = "exchange=" + encodeURIComponent(exchange) + "&symbol=" + encodeURIComponent(symbol) +
    "&timeframe=" + encodeURIComponent(timeframe) + "&points=" + points + range;
  const detail = await api("/api/symbol?" + query);
  const buys = [detail.buys.map((f) => f[0]), detail.buys.map((f) => f[1])];
  const sells = [detail.sells.map((f) => f[0]), detail.sells.map((f) => f[1])];
  const joined = uPlot.join([[detail.times, detail.closes], buys, sells]);
  // A drag across the chart sets its x scale; then the server is asked for that range in finer detail.
  const zoomed = (u, key) => {
    const times = u.data[0];
    if (key !== "x" || !u.stdsReady || !times.length) return;
    const min = u.scales.x.min, max = u.scales.x.max;
    if (min > times[0] || max < times[times.length - 1]) {
      state.zoom = [Math.floor(min), Math.ceil(max)];
      refreshCharts(true);
    }
  };
  replaceChart("price-chart", {
    height: 300,
    title: symbol + " — price, buys ▲ and sells ▼",
    series: [{}, { label: "close", stroke: "#1d2330", width: 1, spanGaps: true },
      { label: "buy", stroke: "#0a7d38", fill: "#0a7d38", paths: () => null, points: { show: true, size: 9, fill: "#0a7d38" } },
      { label: "sell", stroke: "#c0262d", fill: "#c0262d", paths: () => null, points: { show: true, size: 9, fill: "#c0262d" } }],
    axes: [{}, { size: 70 }],
    cursor: { sync: { key: "symbol" }, drag: { x: true, y: false } },
    hooks: { ready: [(u) => { u.stdsReady = true; }], setScale: [zoomed] },
  }, joined);
  document.getElementById("price-chart").dataset.fills = String(detail.buys.length + detail.sells.length);

  const strategies = Object.keys(detail.targets);
  const xs = detail.times.length ? [detail.times[0], detail.times[detail.times.length - 1]] : [];
  const tables = [[xs, xs.map(() => null)]].concat(strategies.map((name) => [detail.targets[name].map((t) => t[0]), detail.targets[name].map((t) => t[1])]));
  replaceChart("target-chart", {
    height: 140,
    title: "targets",
    scales: { x: { min: xs[0], max: xs[1] } },
    series: [{}, { show: false }].concat(strategies.map((name) => ({
      label: name, stroke: colour(name), width: 1.5, spanGaps: true, paths: uPlot.paths.stepped({ align: 1 }),
    }))),
    axes: [{}, { size: 70 }],
    cursor: { sync: { key: "symbol" } },
  }, uPlot.join(tables));

  const accountNames = Object.keys(equity.accounts).filter((name) => name.endsWith(" " + symbol));
  replaceChart("symbol-pnl-chart", {
    height: 160,
    title: "PnL of each strategy on " + symbol + " (quote)",
    series: [{}].concat(accountNames.map((name) => ({ label: name.split(" ")[0], stroke: colour(name.split(" ")[0]), width: 1.2 }))),
    axes: [{}, { size: 70 }],
  }, [equity.times].concat(accountNames.map((name) => equity.accounts[name])));
}

function showError(error) {
  const message = document.getElementById("message");
  message.textContent = String(error.message || error);
  message.hidden = false;
}

// The stream's events: {version, snapshot} (everything) or {version, since, set, rows, removed} (what changed).
function apply(message) {
  if (message.snapshot) {
    state.keyed = message.snapshot;
  } else {
    if (!state.keyed || message.since !== state.version) return false;  // not ours to build on: start again
    Object.assign(state.keyed, message.set || {});
    for (const [table, rows] of Object.entries(message.rows || {})) Object.assign(state.keyed[table], rows);
    for (const [table, keys] of Object.entries(message.removed || {})) for (const key of keys) delete state.keyed[table][key];
  }
  state.version = message.version;
  const snapshot = Object.assign({}, state.keyed);
  for (const table of KEYED_TABLES) {
    snapshot[table] = Object.keys(state.keyed[table]).sort().map((key) => state.keyed[table][key]);
  }
  render(snapshot);
  return true;
}

function connect() {
  const connection = document.getElementById("connection");
  const events = new EventSource("/api/events?token=" + encodeURIComponent(token));
  events.onopen = () => {
    state.connected = true;
    if (state.snapshot) renderRun(state.snapshot);
  };
  events.onmessage = (message) => {
    try {
      if (!apply(JSON.parse(message.data))) {
        events.close();  // a reconnect without a version gets everything again
        state.keyed = null;
        state.version = null;
        connect();
        return;
      }
      document.getElementById("message").hidden = true;
    } catch (error) {
      showError(error);
    }
  };
  events.onerror = () => {
    state.connected = false;
    connection.textContent = "reconnecting…";
    connection.className = "badge off";
  };
}

// Each mode, with what it does in the server's words, asks before it acts.
let asked = null;
function ask(action) {
  const dialog = document.getElementById("confirm");
  const modes = state.snapshot ? state.snapshot.kill_switch_modes : {};
  asked = action;
  document.getElementById("confirm-title").textContent = action === "resume"
    ? "Release the kill switch?" : "Engage the kill switch: " + action + "?";
  document.getElementById("confirm-text").textContent = action === "resume"
    ? "Strategies trade again from their next decision." : modes[action] || "";
  document.getElementById("confirm-reason").parentElement.hidden = action === "resume";
  dialog.showModal();
}

async function killSwitch(action, reason) {
  const body = action === "resume" ? undefined : JSON.stringify({ mode: action, reason });
  try {
    await api("/api/" + (action === "resume" ? "resume" : "halt"), { method: "POST", body, headers: { "Content-Type": "application/json" } });
  } catch (error) {
    showError(error);
  }
}

document.getElementById("confirm").addEventListener("close", () => {
  const dialog = document.getElementById("confirm");
  if (dialog.returnValue === "confirm" && asked) {
    killSwitch(asked, document.getElementById("confirm-reason").value || "from the dashboard");
  }
  asked = null;
});
for (const button of document.querySelectorAll("#kill-switch-actions button")) {
  button.addEventListener("click", () => ask(button.dataset.mode || "resume"));
}
for (const th of document.querySelectorAll("#accounts th[data-sort]")) {
  th.addEventListener("click", () => {
    const field = th.dataset.sort;
    state.sort = { field, descending: state.sort.field === field ? !state.sort.descending : NUMERIC.has(field) };
    renderAccounts();
  });
}
document.getElementById("trade-stats-view").addEventListener("change", () => renderTradeStats(state.snapshot && state.snapshot.trade_statistics));
document.getElementById("account-filter").addEventListener("input", (event) => {
  state.filter = event.target.value;
  renderAccounts();
});
document.getElementById("symbol").addEventListener("change", (event) => selectSymbol(event.target.value));
document.getElementById("zoom-reset").addEventListener("click", () => { state.zoom = null; refreshCharts(true); });
window.addEventListener("resize", () => refreshCharts(true));
if (!token) showError("No token: open the address `stds dashboard` printed (it ends in #token=…).");
connect();
