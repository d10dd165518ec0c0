// A small code editor: a textarea over a highlighted copy of its text, with line numbers and
// diagnostics drawn at their line and column (a squiggle, the line tinted, the message at the line's end).
"use strict";

const MTUS_KEYWORDS = new Set(("guideline source section page pages version in force from until services cpt class " +
  "ingredient form states facts criteria example given expect because when exclude says shows finding count number " +
  "percent quantity duration date text history set of one none presumed absent present when silent request detail " +
  "checked stated required default and or not any all first last sum where within at least time to contains between " +
  "documented met applies apply does applicable certified modified on denial allows fewer tables rank formulary " +
  "product products ingredients cite mtus only as").split(" "));

function escapeHtml(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// Token classes per character of one line; `state.triple` carries a """text block""" across lines.
function classify(line, lang, state) {
  const cls = new Array(line.length).fill("");
  let i = 0;
  if (lang === "yaml") {
    const key = /^(\s*-?\s*)([A-Za-z_][\w.]*)(\s*:)/.exec(line);
    if (key) for (let k = key[1].length; k < key[1].length + key[2].length; k++) cls[k] = "tok-key";
  }
  while (i < line.length) {
    if (state.triple) {
      const end = line.indexOf('"""', i);
      const stop = end < 0 ? line.length : end + 3;
      for (; i < stop; i++) cls[i] = "tok-string";
      if (end >= 0) state.triple = false;
      continue;
    }
    const c = line[i];
    if (c === "#" && (lang === "mtus" || i === 0 || /\s/.test(line[i - 1]))) {
      for (; i < line.length; i++) cls[i] = "tok-comment";
      break;
    }
    if (c === '"' && lang === "mtus" && line.startsWith('"""', i)) {
      state.triple = true;
      for (let k = 0; k < 3; k++) cls[i++] = "tok-string";
      continue;
    }
    if (c === '"' || (c === "'" && lang === "yaml")) {
      let j = i + 1;
      while (j < line.length && line[j] !== c) j += line[j] === "\\" ? 2 : 1;
      for (; i <= Math.min(j, line.length - 1); i++) cls[i] = "tok-string";
      continue;
    }
    if (/[A-Za-z_]/.test(c) && (i === 0 || !/[\w.]/.test(line[i - 1]))) {
      let j = i;
      while (j < line.length && /\w/.test(line[j])) j++;
      if (lang === "mtus" && MTUS_KEYWORDS.has(line.slice(i, j))) for (let k = i; k < j; k++) cls[k] = "tok-keyword";
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) && (i === 0 || !/[\w-]/.test(line[i - 1]))) {
      let j = i;
      while (j < line.length && /[0-9.%-]/.test(line[j])) j++;
      if (!cls[i]) for (let k = i; k < j; k++) cls[k] = cls[k] || "tok-number";
      i = j;
      continue;
    }
    i++;
  }
  return cls;
}

class CodeEditor {
  constructor(host, { lang, onInput, label }) {
    this.lang = lang;
    this.marks = [];
    host.innerHTML = "";
    this.gutter = document.createElement("div");
    this.gutter.className = "gutter";
    this.gutter.setAttribute("aria-hidden", "true");
    const code = document.createElement("div");
    code.className = "code";
    this.backdrop = document.createElement("pre");
    this.backdrop.setAttribute("aria-hidden", "true");
    this.textarea = document.createElement("textarea");
    this.textarea.spellcheck = false;
    this.textarea.wrap = "off";
    this.textarea.setAttribute("autocapitalize", "off");
    this.textarea.setAttribute("autocomplete", "off");
    this.textarea.setAttribute("aria-label", label);
    code.append(this.backdrop, this.textarea);
    host.append(this.gutter, code);
    this.textarea.addEventListener("input", () => { this.render(); onInput && onInput(); });
    this.textarea.addEventListener("scroll", () => this.sync());
    this.textarea.addEventListener("keydown", (e) => {
      if (e.key === "Tab" && !e.shiftKey && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        document.execCommand("insertText", false, "  ");  // keeps the browser's undo history
      }
    });
  }

  get value() { return this.textarea.value; }
  set value(text) { this.textarea.value = text; this.render(); }

  // marks: [{line, column, end_line, end_column, severity, message}], 1-based; column null marks the whole line
  setMarks(marks) { this.marks = marks || []; this.render(); }

  sync() {
    this.backdrop.scrollTop = this.textarea.scrollTop;
    this.backdrop.scrollLeft = this.textarea.scrollLeft;
    this.gutter.scrollTop = this.textarea.scrollTop;
  }

  render() {
    const lines = this.textarea.value.split("\n");
    const byLine = new Map();
    for (const m of this.marks) {
      if (!m.line || m.line > lines.length) continue;
      const last = Math.min(m.end_line || m.line, lines.length);
      for (let n = m.line; n <= last; n++) {
        if (!byLine.has(n)) byLine.set(n, []);
        byLine.get(n).push(m);
      }
    }
    const state = { triple: false };
    const gutter = [];
    const out = [];
    lines.forEach((line, idx) => {
      const n = idx + 1;
      const here = byLine.get(n) || [];
      const sev = here.some((m) => m.severity === "error") ? "error" : here.length ? "warning" : "";
      const cls = classify(line, this.lang, state);
      const squiggle = new Array(line.length).fill("");
      for (const m of here) {
        const from = m.line === n && m.column ? m.column - 1 : 0;
        const to = (m.end_line || m.line) === n && m.end_column ? Math.max(m.end_column - 1, from + 1) : line.length;
        for (let k = from; k < Math.min(to, line.length); k++) {
          if (squiggle[k] !== "sq-error") squiggle[k] = "sq-" + m.severity;
        }
      }
      let html = "";
      let k = 0;
      while (k < line.length) {
        let j = k + 1;
        while (j < line.length && cls[j] === cls[k] && squiggle[j] === squiggle[k]) j++;
        const c = [cls[k], squiggle[k]].filter(Boolean).join(" ");
        const text = escapeHtml(line.slice(k, j));
        html += c ? `<span class="${c}">${text}</span>` : text;
        k = j;
      }
      const first = here.find((m) => m.line === n) || here[0];
      if (first && (first.line === n)) {
        html += `<span class="lens ${first.severity}">${escapeHtml(first.code ? first.code + ": " : "")}` +
          `${escapeHtml(first.message)}</span>`;
      }
      out.push(`<div class="ln${sev ? " " + sev : ""}" data-line="${n}">${html || " "}</div>`);
      gutter.push(`<div class="${sev}" data-line="${n}"${first ? ` title="${escapeHtml(first.message)}"` : ""}>${n}</div>`);
    });
    this.backdrop.innerHTML = out.join("");
    this.gutter.innerHTML = gutter.join("");
    this.sync();
  }

  // Put the caret at a 1-based line and column and scroll it into view.
  reveal(line, column) {
    const lines = this.textarea.value.split("\n");
    let pos = 0;
    for (let i = 0; i < Math.min(line - 1, lines.length); i++) pos += lines[i].length + 1;
    pos += Math.max(0, (column || 1) - 1);
    this.textarea.focus();
    this.textarea.setSelectionRange(pos, pos);
    const lineHeight = parseFloat(getComputedStyle(this.textarea).lineHeight) || 18;
    const top = (line - 1) * lineHeight;
    if (top < this.textarea.scrollTop || top > this.textarea.scrollTop + this.textarea.clientHeight - 2 * lineHeight) {
      this.textarea.scrollTop = Math.max(0, top - this.textarea.clientHeight / 3);
    }
    this.sync();
  }
}

window.CodeEditor = CodeEditor;
window.escapeHtml = escapeHtml;
