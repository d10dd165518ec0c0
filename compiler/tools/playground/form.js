// The reviewer's form: pick the item, fill in what the record documents, read the letter, export the case file.
"use strict";

const KIND_PLACEHOLDER = { percent: "e.g. 60%", duration: "e.g. 6 weeks", number: "e.g. 2.5", text: "", count: "0",
                           code: "a code, e.g. M79.1 or 20552" };

const ReviewerForm = {
  info: null,
  item: "",

  async init(guidelines) {
    const list = document.querySelector("#item-suggestions");
    const seen = new Set();
    for (const g of guidelines) {
      for (const v of [g.title, ...g.services.filter((s) => s.kind !== "class").map((s) => s.kind === "cpt" ? s.value : s.value)]) {
        if (seen.has(v)) continue;
        seen.add(v);
        const o = document.createElement("option");
        o.value = v;
        o.label = g.title;
        list.append(o);
      }
    }
    this.checkSoon = App.debounce(() => this.check(), 250);
    document.querySelector("#item-form").addEventListener("submit", (e) => { e.preventDefault(); this.lookup(); });
    document.querySelector("#export-yaml").addEventListener("click", () => this.download());
    const wording = document.querySelector("#form-wording");
    wording.value = App.state.wording || "imr";
    wording.addEventListener("change", () => {
      App.state.wording = wording.value;
      document.querySelector("#wording").value = wording.value;  // one wording for both tools
      this.changed();
    });
    document.querySelector("#copy-json").addEventListener("click", async () => {
      try { await navigator.clipboard.writeText(JSON.stringify(this.caseData(), null, 2)); App.toast("Case copied as JSON."); }
      catch (e) { App.toast("The browser refused the clipboard."); }
    });
    const saved = App.state.form;
    if (saved && saved.item) {
      document.querySelector("#item").value = saved.item;
      await this.lookup(saved.values || {});
    }
  },

  async lookup(values) {
    const item = document.querySelector("#item").value.trim();
    const route = document.querySelector("#route");
    if (!item) return;
    const t = await App.request("GET", `/v1/template/${encodeURIComponent(item)}?format=json`);
    if (!t.ok) {
      route.className = "route missing";
      route.textContent = t.json ? t.json.error.message : `HTTP ${t.status}`;
      document.querySelector("#case-form").hidden = true;
      return;
    }
    const g = await App.request("GET", `/v1/guidelines/${encodeURIComponent(t.json.guideline)}`);
    this.info = g.json;
    this.item = item;
    const c = this.info.citation;
    route.className = "route found";
    route.innerHTML = `Decided by <strong>${escapeHtml(this.info.title)}</strong> (${escapeHtml(this.info.id)}): ` +
      `${escapeHtml(c.source)}${escapeHtml(App.pages(c.pages))}` +
      (this.info.version ? `, ${escapeHtml(this.info.version)} edition` : "");
    this.build(values || {});
    document.querySelector("#export-yaml").disabled = false;
    document.querySelector("#copy-json").disabled = false;
    this.changed();
  },

  // Facts in the order the criteria first read them (as the guideline page lists them), then the rest.
  order() {
    const seen = new Map();
    for (const c of this.info.criteria) for (const n of [...(c.when_facts || []), ...(c.reads || [])]) if (!seen.has(n)) seen.set(n, seen.size);
    return Object.keys(this.info.facts).sort((a, b) => (seen.has(a) ? seen.get(a) : 1e6) - (seen.has(b) ? seen.get(b) : 1e6) || a.localeCompare(b));
  },

  build(values) {
    const form = document.querySelector("#case-form");
    form.hidden = false;
    form.innerHTML = "";
    const head = document.createElement("div");
    head.innerHTML = `<h3>The request</h3>`;
    form.append(head);
    form.append(this.field({ name: "date", label: "Request date", help: "The date of the request: all time is counted from it.",
                             control: `<input type="date" name="date" required>` }));
    form.append(this.field({ name: "case", label: "Case id", help: "Printed on the letter.",
                             control: `<input name="case" placeholder="e.g. CM14-0001">` }));
    const names = this.order();
    const details = names.filter((n) => this.info.facts[n].detail);
    const record = names.filter((n) => !this.info.facts[n].detail);
    if (details.length) {
      const h = document.createElement("h3");
      h.innerHTML = `The request's details <span class="badge detail">request detail</span>`;
      form.append(h);
      for (const n of details) form.append(this.factField(n));
    }
    const h = document.createElement("h3");
    h.textContent = "What the medical record documents";
    form.append(h);
    for (const n of record) form.append(this.factField(n));
    form.addEventListener("input", () => this.changed());
    form.addEventListener("change", () => this.changed());
    this.fill(values);
  },

  field({ name, label, help, control, wide, badge }) {
    const div = document.createElement("div");
    div.className = "field" + (wide ? " wide" : "");
    div.dataset.fact = name;
    div.innerHTML = `<div><span class="label">${escapeHtml(label)}</span>${badge || ""}</div>` +
      `<div class="control">${control}</div>` + (help ? `<div class="help">${escapeHtml(help)}</div>` : "");
    return div;
  },

  label(text, name) {
    const t = text || name;
    return t.charAt(0).toUpperCase() + t.slice(1);
  },

  control(name, s) {
    const id = `f-${name}`;
    switch (s.kind) {
      case "finding":
        return `<span class="tri" role="radiogroup" aria-label="${escapeHtml(this.label(s.label, name))}">` +
          ["present", "absent", ""].map((v) => `<label class="${v || "unknown"}"><input type="radio" name="${name}" value="${v}"` +
            `${v === "" ? " checked" : ""}>${v ? v.charAt(0).toUpperCase() + v.slice(1) : "Not documented"}</label>`).join("") + `</span>`;
      case "date":
        return `<input type="date" name="${name}" id="${id}">`;
      case "count":
        return `<input type="number" min="0" step="1" name="${name}" id="${id}" placeholder="not documented" style="width:11em">`;
      case "enum":
        return `<select name="${name}" id="${id}"><option value="">Not documented</option>` +
          s.members.map((m) => `<option>${escapeHtml(m)}</option>`).join("") + `</select>`;
      case "set":
        if (s.element && s.element.kind === "enum") {
          return `<span class="set">` + s.element.members.map((m) => `<label><input type="checkbox" name="${name}" value="${escapeHtml(m)}">` +
            `${escapeHtml(m)}</label>`).join("") + `</span>`;
        }
        return `<textarea name="${name}" id="${id}" rows="3" cols="42" placeholder="one per line"></textarea>`;
      case "quantity":
        return `<input name="${name}" id="${id}" placeholder="e.g. 90 ${escapeHtml(s.unit || "")}">`;
      default:
        return `<input name="${name}" id="${id}" placeholder="${KIND_PLACEHOLDER[s.kind] || ""}">`;
    }
  },

  factField(name) {
    const s = this.info.facts[name];
    const help = `If the record is silent: ${s.silence_means}.`;
    if (s.kind === "history") {
      const cols = Object.entries(s.fields || {});
      const control = `<table class="rows" data-history="${name}"><thead><tr>` +
        cols.map(([f, fs]) => `<th>${escapeHtml(this.label(fs.label, f))}</th>`).join("") + `<th></th></tr></thead><tbody></tbody></table>` +
        `<div class="rows-actions"><button type="button" class="linkish" data-add="${name}">+ Add an entry</button>` +
        `<label><input type="checkbox" name="${name}__none"> The record documents none</label></div>`;
      const div = this.field({ name, label: this.label(s.label, name), help, control, wide: true,
                               badge: `<span class="name">${name}</span>` });
      div.querySelector(`[data-add]`).addEventListener("click", () => { this.addRow(name); this.changed(); });
      return div;
    }
    return this.field({ name, label: this.label(s.label, name), help, control: this.control(name, s),
                        wide: s.kind === "set", badge: `<span class="name">${name}</span>` });
  },

  addRow(name, values) {
    const s = this.info.facts[name];
    const tbody = document.querySelector(`table[data-history="${name}"] tbody`);
    const tr = document.createElement("tr");
    const index = tbody.children.length;
    tr.innerHTML = Object.entries(s.fields || {}).map(([f, fs]) => {
      const control = fs.kind === "finding"
        ? `<select name="${name}.${index}.${f}"><option value="">Not documented</option><option>present</option><option>absent</option></select>`
        : this.control(`${name}.${index}.${f}`, fs);
      return `<td>${control}</td>`;
    }).join("") + `<td><button type="button" class="linkish" title="Remove this entry">✕</button></td>`;
    tr.querySelector("td:last-child button").addEventListener("click", () => { tr.remove(); this.changed(); });
    tbody.append(tr);
    if (values) for (const [f, v] of Object.entries(values)) this.setValue(`${name}.${index}.${f}`, v);
  },

  setValue(name, v) {
    const els = document.querySelectorAll(`#case-form [name="${CSS.escape(name)}"]`);
    for (const el of els) {
      if (el.type === "radio") el.checked = el.value === v;
      else if (el.type === "checkbox") el.checked = Array.isArray(v) ? v.includes(el.value) : !!v;
      else if (el.tagName === "TEXTAREA" && Array.isArray(v)) el.value = v.join("\n");
      else el.value = v;
    }
  },

  fill(values) {
    for (const [k, v] of Object.entries(values)) {
      const s = this.info.facts[k];
      if (s && s.kind === "history" && Array.isArray(v)) {
        if (!v.length) this.setValue(`${k}__none`, true);
        v.forEach((row) => this.addRow(k, row));
      } else this.setValue(k, v);
    }
  },

  read(name, s) {
    const form = document.querySelector("#case-form");
    if (s.kind === "finding") {
      const el = form.querySelector(`[name="${CSS.escape(name)}"]:checked`);
      return el && el.value ? el.value : (form.querySelector(`select[name="${CSS.escape(name)}"]`) || {}).value || undefined;
    }
    if (s.kind === "set" && s.element && s.element.kind === "enum") {
      const picked = [...form.querySelectorAll(`[name="${CSS.escape(name)}"]:checked`)].map((e) => e.value);
      return picked.length ? picked : undefined;
    }
    const el = form.querySelector(`[name="${CSS.escape(name)}"]`);
    const raw = el ? el.value.trim() : "";
    if (!raw) return undefined;
    if (s.kind === "set") return raw.split("\n").map((x) => x.trim()).filter(Boolean);
    if (s.kind === "count" && /^\d+$/.test(raw)) return parseInt(raw, 10);
    if (s.kind === "number" && /^-?\d+(\.\d+)?$/.test(raw)) return raw.includes(".") ? raw : parseInt(raw, 10);
    return raw;
  },

  // Every value filled in, by fact name (what the URL keeps).
  values() {
    const out = {};
    const form = document.querySelector("#case-form");
    for (const k of ["date", "case"]) { const v = form.querySelector(`[name="${k}"]`).value.trim(); if (v) out[k] = v; }
    for (const [name, s] of Object.entries(this.info.facts)) {
      if (s.kind === "history") {
        const rows = [...document.querySelectorAll(`table[data-history="${name}"] tbody tr`)].map((tr, i) => {
          const row = {};
          for (const [f, fs] of Object.entries(s.fields || {})) {
            const input = tr.querySelector(`[name$=".${f}"]`);
            const v = this.read(input ? input.name : `${name}.${i}.${f}`, fs.kind === "finding" ? { kind: "finding" } : fs);
            if (v !== undefined) row[f] = v;
          }
          return row;
        });
        if (rows.length) out[name] = rows;
        else if (form.querySelector(`[name="${name}__none"]`).checked) out[name] = [];
        continue;
      }
      const v = this.read(name, s);
      if (v !== undefined) out[name] = v;
    }
    return out;
  },

  caseData() {
    const values = this.values();
    const request = { item: this.item };
    const details = {}, facts = {};
    for (const [k, v] of Object.entries(values)) {
      if (k === "date" || k === "case") continue;
      (this.info.facts[k].detail ? details : facts)[k] = v;
    }
    if (Object.keys(details).length) request.facts = details;
    const data = {};
    if (values.case) data.case = values.case;
    data.date = values.date || "";
    data.requests = [request];
    data.facts = facts;
    return data;
  },

  changed() {
    if (!this.info) return;
    App.state.form = { item: this.item, values: this.values() };
    App.saveSoon();
    const key = JSON.stringify([this.caseData(), App.state.wording]);
    if (key === this.checkedKey) return;  // a change event that changed nothing (a field left as it was)
    this.checkedKey = key;
    document.querySelector("#form-letter").classList.add("stale");
    this.checkSoon();
  },

  async check() {
    const data = this.caseData();
    const seq = (this.seq = (this.seq || 0) + 1);
    const letterEl = document.querySelector("#form-letter");
    if (!data.date) {
      App.renderVerdicts(document.querySelector("#form-verdicts"), null);
      App.renderProblems(document.querySelector("#form-problems"), [{ key: "date", message: "give the date of the request: all time is counted from it" }]);
      letterEl.textContent = "";
      letterEl.classList.remove("stale");
      return;
    }
    const wording = App.state.wording || "imr";
    const [json, text] = await Promise.all([
      App.request("POST", `/v1/check?wording=${wording}`, data),
      App.request("POST", `/v1/check?format=text&wording=${wording}`, data),
    ]);
    if (seq !== this.seq) return;
    letterEl.classList.remove("stale");
    if (!json.ok) {
      const err = json.json ? json.json.error : { message: `HTTP ${json.status}`, problems: [] };
      App.renderVerdicts(document.querySelector("#form-verdicts"), err.letter || null);
      App.renderProblems(document.querySelector("#form-problems"), err.problems.length ? err.problems : [{ message: err.message }]);
      letterEl.textContent = "";
      return;
    }
    App.renderVerdicts(document.querySelector("#form-verdicts"), json.json);
    App.renderProblems(document.querySelector("#form-problems"), json.json.warnings || []);
    letterEl.textContent = text.text;
  },

  // The case file as YAML: keys plain, every text a JSON string (which YAML reads the same way).
  yaml() {
    const q = (v) => typeof v === "number" ? String(v) : JSON.stringify(String(v));
    const lines = [`# Case file written by the mtus reviewer's form; check it with: mtus check THIS_FILE`];
    const data = this.caseData();
    const emit = (key, v, indent) => {
      const pad = " ".repeat(indent);
      if (Array.isArray(v)) {
        if (!v.length) { lines.push(`${pad}${key}: []`); return; }
        lines.push(`${pad}${key}:`);
        for (const x of v) {
          if (x && typeof x === "object") {
            const entries = Object.entries(x);
            if (!entries.length) { lines.push(`${pad}  - {}`); continue; }
            entries.forEach(([k2, v2], i) => {
              const prefix = i === 0 ? `${pad}  - ` : `${pad}    `;
              if (v2 && typeof v2 === "object") { lines.push(`${prefix}${k2}:`); Object.entries(v2).forEach(([k3, v3]) => emit(k3, v3, indent + 6)); }
              else lines.push(`${prefix}${k2}: ${q(v2)}`);
            });
          } else lines.push(`${pad}  - ${q(x)}`);
        }
      } else if (v && typeof v === "object") {
        lines.push(`${pad}${key}:${Object.keys(v).length ? "" : " {}"}`);
        for (const [k2, v2] of Object.entries(v)) emit(k2, v2, indent + 2);
      } else lines.push(`${pad}${key}: ${q(v)}`);
    };
    for (const [k, v] of Object.entries(data)) emit(k, v, 0);
    return lines.join("\n") + "\n";
  },

  download() {
    const blob = new Blob([this.yaml()], { type: "application/yaml" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = (this.caseData().case || "case").replace(/[^\w.-]+/g, "-") + ".yaml";
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  },
};
window.ReviewerForm = ReviewerForm;
