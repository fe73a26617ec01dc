"use strict";
// venice-agent dashboard: a read-only view over the agent's /agent/v1 routes. Every figure
// is drawn with textContent and SVG attributes only (never innerHTML): client names, routes
// and models come from local programs and are shown, never run.
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const COLORS = ["#2f6fde", "#e8793a", "#2ea96b", "#c6408e", "#8a63d2", "#c9a227", "#1aa5b8", "#d64545", "#6b8e23", "#7f7f7f"];
  const FAST_MS = 5000, SLOW_MS = 30000;
  let stopped = false;

  function $(id) { return document.getElementById(id); }

  class SessionEnded extends Error {}

  // The session's second secret arrives in the address's fragment (never sent to a server);
  // it moves into this tab's sessionStorage, which no other origin (another loopback port
  // included) can read, and goes with every view the page reads.
  const SECRET_KEY = "venice-agent-dashboard";
  if (location.hash.length > 1) {
    sessionStorage.setItem(SECRET_KEY, location.hash.slice(1));
    history.replaceState(null, "", location.pathname);
  }
  const secret = sessionStorage.getItem(SECRET_KEY) || "";

  async function get(path) {
    const response = await fetch(path, { credentials: "same-origin", cache: "no-store", redirect: "error",
                                         headers: { "Accept": "application/json", "X-Agent-Dashboard": secret } });
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    if (response.status === 401) throw new SessionEnded((body && body.error && body.error.message) || "session ended");
    if (!response.ok) throw new Error((body && body.error && body.error.message) || ("HTTP " + response.status));
    return body;
  }

  function usd(value, places) {
    const n = Number(value);
    if (value === null || value === undefined || !isFinite(n)) return "–";
    return "$" + n.toFixed(places === undefined ? 4 : places);
  }

  // Text from the ledger is shown, never run, and long values are cut (the whole value in the tooltip).
  function clip(text, max) {
    const value = String(text);
    return value.length > max ? value.slice(0, max - 1) + "…" : value;
  }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) {
      node.textContent = clip(text, 64);
      if (String(text).length > 64) node.title = String(text).slice(0, 2000);
    }
    if (className) node.className = className;
    return node;
  }

  function svgEl(tag, attributes) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
    return node;
  }

  function fillTable(id, rows, cells, rowClass) {
    const body = $(id).tBodies[0];
    body.replaceChildren();
    if (rows.length === 0) {
      const tr = el("tr"); const td = el("td", "nothing yet", "muted");
      td.colSpan = $(id).tHead.rows[0].cells.length; tr.appendChild(td); body.appendChild(tr); return;
    }
    for (const row of rows) {
      const tr = el("tr");
      if (rowClass) { const c = rowClass(row); if (c) tr.className = c; }
      for (const cell of cells(row)) tr.appendChild(cell instanceof Node && cell.nodeName === "TD" ? cell : (() => { if (cell instanceof Node) { const td = el("td"); td.appendChild(cell); return td; } return el("td", cell); })());
      body.appendChild(tr);
    }
  }

  function num(text) { const td = el("td", text, "num"); return td; }

  function shortTime(iso) { return typeof iso === "string" ? iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "") : "–"; }

  // The last 30 UTC days, oldest first, as YYYY-MM-DD (the same window as `spend --chart`).
  function lastDays(count) {
    const days = [];
    const today = new Date();
    const base = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
    for (let i = count - 1; i >= 0; i--) days.push(new Date(base - i * 86400000).toISOString().slice(0, 10));
    return days;
  }

  function colorFor(keys, key) { return COLORS[keys.indexOf(key) % COLORS.length]; }

  // Stacked columns: one per day, one segment per client or model. Each segment carries its
  // exact figures (data-day, data-key, data-usd) so a reader or a test can check them.
  function drawStacked(containerId, legendId, rows, days) {
    const container = $(containerId);
    const byDay = new Map(rows.map((row) => [row.key, row.parts || []]));
    const keys = [];
    for (const row of rows) for (const part of row.parts || []) if (!keys.includes(part.key)) keys.push(part.key);
    keys.sort();
    const totals = days.map((day) => (byDay.get(day) || []).reduce((sum, part) => sum + Number(part.charged_usd || 0), 0));
    const max = Math.max(...totals, 0);
    const width = 900, height = 220, left = 56, bottom = 28, top = 10;
    const plotH = height - bottom - top, step = (width - left - 8) / days.length, barW = Math.max(4, step * 0.7);
    const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": containerId });
    svg.appendChild(svgEl("line", { x1: left, y1: top + plotH, x2: width - 4, y2: top + plotH, class: "axis" }));
    if (max <= 0) {
      const t = svgEl("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty" });
      t.textContent = "no spending in the last 30 days"; svg.appendChild(t);
    }
    for (const fraction of max > 0 ? [0.5, 1] : []) {
      const y = top + plotH - plotH * fraction;
      svg.appendChild(svgEl("line", { x1: left, y1: y, x2: width - 4, y2: y, class: "axis" }));
      const label = svgEl("text", { x: left - 4, y: y + 3, "text-anchor": "end" }); label.textContent = usd(max * fraction, max < 1 ? 4 : 2); svg.appendChild(label);
    }
    days.forEach((day, index) => {
      const x = left + index * step + (step - barW) / 2;
      let y = top + plotH;
      for (const part of (byDay.get(day) || []).slice().sort((a, b) => (a.key < b.key ? -1 : 1))) {
        const value = Number(part.charged_usd || 0);
        const h = max > 0 ? plotH * value / max : 0;
        y -= h;
        const rect = svgEl("rect", { x: x, y: y, width: barW, height: Math.max(h, 0), fill: colorFor(keys, part.key),
                                     "data-day": day, "data-key": part.key, "data-usd": String(part.charged_usd), "data-requests": String(part.requests) });
        const title = svgEl("title"); title.textContent = `${day} · ${clip(part.key, 120)} · ${usd(part.charged_usd)} · ${part.requests} requests`;
        rect.appendChild(title); svg.appendChild(rect);
      }
      if (index % 5 === 4 || index === days.length - 1) {
        const label = svgEl("text", { x: x + barW / 2, y: height - 10, "text-anchor": "middle" }); label.textContent = day.slice(5); svg.appendChild(label);
      }
    });
    container.replaceChildren(svg);
    const legend = $(legendId);
    legend.replaceChildren(...keys.map((key) => { const s = el("span", clip(key, 60)); s.title = key.slice(0, 2000); s.style.setProperty("--swatch", colorFor(keys, key)); return s; }));
    return totals;
  }

  function drawBalance(points) {
    const container = $("balance-chart");
    const width = 900, height = 180, left = 56, bottom = 24, top = 10;
    const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "balance history" });
    const values = points.map((p) => Number(p.balance_usd));
    if (values.length === 0) {
      const t = svgEl("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty" });
      t.textContent = "no ledger rows at Venice yet"; svg.appendChild(t); container.replaceChildren(svg); return;
    }
    // The axis spans the values themselves (a balance far from zero still shows its changes).
    const high = Math.max(...values), low = Math.min(...values), pad = (high - low) * 0.1 || Math.max(high * 0.01, 0.01);
    const max = high + pad, min = Math.max(0, low - pad), span = max - min || 1;
    const plotH = height - top - bottom, step = values.length > 1 ? (width - left - 12) / (values.length - 1) : 0;
    const coords = values.map((v, i) => [left + i * step, top + plotH - plotH * (v - min) / span]);
    svg.appendChild(svgEl("line", { x1: left, y1: top + plotH, x2: width - 4, y2: top + plotH, class: "axis" }));
    for (const v of [low, high]) {
      const label = svgEl("text", { x: left - 4, y: top + plotH - plotH * (v - min) / span + 3, "text-anchor": "end" }); label.textContent = usd(v, 2); svg.appendChild(label);
    }
    svg.appendChild(svgEl("polyline", { points: coords.map((c) => c.join(",")).join(" "), class: "line" }));
    points.forEach((p, i) => {
      const dot = svgEl("circle", { cx: coords[i][0], cy: coords[i][1], r: 3, class: "dot", "data-time": p.time, "data-usd": String(p.balance_usd) });
      const title = svgEl("title"); title.textContent = `${shortTime(p.time)} · ${p.type || ""} ${usd(p.amount_usd)} → ${usd(p.balance_usd)}`;
      dot.appendChild(title); svg.appendChild(dot);
    });
    container.replaceChildren(svg);
  }

  function limitCell(spent, limit, soft) {
    const td = el("td");
    td.appendChild(el("div", usd(spent, 4) + (limit === null || limit === undefined ? "" : " of " + usd(limit, 2))));
    if (limit !== null && limit !== undefined && Number(limit) > 0) {
      const fraction = Number(spent) / Number(limit);
      const bar = el("div", null, "bar");
      const fill = el("i", null, fraction >= 1 ? "over" : "");
      fill.style.width = Math.min(100, fraction * 100).toFixed(1) + "%";
      bar.appendChild(fill);
      if (soft !== null && soft !== undefined) { const mark = el("b"); mark.style.left = Math.min(100, Number(soft) * 100).toFixed(1) + "%"; bar.appendChild(mark); }
      td.appendChild(bar);
    }
    return td;
  }

  function showNotice(text) { const n = $("notice"); n.textContent = text; n.hidden = false; }

  function endSession(message) {
    stopped = true;
    $("content").replaceChildren();
    $("content").hidden = true;
    $("wallet").textContent = "";
    showNotice(message + " — run `venice-agent dashboard` for a new link.");
  }

  async function refreshFast() {
    const since = lastDays(30)[0];
    const [status, byClient, byModel, clients, requests, topups, audit] = await Promise.all([
      get("/agent/v1/status"),
      get("/agent/v1/spend?by=day&stack=client&since=" + since),
      get("/agent/v1/spend?by=day&stack=model&since=" + since),
      get("/agent/v1/clients"),
      get("/agent/v1/requests?minutes=60&limit=200"),
      get("/agent/v1/topups?limit=20"),
      get("/agent/v1/audit?limit=50"),
    ]);
    $("wallet").textContent = `${status.address} · ${status.locked ? "locked" : "unlocked"} · ${status.upstream}`;
    const unexplained = Number(status.unexplained_charges || 0);
    $("unexplained").textContent = String(unexplained);
    $("unexplained").className = "figure" + (unexplained > 0 ? " alert" : "");
    const days = lastDays(30);
    const totals = drawStacked("spend-client", "legend-client", byClient.rows || [], days);
    drawStacked("spend-model", "legend-model", byModel.rows || [], days);
    $("today").textContent = usd(totals[totals.length - 1], 4);
    $("month").textContent = usd(totals.reduce((a, b) => a + b, 0), 4);
    fillTable("clients", clients.clients || [], (c) => [
      c.name, (c.routes || []).join(", "), limitCell(c.spent_today_usd, c.daily_usd, c.soft_limit),
      limitCell(c.spent_month_usd, c.monthly_usd, c.soft_limit), num(c.max_request_usd === null ? "–" : usd(c.max_request_usd, 2)),
      c.soft_limit === null ? "–" : Math.round(Number(c.soft_limit) * 100) + "%", c.expires_at ? shortTime(c.expires_at) : "never",
    ]);
    fillTable("requests", requests.requests || [], (r) => [
      shortTime(r.started_at), r.client, r.method + " " + r.route, r.model || "–", r.status === null ? "…" : String(r.status),
      num(usd(r.estimate_usd)), num(r.charged_usd === null ? "pending" : usd(r.charged_usd)), num(r.latency_ms === null ? "…" : r.latency_ms + " ms"),
    ], (r) => (r.status !== null && r.status >= 400 ? "alert" : ""));
    fillTable("topups", topups.topups || [], (t) => [
      shortTime(t.created_at), num(usd(t.amount_usd, 2)), el("td", t.state, "state-" + t.state), t.outcome || "",
    ]);
    fillTable("audit", audit.events || [], (e) => [shortTime(e.time), e.kind, e.detail],
      (e) => (e.kind === "unexplained_charge" ? "alert" : ""));
    $("updated").textContent = "updated " + new Date().toLocaleTimeString();
    $("content").hidden = false;
  }

  async function refreshSlow() {
    try {
      const balance = await get("/agent/v1/balance");
      $("balance").textContent = usd(balance.balance_usd, 2);
      $("diem").textContent = usd(balance.diem_balance_usd, 2);
    } catch (error) {
      if (error instanceof SessionEnded) throw error;
      $("balance").textContent = "–";
      $("balance").title = error.message;
    }
    try {
      const history = await get("/agent/v1/balance/history?limit=100");
      drawBalance(history.points || []);
    } catch (error) {
      if (error instanceof SessionEnded) throw error;
      const t = el("p", "balance history unavailable: " + error.message, "muted");
      $("balance-chart").replaceChildren(t);
    }
  }

  function loop(work, interval) {
    const tick = async () => {
      if (stopped) return;
      if (!document.hidden) {
        try { await work(); $("notice").hidden = true; } catch (error) {
          if (error instanceof SessionEnded) { endSession(error.message); return; }
          showNotice("could not refresh: " + error.message);
        }
      }
      if (!stopped) setTimeout(tick, interval);
    };
    tick();
  }

  document.addEventListener("DOMContentLoaded", () => { loop(refreshFast, FAST_MS); loop(refreshSlow, SLOW_MS); });
})();
