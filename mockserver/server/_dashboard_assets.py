"""The dashboard's stylesheet and script, inlined into every page (no build step, no CDN).

The script only ever puts data into the page as text (``textContent``, ``append`` of strings,
``setAttribute``): payloads, URLs and consumer answers are attacker-controlled, and it never
assigns ``innerHTML``. Links it builds point only at this server (``/deliveries/`` plus an
encoded id). Pages carry a Content-Security-Policy that allows only these nonce'd blocks, so an
injection that slipped through would still not run.
"""

from __future__ import annotations

__all__ = ["CSS", "SCRIPT"]

CSS = """
:root { --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --bg: #f6f8fa; --link: #0969da;
  --mono: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
  color: var(--fg); background: #fff; }
header { display: flex; gap: 20px; align-items: baseline; padding: 10px 24px;
  background: #24292f; color: #fff; }
header .brand { font-weight: 600; font-size: 15px; }
header a { color: #d0d7de; text-decoration: none; }
header a:hover { color: #fff; }
header .live { margin-left: auto; font-size: 12px; color: #8c959f; }
header .live.on::before { content: "\\25CF  "; color: #3fb950; }
header .live.off { color: #ff7b72; }
main { padding: 16px 24px 40px; max-width: 1400px; }
h1 { font-size: 20px; margin: 4px 0 12px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
h3 { font-size: 14px; margin: 18px 0 6px; }
a { color: var(--link); }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
pre { margin: 0; white-space: pre-wrap; word-break: break-all; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 6px 10px;
  border-bottom: 1px solid var(--line); }
th { background: var(--bg); font-weight: 600; font-size: 12px; color: var(--muted);
  text-transform: uppercase; letter-spacing: .03em; }
tbody tr:hover { background: #f6f8fa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.mono { white-space: nowrap; }
th.fit { width: 1%; white-space: nowrap; }
.muted { color: var(--muted); }
.url { color: var(--muted); word-break: break-all; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
  font-weight: 600; white-space: nowrap; border: 1px solid transparent; }
.s-pending { background: #eaeef2; color: #57606a; }
.s-delivering { background: #ddf4ff; color: #0969da; border-color: #54aeff; }
.s-delivered { background: #dafbe1; color: #1a7f37; }
.s-dead-lettered { background: #ffebe9; color: #cf222e; }
.s-interrupted { background: #fff8c5; color: #9a6700; }
.c-2xx { background: #dafbe1; color: #1a7f37; }
.c-3xx, .c-4xx { background: #fff8c5; color: #9a6700; }
.c-5xx, .c-err { background: #ffebe9; color: #cf222e; }
.tag { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 11px;
  background: #eaeef2; color: #57606a; }
.bar { display: flex; flex-wrap: wrap; gap: 16px; align-items: center; margin: 8px 0 16px; }
.counts { display: flex; flex-wrap: wrap; gap: 8px; list-style: none; margin: 0; padding: 0; }
.counts a { display: inline-flex; gap: 6px; align-items: center; padding: 4px 10px;
  border: 1px solid var(--line); border-radius: 6px; text-decoration: none; color: var(--fg); }
.counts a.current { border-color: var(--link); box-shadow: 0 0 0 1px var(--link) inset; }
.counts .n { font-weight: 600; font-variant-numeric: tabular-nums; }
form.trigger { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; padding: 10px 12px;
  background: var(--bg); border: 1px solid var(--line); border-radius: 6px; }
input, select, button { font: inherit; }
input[type=number] { width: 5em; }
button { padding: 4px 14px; border-radius: 6px; border: 1px solid #1f883d; background: #1f883d;
  color: #fff; font-weight: 600; cursor: pointer; }
button:disabled { opacity: .6; cursor: default; }
button.secondary { background: #f6f8fa; color: var(--fg); border-color: var(--line); }
.ok { color: #1a7f37; }
.err { color: #cf222e; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0 0 12px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
tr.attempt-detail td { background: #fbfcfd; padding-top: 0; }
tr.attempt-detail:hover { background: none; }
.grid3 { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 12px; }
.grid3 h4 { margin: 6px 0 4px; font-size: 11px; color: var(--muted); text-transform: uppercase; }
.grid3 pre { background: #fff; border: 1px solid var(--line); border-radius: 4px; padding: 6px;
  max-height: 220px; overflow: auto; }
pre.json { background: var(--bg); border: 1px solid var(--line); border-radius: 6px;
  padding: 10px 12px; max-height: 520px; overflow: auto; }
.toc { display: flex; flex-wrap: wrap; gap: 6px 12px; margin: 8px 0 16px; }
table.fields { table-layout: fixed; }
table.fields td { overflow-wrap: anywhere; }
table.fields th:nth-child(1) { width: 15%; }
table.fields th:nth-child(2) { width: 15%; }
table.fields th:nth-child(3) { width: 8%; }
table.fields th:nth-child(4) { width: 10%; }
table.fields th:nth-child(6) { width: 20%; }
table.values th:nth-child(1) { width: 20%; }
table.values th:nth-child(3) { width: 30%; }
details { margin: 6px 0 0; }
summary { cursor: pointer; color: var(--muted); }
details pre.json { margin-top: 6px; }
.prov { font-size: 12px; }
.prov-documented { color: #1a7f37; }
.prov-seen-in-v1 { color: #0969da; }
.prov-inferred { color: #9a6700; }
section { margin-bottom: 20px; }
.lead { color: var(--muted); max-width: 900px; }
"""

SCRIPT = r"""
"use strict";
(() => {
  const FINAL = ["delivered", "dead-lettered", "interrupted"];
  const POLL_MS = 1000;
  const page = document.body.dataset.page;

  // Data only ever enters the page as text nodes and attribute values.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }
  const token = (text) => String(text).toLowerCase().replace(/[^a-z0-9-]/g, "");
  const deliveryHref = (id) => "/deliveries/" + encodeURIComponent(id);

  function fmtTime(t) {
    return new Date(t * 1000).toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }
  function fmtDuration(s) {
    if (s < 1) return Math.round(s * 1000) + " ms";
    if (s < 120) return s.toFixed(1) + " s";
    if (s < 7200) return (s / 60).toFixed(1) + " min";
    return (s / 3600).toFixed(1) + " h";
  }
  function stateBadge(status) {
    return el("span", {class: "badge s-" + token(status), "data-testid": "status"}, status);
  }
  function codeBadge(code) {
    return el("span", {class: "badge c-" + String(code).charAt(0) + "xx"}, String(code));
  }

  async function request(url, options) {
    const response = await fetch(url, Object.assign({cache: "no-store"}, options || {}));
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    if (!response.ok) {
      throw new Error((data && data.error) || response.status + " " + response.statusText);
    }
    return data;
  }
  const post = (url, body) => request(url, {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body || {}),
  });

  function setLive(ok, message) {
    const live = document.getElementById("live");
    if (!live) return;
    live.className = "live " + (ok ? "on" : "off");
    live.textContent = ok ? "live" : "offline: " + message;
  }

  // Calls fn every POLL_MS, one call at a time, until it returns false.
  function poll(fn) {
    const tick = async () => {
      let again = true;
      try { again = await fn(); setLive(true); } catch (err) { setLive(false, err.message); }
      if (again !== false) setTimeout(tick, POLL_MS);
    };
    setTimeout(tick, 0);
  }

  // -- the delivery list ------------------------------------------------------------------
  function deliveryRow(d) {
    const status = el("td", {}, stateBadge(d.status));
    if (d.reason && d.status !== "delivered") {
      status.append(" ", el("span", {class: "muted"}, d.reason));
    }
    const event = el("td", {}, el("span", {class: "event"}, d.event));
    if (d.redelivery_of) event.append(" ", el("span", {class: "tag"}, "redelivery"));
    if (d.changes.length) {
      event.append(" ", el("span", {class: "tag", title: d.changes.join(", ")}, "evolved"));
    }
    const link = el("a", {href: deliveryHref(d.id), class: "mono", "data-testid": "delivery-link"},
      d.id.slice(0, 8));
    const created = el("td", {class: "mono", title: new Date(d.created_at * 1000).toISOString()},
      fmtTime(d.created_at));
    const attrs = {
      "data-testid": "delivery-row", "data-id": d.id,
      "data-status": d.status, "data-event": d.event,
    };
    return el("tr", attrs,
      el("td", {}, link),
      status,
      event,
      el("td", {}, el("div", {}, d.subscription), el("div", {class: "url mono"}, d.url)),
      el("td", {class: "num"}, String(d.attempt_count)),
      el("td", {class: "num"}, d.last_status === null ? "\u2014" : codeBadge(d.last_status)),
      created);
  }
  function emptyRow(columns, text) {
    return el("tr", {class: "empty"}, el("td", {colspan: columns, class: "muted"}, text));
  }

  function initIndex() {
    const table = document.getElementById("deliveries");
    let last = null;
    const refresh = async () => {
      const query = new URLSearchParams({limit: table.dataset.limit});
      if (table.dataset.filter) query.set("status", table.dataset.filter);
      const [list, health] = await Promise.all(
        [request("/v1/deliveries?" + query), request("/healthz")]);
      const seen = JSON.stringify([list, health]);
      if (seen === last) return true;
      last = seen;
      const rows = list.deliveries.map(deliveryRow);
      if (!rows.length) rows.push(emptyRow(7, table.dataset.empty));
      table.tBodies[0].replaceChildren(...rows);
      document.getElementById("shown").textContent = list.deliveries.length + " of " + list.total;
      let all = 0;
      for (const node of document.querySelectorAll('[data-testid="count"]')) {
        const n = node.dataset.state ? (health.deliveries[node.dataset.state] || 0) : null;
        if (n !== null) { all += n; node.querySelector(".n").textContent = String(n); }
      }
      const total = document.querySelector('[data-testid="count"]:not([data-state]) .n');
      if (total) total.textContent = String(all);
      document.getElementById("queue").textContent =
        health.queued + " queued, " + health.retrying + " waiting to retry, " +
        health.in_flight + " in flight";
      return true;
    };
    poll(refresh);

    const form = document.getElementById("trigger-form");
    const out = document.getElementById("trigger-result");
    form.addEventListener("submit", async (submitted) => {
      submitted.preventDefault();
      const button = document.getElementById("trigger");
      const count = Number(form.elements.count.value) || 1;
      const body = {event: form.elements.event.value, count: count};
      if (form.elements.evolved.checked) body.evolved = true;
      button.disabled = true;
      try {
        const accepted = await post("/v1/events", body);
        const n = accepted.deliveries.length;
        out.className = "ok";
        const what = n === 1 ? " delivery" : " deliveries";
        out.textContent = n
          ? "Queued " + n + what + " (seed " + accepted.seed + ")."
          : "No subscription receives this event: nothing was queued.";
        await refresh();
      } catch (err) {
        out.className = "err";
        out.textContent = "Not sent: " + err.message;
      } finally {
        button.disabled = false;
      }
    });
  }

  // -- one delivery -----------------------------------------------------------------------
  function block(title, text) {
    return el("div", {}, el("h4", {}, title), el("pre", {}, text));
  }
  function headersText(headers) {
    const lines = Object.entries(headers).map(([name, value]) => name + ": " + value);
    return lines.length ? lines.join("\n") : "(none)";
  }
  function attemptRows(a) {
    const outcome = a.status !== null
      ? codeBadge(a.status)
      : el("span", {class: "badge c-err"}, a.error_kind || "error");
    const notes = [];
    if (a.error_message) notes.push(a.error_message);
    if (a.tls_failure) notes.push("TLS check failed: " + a.tls_failure);
    if (a.retry_after_s !== null) notes.push("Retry-After " + fmtDuration(a.retry_after_s));
    if (a.delay_s !== null) notes.push("next attempt " + fmtDuration(a.delay_s) + " later");
    const marker = a.status !== null ? a.status : a.error_kind;
    const attrs = {"data-testid": "attempt-row", "data-number": a.number, "data-status": marker};
    const main = el("tr", attrs,
      el("td", {class: "num"}, String(a.number)),
      el("td", {class: "mono"}, fmtTime(a.started_at)),
      el("td", {}, outcome),
      el("td", {class: "num"}, fmtDuration(a.duration_s)),
      el("td", {}, notes.length ? notes.join("; ") : "\u2014"));
    const body = a.body_excerpt ? a.body_excerpt : "(empty)";
    const blocks = el("div", {class: "grid3"},
      block("Request headers (redacted)", headersText(a.request_headers)),
      block("Response headers", headersText(a.response_headers)),
      block(a.body_truncated ? "Response body (truncated)" : "Response body", body));
    const detail = el("tr", {class: "attempt-detail"}, el("td", {colspan: 5}, blocks));
    return [main, detail];
  }

  function renderDelivery(d) {
    const main = document.getElementById("delivery");
    main.dataset.status = d.status;
    document.getElementById("status").replaceChildren(stateBadge(d.status));
    document.getElementById("updated").textContent = fmtTime(d.updated_at);
    const outcome = [d.reason, d.detail].filter(Boolean).join(": ");
    document.getElementById("outcome").textContent = outcome || "\u2014";
    const rows = d.attempts.flatMap(attemptRows);
    if (!rows.length) rows.push(emptyRow(5, "No attempt yet."));
    document.getElementById("attempts").tBodies[0].replaceChildren(...rows);
    document.getElementById("attempt-count").textContent = String(d.attempts.length);
  }

  function initDelivery() {
    const main = document.getElementById("delivery");
    const id = main.dataset.id;
    if (!FINAL.includes(main.dataset.status)) {
      poll(async () => {
        const d = await request("/v1/deliveries/" + encodeURIComponent(id));
        renderDelivery(d);
        return !FINAL.includes(d.status);
      });
    }
    const button = document.getElementById("redeliver");
    const out = document.getElementById("redeliver-result");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const accepted = await post("/v1/deliveries/" + encodeURIComponent(id) + "/redeliver");
        const fresh = accepted.deliveries[0].id;
        const state = el("span", {id: "redelivered-status"}, stateBadge("pending"));
        out.className = "";
        const link = el("a", {id: "redelivered", "data-testid": "redelivered-link", class: "mono",
          href: deliveryHref(fresh)}, fresh.slice(0, 8));
        out.replaceChildren("Redelivered as ", link, " ", state);
        poll(async () => {
          const d = await request("/v1/deliveries/" + encodeURIComponent(fresh));
          state.replaceChildren(stateBadge(d.status));
          return !FINAL.includes(d.status);
        });
      } catch (err) {
        out.className = "err";
        out.textContent = "Not redelivered: " + err.message;
      } finally {
        button.disabled = false;
      }
    });
  }

  if (page === "index") initIndex();
  if (page === "delivery") initDelivery();
})();
"""
