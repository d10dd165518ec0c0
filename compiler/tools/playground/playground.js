// The playground: a guideline and a case side by side, the letter beside them, all state in the URL.
"use strict";

const SEED_CASE = `# The seed decision: a real, public IMR decision (the denial was upheld).
case: seed-2014-12-18
date: 2014-12-18
patient:
  age: 58
  sex: male
  injury_date: 2006-07-17
requests:
  - item: Trigger Point Injections Bilateral Paraspinous Thoracic
facts:
  symptom_onset: 2006-07-17
  radiculopathy:
    value: present
    source: "diagnosis: failed back surgery syndrome with radiculopathy"
  diagnoses:
    - lumbago
    - failed back surgery syndrome with radiculopathy
    - chronic pain syndrome
`;

const $ = (sel) => document.querySelector(sel);

// ------------------------------------------------------------------ shared helpers (the form uses them too)
const App = {
  state: { v: 1, view: "playground", source: "", case: SEED_CASE, format: "text", wording: "imr", trace: false,
           form: null },

  async request(method, path, body, type) {
    const init = { method, headers: {} };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      init.headers["content-type"] = type || "application/json";
    }
    const r = await fetch(path, init);
    const text = await r.text();
    const json = (r.headers.get("content-type") || "").startsWith("application/json") ? JSON.parse(text) : null;
    return { ok: r.ok, status: r.status, json, text };
  },

  debounce(fn, ms) {
    let t = null;
    return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
  },

  toast(message) {
    const el = $("#toast");
    el.textContent = message;
    el.hidden = false;
    clearTimeout(App._toast);
    App._toast = setTimeout(() => { el.hidden = true; }, 2200);
  },

  // One card per requested item: the determination, the guideline and page, the reasons.
  renderVerdicts(host, letter) {
    host.innerHTML = "";
    if (!letter) return;
    for (const r of letter.requests) {
      const card = document.createElement("div");
      const na = r.not_addressed || r.outcome === "not addressed";
      const kind = na ? "none" : r.outcome === "certified" ? "allow" : r.outcome === "modified" ? "partial" : "deny";
      card.className = "verdict " + kind;
      card.dataset.outcome = r.outcome;
      const word = na ? "Not addressed" : r.determination;
      let basis = "";
      if (r.citation) {
        const c = r.citation;
        basis = `${c.source}${c.section ? ", section " + c.section : ""}${App.pages(c.pages)} (${r.title})`;
      }
      const reasons = (r.reasons || []).map((x) => x.sentence);
      if (na && r.not_addressed) reasons.push(r.not_addressed.reason || "");
      card.innerHTML = `<div class="top"><span class="word">${escapeHtml(word)}</span>` +
        `<span class="item">${escapeHtml(r.item)}</span></div>` +
        (basis ? `<div class="basis">${escapeHtml(basis)}</div>` : "") +
        (reasons.length ? `<ul>${reasons.filter(Boolean).map((s) => `<li>${escapeHtml(s)}</li>`).join("")}</ul>` : "");
      host.append(card);
    }
  },

  traceTable(letter) {
    const rows = [];
    for (const r of letter.requests) {
      for (const c of r.criteria || []) {
        const read = c.read.map((f) => `${f.name} = ${f.documented ? App.show(f.value) : "not documented"}`);
        for (const x of c.computed || []) read.push(`computed ${x.expr} = ${x.value === null ? "not documented" : App.show(x.value)}`);
        if (c.presumed && c.presumed.length) read.push("presumed: " + c.presumed.join(", "));
        rows.push(`<tr><td class="id">${escapeHtml((letter.requests.length > 1 ? r.guideline + "." : "") + c.id)}</td>` +
          `<td class="${c.outcome.replace(/ /g, "-")}">${escapeHtml(c.outcome)}${c.presumed && c.presumed.length ? " (presumed)" : ""}</td>` +
          `<td>${escapeHtml(read.join("; ") || "-")}</td></tr>`);
      }
    }
    return `<table><thead><tr><th>Criterion</th><th>Outcome</th><th>Facts read</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
  },

  // ", page 122" or ", pages 74-96" (nothing when the citation has no page)
  pages(p) {
    return p ? (/[-–,]/.test(p) ? ", pages " : ", page ") + p : "";
  },

  show(v) {
    if (v === true) return "present";
    if (v === false) return "absent";
    if (Array.isArray(v)) return "[" + v.map(App.show).join(", ") + "]";
    if (v && typeof v === "object") return JSON.stringify(v);
    return String(v);
  },

  // Problems of a case (as `mtus check` lists them) as list items; `onPick` gets the line.
  renderProblems(host, problems, onPick) {
    host.innerHTML = "";
    for (const p of problems) {
      const li = document.createElement("li");
      li.className = p.severity === "warning" ? "warning" : "error";
      li.innerHTML = `<span class="where">${p.line ? "line " + p.line : "case"}</span>` +
        (p.key ? `<span class="code">${escapeHtml(p.key)}</span>` : "") + escapeHtml(p.message) +
        (p.hint ? `<span class="hint">hint: ${escapeHtml(p.hint)}</span>` : "");
      if (onPick && p.line) li.addEventListener("click", () => onPick(p.line));
      host.append(li);
    }
  },

  // ---------------------------------------------------------------- state in the URL (no server storage)
  async encode(obj) {
    const bytes = new TextEncoder().encode(JSON.stringify(obj));
    let data = bytes, tag = "j";
    if (window.CompressionStream) {
      const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate-raw"));
      data = new Uint8Array(await new Response(stream).arrayBuffer());
      tag = "z";
    }
    let bin = "";
    for (let i = 0; i < data.length; i++) bin += String.fromCharCode(data[i]);
    return tag + btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },

  async decode(text) {
    const tag = text[0];
    const bin = atob(text.slice(1).replace(/-/g, "+").replace(/_/g, "/"));
    let bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    if (tag === "z") {
      const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
      bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    } else if (tag !== "j") {
      throw new Error("not a page state");
    }
    return JSON.parse(new TextDecoder().decode(bytes));
  },

  saveSoon: null,
  async save() {
    const hash = "#s=" + (await App.encode(App.state));
    history.replaceState(null, "", hash);
  },

  async restore() {
    const m = /^#s=(.+)$/.exec(location.hash);
    if (!m) return false;
    try {
      Object.assign(App.state, await App.decode(m[1]));
      return true;
    } catch (e) {
      App.toast("The link's page state could not be read; starting fresh.");
      return false;
    }
  },

  showView(view) {
    App.state.view = view;
    for (const b of document.querySelectorAll(".tabs button")) b.setAttribute("aria-selected", String(b.dataset.view === view));
    $("#view-playground").hidden = view !== "playground";
    $("#view-form").hidden = view !== "form";
    App.saveSoon();
  },
};
App.saveSoon = App.debounce(() => App.save(), 250);
window.App = App;

// ------------------------------------------------------------------ the playground
const Playground = {
  seq: 0,
  last: null,

  init() {
    this.guideline = new CodeEditor($("#guideline-editor"), { lang: "mtus", label: "Guideline source",
                                                              onInput: () => this.changed() });
    this.caseEditor = new CodeEditor($("#case-editor"), { lang: "yaml", label: "Case", onInput: () => this.changed() });
    this.evaluateSoon = App.debounce(() => this.evaluate(), 300);
    $("#wording").addEventListener("change", (e) => {
      App.state.wording = e.target.value;
      $("#form-wording").value = e.target.value;  // one wording for both tools
      this.changed();
    });
    $("#show-trace").addEventListener("change", (e) => { App.state.trace = e.target.checked; this.showLetter(); App.saveSoon(); });
    for (const b of document.querySelectorAll("#letter-format button")) {
      b.addEventListener("click", () => { App.state.format = b.dataset.format; this.showLetter(); App.saveSoon(); });
    }
    // Start from a bundled guideline: its source, and its fill-in case file (`mtus template`) as the case
    $("#start-from").addEventListener("change", async (e) => {
      const id = e.target.value;
      if (!id) return;
      e.target.value = "";
      const [src, tpl] = await Promise.all([
        App.request("GET", `/v1/guidelines/${encodeURIComponent(id)}/source`),
        App.request("GET", `/v1/template/${encodeURIComponent(id)}`)]);
      if (!src.ok) { App.toast(src.json ? src.json.error.message : "not found"); return; }
      this.guideline.value = src.text;
      if (tpl.ok) this.caseEditor.value = tpl.text;
      this.changed();
      App.toast(`Loaded ${id} and a fill-in case for it: uncomment what the record documents.`);
    });
  },

  load() {
    this.guideline.value = App.state.source;
    this.caseEditor.value = App.state.case;
    $("#wording").value = App.state.wording;
    $("#show-trace").checked = !!App.state.trace;
    this.evaluate();
  },

  changed() {
    App.state.source = this.guideline.value;
    App.state.case = this.caseEditor.value;
    $("#letter").classList.add("stale");
    this.evaluateSoon();
    App.saveSoon();
  },

  async evaluate() {
    const seq = ++this.seq;
    let r;
    try {
      r = await App.request("POST", "/v1/playground", { source: this.guideline.value, case: this.caseEditor.value,
                                                        wording: App.state.wording });
    } catch (e) {
      if (seq === this.seq) this.fail("The server could not be reached.");
      return;
    }
    if (seq !== this.seq) return;  // a newer edit is on its way
    if (!r.ok) { this.fail(r.json ? r.json.error.message : `HTTP ${r.status}`); return; }
    this.last = r.json;
    this.showDiagnostics(r.json);
    this.showLetter();
  },

  fail(message) {
    const s = $("#lint-summary");
    s.className = "status-line errors";
    s.textContent = message;
  },

  showDiagnostics(answer) {
    const ds = answer.diagnostics;
    this.guideline.setMarks(ds.map((d) => ({ ...d.span, severity: d.severity, code: d.code, message: d.message })));
    const list = $("#diagnostics");
    list.innerHTML = "";
    for (const d of ds) {
      const li = document.createElement("li");
      li.className = d.severity;
      li.dataset.line = d.span.line;
      li.innerHTML = `<span class="where">${d.span.line}:${d.span.column}</span><span class="code">${d.severity}[${d.code}]</span>` +
        escapeHtml(d.message) + (d.hint ? `<span class="hint">hint: ${escapeHtml(d.hint)}</span>` : "");
      li.addEventListener("click", () => this.guideline.reveal(d.span.line, d.span.column));
      list.append(li);
    }
    const summary = $("#lint-summary");
    const errors = ds.filter((d) => d.severity === "error").length;
    summary.className = "status-line " + (errors ? "errors" : "clean");
    summary.textContent = answer.guideline && !errors
      ? `✓ ${answer.guideline.id}: ${answer.summary} — checked as \`mtus lint\` checks it`
      : `${answer.summary}: the letter waits until the guideline checks`;
    const problems = answer.case_problems || [];
    this.caseEditor.setMarks(problems.filter((p) => p.line && p.path === "case.yaml").map((p) => (
      { line: p.line, severity: p.severity, message: (p.key ? p.key + ": " : "") + p.message })));
    App.renderProblems($("#case-problems"), problems, (line) => this.caseEditor.reveal(line, 1));
  },

  showLetter() {
    for (const b of document.querySelectorAll("#letter-format button")) {
      b.setAttribute("aria-checked", String(b.dataset.format === App.state.format));
    }
    const out = $("#letter");
    out.classList.remove("stale");
    const letter = this.last && this.last.letter;
    App.renderVerdicts($("#verdicts"), letter && letter.json);
    const trace = $("#trace");
    trace.hidden = !(letter && App.state.trace);
    if (letter && App.state.trace) trace.innerHTML = App.traceTable(letter.json);
    if (!letter) { out.textContent = ""; return; }
    out.textContent = App.state.format === "json" ? JSON.stringify(letter.json, null, 2) : letter[App.state.format];
  },
};
window.Playground = Playground;

// ------------------------------------------------------------------ start
document.addEventListener("DOMContentLoaded", async () => {
  Playground.init();
  for (const b of document.querySelectorAll(".tabs button")) b.addEventListener("click", () => App.showView(b.dataset.view));
  $("#share").addEventListener("click", async () => {
    await App.save();
    try { await navigator.clipboard.writeText(location.href); App.toast("Link copied: it holds this page's state."); }
    catch (e) { App.toast("The address bar holds this page's state: copy it from there."); }
  });
  const [health, list] = await Promise.all([App.request("GET", "/health"), App.request("GET", "/v1/guidelines")]);
  if (health.ok) $("#pack-label").textContent = `${health.json.pack.name} ${health.json.pack.version}`;
  App.guidelines = list.ok ? list.json.guidelines : [];
  const select = $("#start-from");
  for (const g of App.guidelines) {
    const o = document.createElement("option");
    o.value = g.id;
    o.textContent = `${g.title} (${g.id})`;
    select.append(o);
  }
  const restored = await App.restore();
  if (!restored || !App.state.source) {
    const tpi = await App.request("GET", "/v1/guidelines/tpi/source");
    if (tpi.ok && !App.state.source) App.state.source = tpi.text;
  }
  Playground.load();
  if (window.ReviewerForm) await ReviewerForm.init(App.guidelines);
  App.showView(App.state.view || "playground");
  document.body.dataset.ready = "true";
});
