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
