// The report page: metrics, curves, a filtered and paged gallery, episodes. Data: window.REPORT_DATA
// (data.js, written by `gui-agent-rl report`). Model output is shown with textContent, never as HTML.
"use strict";

(function () {
  const D = window.REPORT_DATA;
  const $ = (id) => document.getElementById(id);
  const RATES = ["type_accuracy", "step_success", "grounding_accuracy", "format_rate"];
  const TASK_RATES = ["episode_success", "goal_progress"];
  const SIDES = D.sides;
  const TWO = SIDES.length > 1;
  const REC = D.records;
  const state = { page: 0, list: [] };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k === "cls") node.className = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }
  // Rounded half to even, as Python's format() (and so `eval`'s table) rounds: 65.625 -> "65.62".
  const formats = {};
  const fixed = (x, d) => {
    formats[d] = formats[d] || new Intl.NumberFormat("en-US", { minimumFractionDigits: d, maximumFractionDigits: d,
      roundingMode: "halfEven", useGrouping: false });
    return formats[d].format(x);
  };
  const pct = (v) => (v === null || v === undefined ? "-" : fixed(100 * v, 2) + "%");
  const num = (v) => (v === null || v === undefined ? "-" : fixed(v, 4));
  // main minus compared, as `eval --compare` prints it
  const delta = (a, b, rate) => {
    if (a === null || b === null || a === undefined || b === undefined) return "-";
    const d = rate ? 100 * (a - b) : a - b;
    return (d >= 0 ? "+" : "") + fixed(d, rate ? 2 : 4) + (rate ? " pp" : "");
  };

  // ---- overview ------------------------------------------------------------------------------
  function valueCell(key, side, value, rate) {
    return el("td", { "data-key": key, "data-side": side, "data-value": value === null || value === undefined ? "" : value,
      text: rate ? pct(value) : num(value) });
  }

  function metricRow(label, key, get, rate) {
    const values = SIDES.map((s) => get(s.metrics));
    const row = el("tr", {}, el("th", { text: label }));
    values.forEach((v, i) => row.append(valueCell(key, i, v, rate)));
    if (TWO) row.append(el("td", { cls: "delta", text: delta(values[0], values[1], rate) }));
    return row;
  }

  function renderSummary() {
    const table = $("summary");
    table.append(el("tr", {}, el("th", { text: "metric" }), ...SIDES.map((s) => el("th", { text: s.name })),
      TWO ? el("th", { text: "delta (first - second)" }) : null));
    const count = el("tr", {}, el("th", { text: "samples" }));
    SIDES.forEach((s, i) => count.append(el("td", { "data-key": "count", "data-side": i, "data-value": s.metrics.count, text: s.metrics.count })));
    table.append(count);
    for (const k of RATES) table.append(metricRow(k, k, (m) => m[k], true));
    for (const r of D.rewards) table.append(metricRow("reward " + r, "rewards." + r, (m) => (m.rewards || {})[r], false));
    if (SIDES.some((s) => s.metrics.by_task))
      for (const k of TASK_RATES) table.append(metricRow(k, "by_task." + k, (m) => (m.by_task || {})[k], true));
    const sampled = SIDES[0].metrics.sampled;
    if (sampled) {
      const k = sampled.num_samples;
      table.append(metricRow("sampled step_success (K=" + k + ")", "sampled.step_success", (m) => (m.sampled || {}).step_success, true));
      table.append(metricRow("pass@" + k, "sampled.pass_at_k", (m) => (m.sampled || {}).pass_at_k, true));
    }
    const r = SIDES[0].metrics.rules || {};
    $("rules").textContent = "rules: frame " + r.frame + ", box x" + r.box_scale + ", tap distance " +
      (r.tap_distance === null ? "off" : r.tap_distance) + ", text " + r.text_match + " >= " + r.text_threshold +
      (r.max_pixels ? ", pixels " + r.min_pixels + ".." + r.max_pixels : "");
  }

  function bar(value) {
    const b = el("span", { cls: "bar" });
    b.style.width = Math.round(100 * (value || 0)) + "px";
    return b;
  }

  function renderPerType() {
    const table = $("per-type");
    const head = el("tr", {}, el("th", { text: "type" }), el("th", { text: "count" }));
    const suffix = (s) => (TWO ? " " + s.name : "");
    SIDES.forEach((s) => head.append(el("th", { text: "type acc" + suffix(s) }), el("th", { text: "step success" + suffix(s) })));
    if (TWO) head.append(el("th", { text: "delta" }));
    table.append(head);
    const kinds = Object.keys(SIDES[0].metrics.per_type || {});
    for (const kind of kinds) {
      const row = el("tr", {}, el("th", { text: kind }), el("td", { text: SIDES[0].metrics.per_type[kind].count }));
      const steps = [];
      SIDES.forEach((s, i) => {
        const m = (s.metrics.per_type || {})[kind] || {};
        steps.push(m.step_success);
        row.append(valueCell("per_type." + kind + ".type_accuracy", i, m.type_accuracy, true));
        const cell = valueCell("per_type." + kind + ".step_success", i, m.step_success, true);
        cell.prepend(bar(m.step_success));
        row.append(cell);
      });
      if (TWO) row.append(el("td", { cls: "delta", text: delta(steps[0], steps[1], true) }));
      table.append(row);
    }
  }

  function renderConfusion() {
    SIDES.forEach((s, i) => {
      const conf = s.metrics.confusion || {};
      const cols = [...new Set(Object.values(conf).flatMap((r) => Object.keys(r)))]
        .sort((a, b) => (a === "invalid") - (b === "invalid") || a.localeCompare(b));
      const max = Math.max(1, ...Object.values(conf).flatMap((r) => Object.values(r)));
      const table = el("table", { cls: "confusion", "data-side": i },
        el("caption", { text: s.name }),
        el("tr", {}, el("th", { text: "truth \\ model" }), ...cols.map((c) => el("th", { text: c }))));
      for (const [truth, row] of Object.entries(conf)) {
        const tr = el("tr", {}, el("th", { text: truth }));
        for (const c of cols) {
          const n = row[c] || 0;
          const td = el("td", { "data-truth": truth, "data-pred": c, text: n ? n : "" });
          const shade = n / max;
          td.style.background = c === truth ? `rgba(0,160,60,${0.12 + 0.6 * shade})` : n ? `rgba(225,30,30,${0.1 + 0.6 * shade})` : "";
          tr.append(td);
        }
        table.append(tr);
      }
      $("confusion").append(table);
    });
  }

  function renderRuns() {
    const box = $("runs");
    if (!D.runs.length) box.append(el("p", { cls: "note", text: "No training run given (report --run RUN_DIR)." }));
    for (const run of D.runs) {
      const fig = el("figure", { cls: "run", "data-run": run.name });
      if (run.svg) {
        const doc = new DOMParser().parseFromString(run.svg, "image/svg+xml");
        fig.append(document.importNode(doc.documentElement, true));
      } else fig.append(el("p", { text: run.name + ": no reward logged" }));
      const last = Object.entries(run.last).map(([k, v]) => k.replace(/^rewards\/(.*)\/mean$/, "$1") + " " + v).join(", ");
      fig.append(el("figcaption", { text: `${run.steps} logged steps from ${run.source}` + (last ? `; last: ${last}` : "") }));
      box.append(fig);
    }
  }

  // ---- gallery --------------------------------------------------------------------------------
  function shot(name, label, h) {
    const fig = el("figure", { cls: "shot" });
    if (name) fig.append(el("img", { src: name, alt: label, loading: "lazy", height: h }));
    else fig.append(el("div", { cls: "noshot", text: "no screenshot" }));
    fig.append(el("figcaption", { text: label }));
    return fig;
  }

  function sideBlock(rec, key, name) {
    const s = rec[key];
    const block = el("div", { cls: "side " + (s.ok ? "right" : "wrong"), "data-side": key },
      el("div", { cls: "verdict" }, el("b", { text: (s.ok ? "RIGHT" : "WRONG") + (TWO ? " (" + name + ")" : "") }), " " + s.reason),
      el("div", { cls: "pred", text: "model: " + (s.pred === null ? "invalid" : s.pred) }));
    const rewards = Object.entries(s.rewards).map(([k, v]) => k + " " + (v === null ? "-" : fixed(v, 3))).join(" · ");
    block.append(el("div", { cls: "rewards", text: "rewards: " + (rewards || "-") }));
    block.append(el("details", {}, el("summary", { text: "completion" }),
      el("pre", { text: s.completion === null ? "(no prediction)" : s.completion })));
    return block;
  }

  function card(rec, tag) {
    const h = Math.round(D.thumb_height * 0.75);
    const c = el(tag || "article", { cls: "card " + (rec.a.ok ? "right" : "wrong"), "data-id": rec.id, "data-i": rec.i,
      "data-ok": String(rec.a.ok), "data-step": rec.step === null ? "" : rec.step });
    const where = rec.task === null ? null
      : el("a", { href: "#episode/" + encodeURIComponent(rec.task), cls: "task", text: `task ${rec.task} · step ${rec.step}` });
    c.append(el("header", {}, el("span", { cls: "id", text: "id " + rec.id }), where, el("span", { cls: "ttype", text: rec.ttype })));
    if (rec.instruction) c.append(el("div", { cls: "instruction", text: rec.instruction }));
    const shots = el("div", { cls: "shots" });
    if (rec.thumbs.prev !== undefined) shots.append(shot(rec.thumbs.prev, "previous", h));
    shots.append(shot(rec.thumbs.a, TWO ? "current · " + SIDES[0].name : "current", h));
    if (TWO) shots.append(shot(rec.thumbs.b, "current · " + SIDES[1].name, h));
    c.append(shots, el("div", { cls: "truth", text: "truth: " + rec.truth }), sideBlock(rec, "a", SIDES[0].name));
    if (TWO) c.append(sideBlock(rec, "b", SIDES[1].name));
    for (const note of rec.notes || []) c.append(el("div", { cls: "note", text: note }));
    return c;
  }

  function readNumber(input) {
    const v = input.value.trim();
    return v === "" || Number.isNaN(Number(v)) ? null : Number(v);
  }

  function filtered() {
    const q = $("search").value.trim().toLowerCase();
    const wrong = $("wrong-only").checked;
    const disagree = $("disagree-only").checked;
    const type = $("type").value;
    const task = $("task").value;
    const reward = $("reward").value;
    const lo = readNumber($("rmin"));
    const hi = readNumber($("rmax"));
    const ranged = reward && (lo !== null || hi !== null);
    return REC.filter((r) => {
      if (wrong && r.a.ok) return false;
      if (disagree && !r.disagree) return false;
      if (type && r.ttype !== type) return false;
      if (task && String(r.task) !== task) return false;
      if (q && !String(r.id).toLowerCase().includes(q)) return false;
      if (ranged) {
        const v = r.a.rewards[reward];
        if (v === null || v === undefined || (lo !== null && v < lo) || (hi !== null && v > hi)) return false;
      }
      return true;
    });
  }

  function sorted(list) {
    const how = $("sort").value;
    const reward = $("reward").value;
    const rv = (r) => { const v = r.a.rewards[reward]; return v === null || v === undefined ? -Infinity : v; };
    const byOrder = (a, b) => a.i - b.i;
    const cmp = {
      order: byOrder,
      disagree: (a, b) => (b.disagree === true) - (a.disagree === true) || byOrder(a, b),
      "reward-asc": (a, b) => rv(a) - rv(b) || byOrder(a, b),
      "reward-desc": (a, b) => rv(b) - rv(a) || byOrder(a, b),
      task: (a, b) => String(a.task).localeCompare(String(b.task)) || (a.step ?? 0) - (b.step ?? 0) || byOrder(a, b),
      id: (a, b) => String(a.id).localeCompare(String(b.id), undefined, { numeric: true }) || byOrder(a, b),
    }[how] || byOrder;
    return list.slice().sort(cmp);
  }

  function refresh(keepPage) {
    state.list = sorted(filtered());
    if (!keepPage) state.page = 0;
    renderPage();
  }

  function renderPage() {
    const size = Number($("page-size").value);
    const pages = Math.max(1, Math.ceil(state.list.length / size));
    state.page = Math.min(state.page, pages - 1);
    const shown = state.list.slice(state.page * size, (state.page + 1) * size);
    $("cards").replaceChildren(...shown.map((r) => card(r)));
    $("page").textContent = `page ${state.page + 1} of ${pages}`;
    $("page").dataset.page = state.page + 1;
    $("page").dataset.pages = pages;
    $("count").textContent = `${state.list.length} of ${REC.length} samples`;
    $("count").dataset.count = state.list.length;
    $("prev").disabled = state.page === 0;
    $("next").disabled = state.page >= pages - 1;
  }

  function setupGallery() {
    const types = [...new Set(REC.map((r) => r.ttype))].sort();
    for (const t of types) $("type").append(el("option", { value: t, text: t }));
    for (const t of Object.keys(D.episodes)) $("task").append(el("option", { value: t, text: t }));
    for (const r of D.rewards) $("reward").append(el("option", { value: r, text: r }));
    if (TWO) {
      $("disagree-label").hidden = false;
      $("sort").value = "disagree";
    } else $("sort").querySelector('[value="disagree"]').remove();
    for (const id of ["search", "rmin", "rmax"]) $(id).addEventListener("input", () => refresh());
    for (const id of ["wrong-only", "disagree-only", "type", "task", "reward", "sort", "page-size"])
      $(id).addEventListener("change", () => refresh());
    $("controls").addEventListener("submit", (e) => e.preventDefault());
    $("prev").addEventListener("click", () => { state.page -= 1; renderPage(); });
    $("next").addEventListener("click", () => { state.page += 1; renderPage(); });
    refresh();
  }

  // ---- episodes -------------------------------------------------------------------------------
  function renderEpisode(task) {
    const steps = D.episodes[task] || [];
    $("episode-task").value = task;
    const head = $("episode-head");
    head.replaceChildren();
    if (!steps.length) { head.append(el("p", { cls: "note", text: "No task selected, or no such task." })); }
    else {
      const first = REC[steps[0]];
      head.append(el("h2", { text: `task ${task}: ${steps.length} steps` }));
      if (first.instruction) head.append(el("p", { cls: "instruction", text: first.instruction }));
      for (const [key, s] of [["a", SIDES[0]], ["b", SIDES[1]]]) {
        if (!s) continue;
        const ok = steps.map((i) => REC[i][key].ok);
        const prefix = ok.indexOf(false) === -1 ? ok.length : ok.indexOf(false);
        head.append(el("p", { cls: "episode-result", "data-side": key,
          text: `${s.name}: ${prefix === ok.length ? "episode success" : "fails at step " + REC[steps[prefix]].step}; goal progress ${prefix}/${ok.length}` }));
      }
    }
    $("episode-steps").replaceChildren(...steps.map((i) => card(REC[i], "li")));
  }

  function setupEpisodes() {
    const tasks = Object.keys(D.episodes);
    const select = $("episode-task");
    select.append(el("option", { value: "", text: tasks.length ? "choose a task" : "no task ids in this dataset" }));
    for (const t of tasks) select.append(el("option", { value: t, text: `${t} (${D.episodes[t].length} steps)` }));
    select.addEventListener("change", () => { location.hash = "#episode/" + encodeURIComponent(select.value); });
  }

  // ---- routing --------------------------------------------------------------------------------
  function route() {
    const hash = location.hash.slice(1) || "overview";
    const [view, ...rest] = hash.split("/");
    const name = ["overview", "gallery", "episode"].includes(view) ? view : "overview";
    for (const v of ["overview", "gallery", "episode"]) {
      $(v).hidden = v !== name;
      $("nav-" + v).classList.toggle("active", v === name);
    }
    if (name === "episode") renderEpisode(decodeURIComponent(rest.join("/")));
  }

  document.title = D.title;
  $("title").textContent = D.title;
  $("subtitle").textContent = `${REC.length} samples · predictions ${SIDES.map((s) => s.name).join(" vs ")} · written ${D.generated}`;
  renderSummary();
  renderPerType();
  renderConfusion();
  renderRuns();
  setupGallery();
  setupEpisodes();
  window.addEventListener("hashchange", route);
  route();
  document.body.dataset.ready = "1";
})();
