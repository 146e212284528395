// The witness explorer: a page over this server's own /v1 API and tiled log. No framework, no
// build step, no network but this origin. The proof check runs here, in the browser, from the
// specs (RFC 6962/9162 Merkle proofs, C2SP signed notes) with WebCrypto's SHA-256 and Ed25519.
"use strict";

const view = () => document.getElementById("view");

// ---- small helpers ----
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}
const svgEl = (tag, attrs = {}) => {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
};
async function api(path, options) {
  const r = await fetch(path, options);
  const type = r.headers.get("Content-Type") || "";
  if (!r.ok) {
    let message = r.status + " " + r.statusText;
    if (type.startsWith("application/json")) message = (await r.json()).error.message;
    throw new Error(message);
  }
  if (type.startsWith("application/json")) return r.json();
  if (type.startsWith("text/")) return r.text();
  return new Uint8Array(await r.arrayBuffer());
}
const short = (hex) => hex.slice(0, 12);
function showError(where, e) {
  where.append(el("p", { class: "error", text: String(e.message || e) }));
}

// ---- header: the ledger's size, and a notice when it grows (refreshed on each new entry) ----
let shownSize = null;
async function refreshHead() {
  try {
    const s = await api("/v1/stats");
    document.getElementById("head").textContent =
      `${s.size} entries · root ${short(s.merkle_root)} · ledger ${s.ledger_id}`;
    const fresh = document.getElementById("fresh");
    if (shownSize === null) shownSize = s.size;
    if (s.size > shownSize) {
      fresh.hidden = false;
      fresh.textContent = `${s.size - shownSize} new entries: show`;
      fresh.dataset.size = s.size;
    }
  } catch (e) {
    document.getElementById("head").textContent = "cannot reach the ledger: " + e.message;
  }
}

// ---- timeline ----
const FILTERS = ["origin", "kind", "walk", "tag", "since", "until"];
async function timeline(params) {
  const v = view();
  v.replaceChildren();
  const form = el("form", { class: "filters", id: "filters" });
  for (const name of FILTERS) {
    form.append(el("label", { text: name }, el("input", { name, value: params.get(name) || "" })));
  }
  const order = el("select", { name: "order" },
    el("option", { value: "newest", text: "newest first" }),
    el("option", { value: "oldest", text: "oldest first" }));
  order.value = params.get("order") || "newest";
  form.append(el("label", { text: "order" }, order), el("button", { type: "submit", text: "Filter" }));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [k, val] of new FormData(form)) if (val) q.set(k, val);
    location.hash = "#/?" + q.toString();
  });
  const table = el("table", { id: "entries" },
    el("thead", {}, el("tr", {}, ...["seq", "time", "origin", "kind", "walk", "id"].map(
      (h) => el("th", { text: h })))),
    el("tbody"));
  const more = el("button", { id: "more", text: "More", hidden: "" });
  v.append(form, table, more);
  const query = new URLSearchParams();
  for (const [k, val] of params) if (val) query.set(k, val);
  if (!query.has("order")) query.set("order", "newest");
  query.set("limit", "50");
  const load = async (cursor) => {
    if (cursor) query.set("cursor", cursor);
    try {
      const page = await api("/v1/entries?" + query.toString());
      for (const e of page.entries) {
        const row = el("tr", { "data-seq": e.seq, onclick: () => { location.hash = `#/entry/${e.seq}`; } },
          el("td", { class: "mono", text: e.seq }), el("td", { class: "mono", text: e.timestamp }),
          el("td", { text: e.origin }), el("td", { text: e.kind }), el("td", { text: e.walk || "" }),
          el("td", { class: "mono", text: short(e.id) }));
        table.tBodies[0].append(row);
      }
      more.hidden = !page.next_cursor;
      more.onclick = () => load(page.next_cursor);
    } catch (e) {
      showError(v, e);
    }
  };
  await load(null);
}

// ---- one entry: fields, payload, links, causal graph, proof ----
async function entryPage(ref) {
  const v = view();
  v.replaceChildren();
  let e;
  try {
    e = await api(/^[0-9a-f]{64}$/.test(ref) ? `/v1/ids/${ref}` : `/v1/entries/${ref}`);
  } catch (err) {
    showError(v, err);
    return;
  }
  const dl = el("dl", { id: "fields" });
  const add = (k, val) => dl.append(el("dt", { text: k }), el("dd", { class: "mono", text: val }));
  add("seq", e.seq); add("id", e.id); add("origin", e.origin); add("kind", e.kind);
  add("timestamp", e.timestamp); add("walk", e.walk || "—"); add("tags", e.tags.join(", ") || "—");
  add("signature", e.signature ? short(e.signature) + "…" : "—");
  const links = el("ul", { id: "links" });
  for (const l of e.links) {
    links.append(el("li", {}, `${l.relation} `,
      el("a", { href: `#/entry/${l.target}`, class: "mono", "data-target": l.target, text: short(l.target) })));
  }
  if (!e.links.length) links.append(el("li", { text: "none" }));
  v.append(el("h2", { text: `Entry ${e.seq}` }), dl,
    el("section", {}, el("h3", { text: "Payload" }),
      el("pre", { id: "payload", text: JSON.stringify(e.payload, null, 2) })),
    el("section", {}, el("h3", { text: "Links" }), links));
  const graphSection = el("section", {}, el("h3", { text: "Causal graph (3 steps each way)" }));
  v.append(graphSection);
  const proofSection = el("section", { id: "proof" }, el("h3", { text: "Inclusion proof" }));
  const tamper = el("input", { type: "checkbox", id: "tamper" });
  const verifyButton = el("button", { id: "verify", text: "Verify in this browser" });
  const result = el("div", { id: "proof-result" });
  proofSection.append(el("p", {},
    "Checks the signed checkpoint with Ed25519, this entry's bytes from the tiled log against ",
    "its leaf hash, and the RFC 6962 proof up to the checkpoint's root. "),
  el("label", {}, tamper, " tamper with the proof first (to watch it fail)"), " ", verifyButton, result);
  verifyButton.addEventListener("click", () => verifyEntry(e.seq, tamper.checked, result));
  v.append(proofSection);
  try {
    await drawGraph(e, graphSection);
  } catch (err) {
    showError(graphSection, err);
  }
}

async function drawGraph(e, where) {
  const [up, down] = await Promise.all([
    api(`/v1/lineage/${e.id}?direction=ancestors&depth=3`),
    api(`/v1/lineage/${e.id}?direction=descendants&depth=3`)]);
  // Columns by signed depth: ancestors to the left, descendants to the right.
  const nodes = new Map([[e.id, { entry: e, col: 0 }]]);
  const edges = [];
  for (const s of up.steps) {
    if (!nodes.has(s.entry.id)) nodes.set(s.entry.id, { entry: s.entry, col: -s.depth });
    edges.push({ from: s.entry.id, to: s.from, relation: s.relation });  // cause -> effect
  }
  for (const s of down.steps) {
    if (!nodes.has(s.entry.id)) nodes.set(s.entry.id, { entry: s.entry, col: s.depth });
    edges.push({ from: s.from, to: s.entry.id, relation: s.relation });
  }
  const cols = new Map();
  for (const n of nodes.values()) {
    if (!cols.has(n.col)) cols.set(n.col, []);
    n.row = cols.get(n.col).length;
    cols.get(n.col).push(n);
  }
  const minCol = Math.min(...cols.keys());
  const W = 150, H = 46, GX = 60, GY = 16;
  const width = (Math.max(...cols.keys()) - minCol + 1) * (W + GX) + GX;
  const height = Math.max(...[...cols.values()].map((c) => c.length)) * (H + GY) + GY;
  const svg = svgEl("svg", { class: "graph", id: "graph", width, height, viewBox: `0 0 ${width} ${height}` });
  const defs = svgEl("defs");
  const marker = svgEl("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5",
    markerWidth: "6", markerHeight: "6", orient: "auto-start-reverse" });
  marker.append(svgEl("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#888" }));
  defs.append(marker);
  svg.append(defs);
  const pos = (n) => ({ x: GX + (n.col - minCol) * (W + GX), y: GY + n.row * (H + GY) });
  for (const ed of edges) {
    const a = pos(nodes.get(ed.from)), b = pos(nodes.get(ed.to));
    const line = svgEl("path", { class: "edge", "data-from": nodes.get(ed.from).entry.seq,
      "data-to": nodes.get(ed.to).entry.seq, "data-relation": ed.relation,
      d: `M ${a.x + W} ${a.y + H / 2} C ${a.x + W + GX / 2} ${a.y + H / 2}, ${b.x - GX / 2} ${b.y + H / 2}, ${b.x} ${b.y + H / 2}` });
    svg.append(line);
  }
  for (const n of nodes.values()) {
    const p = pos(n);
    const g = svgEl("g", { class: "node" + (n.entry.id === e.id ? " start" : ""), "data-seq": n.entry.seq,
      transform: `translate(${p.x},${p.y})` });
    const a = svgEl("a", { href: `#/entry/${n.entry.seq}` });
    a.append(svgEl("rect", { width: W, height: H, rx: 5 }));
    const t1 = svgEl("text", { x: 8, y: 18 }); t1.textContent = `#${n.entry.seq} ${n.entry.origin}`;
    const t2 = svgEl("text", { x: 8, y: 35 }); t2.textContent = n.entry.kind;
    a.append(t1, t2);
    g.append(a);
    svg.append(g);
  }
  where.append(svg);
}

// ---- agents: covenants, budget bars (spent against limit), denials ----
async function agentsPage() {
  const v = view();
  v.replaceChildren(el("h2", { text: "Agents" }));
  let data;
  try {
    data = await api("/v1/agents");
  } catch (e) {
    showError(v, e);
    return;
  }
  if (!data.agents.length) v.append(el("p", { text: "No covenant is registered: appends are ungated." }));
  v.append(el("p", { class: "meta", text: data.spending === "live"
    ? "Spending as this server's gate counts it."
    : "Spending as the ledger's covenant leases record it (at least what was spent)." }));
  for (const a of data.agents) {
    const card = el("div", { class: "agent", "data-subject": a.subject, "data-state": a.state });
    card.append(el("h3", { text: `${a.subject} · ${a.covenant}` }),
      el("div", { class: "meta", text: [a.state, a.signed ? "signed nodes only" : "unsigned allowed",
        a.expires ? "expires " + a.expires : null, a.rate ? `rate ${a.rate.per_second}/s, burst ${a.rate.burst}` : null,
        "issued by " + a.issuer].filter(Boolean).join(" · ") }));
    const table = el("table", { class: "budget" });
    for (const [dim, b] of Object.entries(a.budget)) {
      const W = 220;
      const bar = svgEl("svg", { class: "bar", width: W, height: 12, "data-dimension": dim,
        "data-spent": b.spent, "data-limit": b.limit === null ? "" : b.limit });
      bar.append(svgEl("rect", { class: "track", width: W, height: 12, rx: 3 }));
      if (b.limit !== null) {
        const used = Math.min(1, b.limit === 0 ? 1 : b.spent / b.limit);
        // Anything spent shows, if only as a sliver.
        const width = b.spent > 0 ? Math.max(2, Math.round(used * W)) : 0;
        bar.append(svgEl("rect", { class: "used" + (used >= 1 ? " full" : ""), width, height: 12, rx: 3 }));
      }
      const cell = el("td");
      cell.append(bar);
      table.append(el("tr", {}, el("td", { text: dim }), cell,
        el("td", { class: "mono", text: `${b.spent} / ${b.limit === null ? "∞" : b.limit}` })));
    }
    if (!Object.keys(a.budget).length) table.append(el("tr", {}, el("td", { text: "no budget limits, nothing spent" })));
    card.append(table);
    const denials = el("ul", { class: "denials" });
    for (const d of a.recent_denials) {
      denials.append(el("li", {}, el("a", { href: `#/entry/${d.seq}`, text: `#${d.seq}` }),
        ` ${d.timestamp} ${d.reason}: ${d.explanation}`));
    }
    card.append(el("div", { class: "meta", "data-denials": a.denials,
      text: `${a.denials} denial${a.denials === 1 ? "" : "s"}` + (a.denials ? ", newest:" : "") }), denials);
    v.append(card);
  }
}

// ---- detector runs: alerts with their explanations, recall/FPR per phase, rate over time ----
const pct = (x) => (x === null || x === undefined ? "–" : (100 * x).toFixed(2) + "%");
function totals(phases) {
  const t = { attack: 0, normal: 0, tp: 0, fp: 0 };
  for (const p of phases || []) {
    t.attack += p.attack; t.normal += p.normal; t.tp += p.true_positives; t.fp += p.false_positives;
  }
  return { recall: t.attack ? t.tp / t.attack : null, fpr: t.normal ? t.fp / t.normal : null };
}

async function detectorPage() {
  const v = view();
  v.replaceChildren(el("h2", { text: "Detector runs" }));
  const table = el("table", { id: "runs" },
    el("thead", {}, el("tr", {}, ...["seq", "time", "records", "alerts", "recall", "FPR", "run"].map(
      (h) => el("th", { text: h })))),
    el("tbody"));
  const more = el("button", { id: "more", text: "More", hidden: "" });
  v.append(table, more);
  const load = async (cursor) => {
    try {
      const page = await api("/v1/detector/runs?limit=50" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
      for (const e of page.runs) {
        const t = totals(e.payload.phases);
        table.tBodies[0].append(el("tr", { "data-id": e.id, onclick: () => { location.hash = `#/detector/${e.id}`; } },
          el("td", { class: "mono", text: e.seq }), el("td", { class: "mono", text: e.timestamp }),
          el("td", { text: e.payload.records }), el("td", { text: e.payload.alerts }),
          el("td", { text: pct(t.recall) }), el("td", { text: pct(t.fpr) }),
          el("td", { class: "mono", text: short(e.id) })));
      }
      if (!table.tBodies[0].rows.length) v.append(el("p", { text: "No detector run is recorded (witness detect --ledger DIR records one)." }));
      more.hidden = !page.next_cursor;
      more.onclick = () => load(page.next_cursor);
    } catch (e) {
      showError(v, e);
    }
  };
  await load(null);
}

// The time (s from the run's first record) at record `index`: its bucket's start.
const timeAt = (series, index) => series.t[Math.min(series.t.length - 1, Math.floor(index / series.width))];

// Rate over time (log scale), the baseline rate, phases as bands, alerts as spans; under it,
// each bucket's share of anomalous records against (labelled runs) its share of attack records.
function rateChart(run, alerts) {
  const s = run.series;
  const W = 860, H = 240, L = 64, R = 12, T = 22, B = 28, SH = 60;
  const tEnd = s.t.length ? s.t[s.t.length - 1] : 0;
  const span = tEnd > 0 ? tEnd : 1;
  const x = (t) => L + ((W - L - R) * t) / span;
  const rates = s.rate.filter((r) => r !== null && r > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...rates, run.baseline_rate || Infinity, 1e9))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...rates, run.baseline_rate || 0, lo * 10))));
  const y = (r) => T + (H - T - B) * (1 - (Math.log10(r) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)));
  const svg = svgEl("svg", { class: "chart", id: "rate-chart", width: W, height: H + SH + 30, viewBox: `0 0 ${W} ${H + SH + 30}` });
  (run.phases || []).forEach((p, i) => {
    const x0 = x(timeAt(s, p.first)), x1 = p.last + 1 < run.records ? x(timeAt(s, p.last + 1)) : x(tEnd);
    svg.append(svgEl("rect", { class: "phase" + (i % 2 ? " odd" : ""), x: x0, y: T, width: Math.max(0, x1 - x0), height: H - T - B }));
    const label = svgEl("text", { class: "phase-name", x: x0 + 3, y: T - 6 });
    label.textContent = p.phase;
    svg.append(label);
  });
  for (const { payload: { alert: a } } of alerts) {
    const x0 = x(timeAt(s, a.onset)), x1 = x(timeAt(s, a.offset));
    svg.append(svgEl("rect", { class: "alert-span", "data-onset": a.onset, "data-offset": a.offset,
      x: x0, y: T, width: Math.max(2, x1 - x0), height: H - T - B }));
  }
  for (let e = Math.log10(lo); e <= Math.log10(hi); e++) {
    svg.append(svgEl("line", { class: "grid", x1: L, x2: W - R, y1: y(10 ** e), y2: y(10 ** e) }));
    const tick = svgEl("text", { class: "tick", x: L - 6, y: y(10 ** e) + 4, "text-anchor": "end" });
    tick.textContent = (10 ** e).toLocaleString("en");
    svg.append(tick);
  }
  const points = [];
  s.rate.forEach((r, i) => { if (r !== null && r > 0) points.push(`${x(s.t[i]).toFixed(1)},${y(r).toFixed(1)}`); });
  svg.append(svgEl("polyline", { class: "rate", points: points.join(" "), "data-points": points.length }));
  if (run.baseline_rate > 0) {
    svg.append(svgEl("line", { class: "baseline", x1: L, x2: W - R, y1: y(run.baseline_rate), y2: y(run.baseline_rate) }));
  }
  const axis = svgEl("text", { class: "tick", x: L, y: H - 8 });
  axis.textContent = `records/s (log) over ${span.toFixed(1)} s; dashed: the warm-up's rate ${run.baseline_rate}/s; red: alerts`;
  svg.append(axis);
  // The share strip: anomalous records per bucket (bars) and labelled attack share (line).
  const y2 = (f) => H + 10 + SH * (1 - f);
  svg.append(svgEl("rect", { class: "strip", x: L, y: H + 10, width: W - L - R, height: SH }));
  s.anomalous.forEach((n, i) => {
    const f = s.records[i] ? n / s.records[i] : 0;
    const width = Math.max(1, (i + 1 < s.t.length ? x(s.t[i + 1]) : W - R) - x(s.t[i]));
    if (f > 0) svg.append(svgEl("rect", { class: "anomalous", x: x(s.t[i]), y: y2(f), width, height: SH * f }));
  });
  if (s.attack) {
    const pts = s.attack.map((n, i) => `${x(s.t[i]).toFixed(1)},${y2(s.records[i] ? n / s.records[i] : 0).toFixed(1)}`);
    svg.append(svgEl("polyline", { class: "attack", points: pts.join(" ") }));
  }
  const cap = svgEl("text", { class: "tick", x: L, y: H + SH + 26 });
  cap.textContent = "share of records anomalous (bars)" + (s.attack ? " and labelled attack (line)" : "") + ` per bucket of ${s.width}`;
  svg.append(cap);
  return svg;
}

// Recall and false-positive rate per labelled phase, as bars.
function phaseTable(phases) {
  const table = el("table", { class: "phases", id: "phases" },
    el("thead", {}, el("tr", {}, ...["phase", "scored", "attack", "normal", "recall", "", "FPR", ""].map((h) => el("th", { text: h })))),
    el("tbody"));
  const bar = (f, cls) => {
    const W = 140;
    const svg = svgEl("svg", { class: "bar", width: W, height: 10 });
    svg.append(svgEl("rect", { class: "track", width: W, height: 10, rx: 3 }));
    if (f !== null && f > 0) svg.append(svgEl("rect", { class: cls, width: Math.max(2, Math.round(f * W)), height: 10, rx: 3 }));
    const td = el("td");
    td.append(svg);
    return td;
  };
  for (const p of phases) {
    table.tBodies[0].append(el("tr", { "data-phase": p.phase, "data-recall": p.recall === null ? "" : p.recall,
      "data-fpr": p.false_positive_rate === null ? "" : p.false_positive_rate },
      el("td", { text: p.phase }), el("td", { text: p.scored }), el("td", { text: p.attack }), el("td", { text: p.normal }),
      el("td", { class: "mono", text: pct(p.recall) }), bar(p.recall, "recall"),
      el("td", { class: "mono", text: pct(p.false_positive_rate) }), bar(p.false_positive_rate, "fpr")));
  }
  return table;
}

async function runPage(id) {
  const v = view();
  v.replaceChildren(el("h2", { text: "Detector run " + short(id) }));
  let data;
  const alerts = [];
  try {
    let cursor = null;
    do {  // every alert (a page at a time)
      data = await api(`/v1/detector/runs/${id}?limit=1000` + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
      alerts.push(...data.alerts);
      cursor = data.next_cursor;
    } while (cursor);
  } catch (e) {
    showError(v, e);
    return;
  }
  const run = data.run.payload;
  const t = totals(run.phases);
  v.append(el("dl", {},
    el("dt", { text: "entry" }), el("dd", {}, el("a", { href: `#/entry/${data.run.seq}`, text: `#${data.run.seq}` }), ` ${data.run.timestamp}`),
    el("dt", { text: "records" }), el("dd", { text: `${run.records} (warm-up ${run.config.warmup}, alpha ${run.config.alpha})` }),
    el("dt", { text: "inputs" }), el("dd", {}, run.inputs_recorded
      ? el("a", { href: `#/?walk=${encodeURIComponent(data.run.walk)}&kind=detector.input&order=oldest`, text: "recorded (re-executable)" })
      : "not recorded", ` · sha256 ${short(run.input_sha256)}`),
    el("dt", { text: "alerts" }), el("dd", { id: "alert-count", text: String(alerts.length) }),
    el("dt", { text: "recall / FPR" }), el("dd", { text: run.phases ? `${pct(t.recall)} / ${pct(t.fpr)} (from the labels, which the detector never reads)` : "no labels" })));
  const chart = el("section", {}, el("h3", { text: "Rate over time" }));
  if (run.series) chart.append(rateChart(run, alerts));
  else chart.append(el("p", { text: "This run was recorded before runs carried their series." }));
  v.append(chart);
  if (run.phases) v.append(el("section", {}, el("h3", { text: "Recall and false-positive rate per phase" }), phaseTable(run.phases)));
  const list = el("section", { id: "alerts" }, el("h3", { text: "Alerts" }));
  alerts.forEach((e, i) => {
    const a = e.payload.alert;
    const card = el("div", { class: "alert", "data-seq": e.seq });
    card.append(el("h4", {}, el("a", { href: `#/entry/${e.seq}`, text: `#${e.seq}` }),
      ` alert ${i + 1}: records ${a.onset}..${a.offset} (${a.records}, ${a.flagged ?? a.anomalous} flagged, ${a.anomalous} anomalous), opened by ${a.trigger}, peak rate ×${a.peak_rate_ratio}`));
    if (a.keys && a.keys.length) {
      card.append(el("p", { class: "keys mono", text: "keys: " + a.keys.map((k) => `${k.key} (${k.kind} ${k.peak} vs ${k.expected})`).join(", ") }));
    }
    // Explanations by contrast: the alert's share of a value against the baseline's.
    const pct = (x) => (x === undefined ? "–" : `${(100 * x).toPrecision(3)}%`);
    const ex = el("table", { class: "explanation" },
      el("thead", {}, el("tr", {}, ...["field", "value", "in the alert", "in the baseline", "most common there"].map((h) => el("th", { text: h })))),
      el("tbody"));
    for (const f of a.explanation) {
      ex.tBodies[0].append(el("tr", { "data-field": f.field }, el("td", { class: "mono", text: f.field }),
        el("td", { class: "mono", text: f.value }), el("td", { text: pct(f.share) }),
        el("td", { text: pct(f.baseline_share) }), el("td", { class: "mono", text: f.baseline || "–" })));
    }
    if (!a.explanation.length) ex.tBodies[0].append(el("tr", {}, el("td", { text: "no field stands out (a rate alert)" })));
    card.append(ex);
    list.append(card);
  });
  if (!alerts.length) list.append(el("p", { text: "No alert." }));
  v.append(list);
}

// ---- the proof check, from the specs ----
const enc = new TextEncoder();
const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const hex = (s) => Uint8Array.from(s.match(/../g), (h) => parseInt(h, 16));
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};
const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const leafHash = (entry) => sha256(concat(Uint8Array.of(0), entry));
const nodeHash = (l, r) => sha256(concat(Uint8Array.of(1), l, r));

// C2SP signed note: the verifier key "name+id+base64(0x01 || key)", signature lines
// "— name base64(id || signature)" over the text before the blank line.
async function verifyNote(note, verifierKey) {
  // The name holds no "+"; the base64 may.
  const p1 = verifierKey.indexOf("+"), p2 = verifierKey.indexOf("+", p1 + 1);
  if (p1 < 0 || p2 < 0) throw new Error("the verifier key is not name+id+key");
  const name = verifierKey.slice(0, p1), idHex = verifierKey.slice(p1 + 1, p2);
  const keyB64 = verifierKey.slice(p2 + 1);
  const raw = b64(keyB64);
  if (raw[0] !== 1) throw new Error("the verifier key is not Ed25519");
  const id = (await sha256(concat(enc.encode(name + "\n"), raw))).slice(0, 4);
  if (!equal(id, hex(idHex))) throw new Error("the verifier key's id does not match its key");
  const split = note.indexOf("\n\n");
  if (split < 0) throw new Error("the checkpoint has no signature");
  const body = note.slice(0, split + 1);
  const key = await crypto.subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false, ["verify"]);
  let verified = false;
  for (const line of note.slice(split + 2).split("\n")) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const blob = b64(m[2]);
    if (!equal(blob.slice(0, 4), id)) continue;
    verified = await crypto.subtle.verify({ name: "Ed25519" }, key, blob.slice(4), enc.encode(body));
    if (verified) break;
  }
  if (!verified) throw new Error("no valid signature by the ledger's key");
  const [origin, size, root] = body.split("\n");
  return { origin, size: Number(size), root: b64(root) };
}

// RFC 9162 2.1.3.2: the root an inclusion proof leads to.
async function rootFromInclusion(index, size, leaf, proof) {
  if (index >= size) throw new Error("the leaf index is not below the tree size");
  let fn = index, sn = size - 1, r = leaf;
  for (const p of proof) {
    if (sn === 0) throw new Error("the proof is longer than the tree is deep");
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error("the proof is shorter than the tree is deep");
  return r;
}

function tilePath(n, width) {
  const groups = [];
  do { groups.unshift(n % 1000); n = Math.floor(n / 1000); } while (n > 0);
  const p = groups.map((g, i) => (i < groups.length - 1 ? "x" : "") + String(g).padStart(3, "0")).join("/");
  return "/tile/entries/" + p + (width < 256 ? ".p/" + width : "");
}

async function verifyEntry(seq, tamper, out) {
  out.replaceChildren();
  out.removeAttribute("data-verdict");
  const steps = el("ol", { class: "steps" });
  out.append(steps);
  const step = (text, ok) => steps.append(el("li", { class: ok ? "ok" : "bad", text: (ok ? "✓ " : "✗ ") + text }));
  try {
    const stats = await api("/v1/stats");
    if (!stats.verifier_key) throw new Error("this ledger has no signing key: no checkpoint to check");
    const cp = await verifyNote(await api("/checkpoint"), stats.verifier_key);
    step(`checkpoint signed by ${cp.origin}: ${cp.size} entries`, true);
    if (seq >= cp.size) throw new Error("the entry is newer than the checkpoint");
    const bundleIndex = Math.floor(seq / 256);
    const width = (bundleIndex + 1) * 256 <= cp.size ? 256 : cp.size % 256;
    const bundle = await api(tilePath(bundleIndex, width));
    let at = 0, entry = null;
    for (let i = 0; at < bundle.length; i++) {
      const n = (bundle[at] << 8) | bundle[at + 1];
      if (i === seq % 256) entry = bundle.slice(at + 2, at + 2 + n);
      at += 2 + n;
    }
    if (!entry) throw new Error("the entry bundle does not hold the entry");
    const leaf = await leafHash(entry);
    const claim = await api(`/v1/proofs/inclusion?seq=${seq}&size=${cp.size}`);
    const served = b64(claim.leafHash);
    if (!equal(leaf, served)) throw new Error("the entry's bytes do not hash to the proof's leaf");
    step(`entry bytes from the tiled log hash to the leaf ${short([...leaf].map((b) => b.toString(16).padStart(2, "0")).join(""))}`, true);
    const proof = claim.proof.map(b64);
    if (tamper) {
      if (proof.length) proof[0][0] ^= 1; else leaf[0] ^= 1;
      step("tampered: one bit of the proof flipped", true);
    }
    const root = await rootFromInclusion(seq, cp.size, leaf, proof);
    if (!equal(root, cp.root)) throw new Error("the proof does not lead to the checkpoint's root");
    step(`${proof.length} hashes lead to the signed root`, true);
    out.dataset.verdict = "ok";
    out.append(el("p", { class: "ok", id: "verdict", text: `Verified: entry ${seq} is in the log of ${cp.size} entries the ledger signed.` }));
  } catch (e) {
    step(e.message, false);
    out.dataset.verdict = "fail";
    out.append(el("p", { class: "bad", id: "verdict", text: "NOT verified: " + e.message }));
  }
}

// ---- routing ----
async function route() {
  const hash = location.hash || "#/";
  const [path, query] = hash.slice(1).split("?");
  document.body.dataset.ready = "no";
  const m = /^\/entry\/([0-9]+|[0-9a-f]{64})$/.exec(path);
  if (m) await entryPage(m[1]);
  else if (path === "/agents") await agentsPage();
  else if (path === "/detector") await detectorPage();
  else if (/^\/detector\/[0-9a-f]{64}$/.test(path)) await runPage(path.slice(10));
  else await timeline(new URLSearchParams(query || ""));
  document.body.dataset.ready = "yes";
}
window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => {
  document.getElementById("fresh").addEventListener("click", (ev) => {
    shownSize = Number(ev.target.dataset.size);
    ev.target.hidden = true;
    route();
  });
  refreshHead();
  // Live: the server pushes each appended entry (Server-Sent Events, /v1/events); the header
  // is refreshed once a burst of them has arrived. EventSource reconnects by itself, resuming
  // after the last event id it saw.
  let pending = null;
  const events = new EventSource("/v1/events");
  events.addEventListener("entry", () => {
    if (pending === null) pending = setTimeout(() => { pending = null; refreshHead(); }, 300);
  });
  route();
});
