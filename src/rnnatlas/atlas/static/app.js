// rnnatlas atlas page: one scatter of networks per section and view, coloured by any field;
// a click opens the network's card, a selection (lasso/box) or a group shows its block of a
// distance matrix. Data: window.RNNATLAS_DATA (and RNNATLAS_CARDS when cards are inline);
// cards and matrices written beside the page are loaded with <script> elements on demand.
(function () {
  "use strict";
  const DATA = window.RNNATLAS_DATA;
  const CATEGORY_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939", "#843c39", "#7b4173", "#3182bd"];
  const STABILITY_COLOURS = { stable: "#2ca02c", saddle: "#d62728", marginal: "#ff7f0e", slow: "#7f7f7f",
    target: "#000000" };
  const FIELDS_VIEW = "fields";
  const $ = (id) => document.getElementById(id);
  const cards = {};      // section key -> {id: parts}
  const matrices = {};   // section key -> {metric: decoded {members, n, values}}
  const loading = {};    // script src -> Promise
  const state = { section: null, view: null, colour: null, x: null, y: null, selected: null, card: null };

  const api = {
    data: DATA, state: state,
    addCards: (key, members) => { cards[key] = Object.assign(cards[key] || {}, members); },
    addMatrix: (key, metric, m) => { (matrices[key] = matrices[key] || {})[metric] = decode(m); },
  };
  window.RNNATLAS = api;
  Object.entries(window.RNNATLAS_CARDS || {}).forEach(([k, v]) => api.addCards(k, v));

  function loadScript(src) {
    if (!loading[src]) {
      loading[src] = new Promise((resolve, reject) => {
        const el = document.createElement("script");
        el.src = src; el.onload = resolve;
        el.onerror = () => reject(new Error("cannot load " + src + " (serve the folder: python -m http.server)"));
        document.head.appendChild(el);
      });
    }
    return loading[src];
  }

  function decode(m) {
    const bytes = Uint8Array.from(atob(m.data), (c) => c.charCodeAt(0));
    const q = new Uint16Array(bytes.buffer);
    return { label: m.label, members: m.members, n: m.n, values: Float64Array.from(q, (v) => v * m.scale) };
  }

  function section() { return DATA.sections.find((s) => s.key === state.section); }

  function option(select, value, text) {
    const o = document.createElement("option"); o.value = value; o.textContent = text; select.appendChild(o);
  }

  function fill(select, items, current) {
    select.innerHTML = "";
    items.forEach(([v, t]) => option(select, v, t));
    if (items.some(([v]) => v === current)) select.value = current;
    return select.value;
  }

  function numberFields(s) { return Object.keys(s.fields).filter((f) => s.kinds[f] === "number"); }

  // ------------------------------------------------------------------ controls
  function setSection(key) {
    state.section = key;
    const s = section();
    const views = s.views.map((v) => [v.name, v.label]).concat([[FIELDS_VIEW, "fields (choose x and y)"]]);
    state.view = fill($("view-select"), views, state.view);
    const prefer = ["arch", "solution_type", "solution_class", "activation", "trained", "task"];
    const fields = Object.keys(s.fields);
    const colour = prefer.find((f) => f in s.fields) || fields[0];
    state.colour = fill($("colour-select"), fields.map((f) => [f, f]), fields.includes(state.colour) ? state.colour : colour);
    const numbers = numberFields(s);
    const items = numbers.map((f) => [f, f]);
    state.x = fill($("x-select"), items, ["final_val_loss", "final_loss"].find((f) => numbers.includes(f)) || numbers[0]);
    state.y = fill($("y-select"), items, ["n_fixed_points", "n_stable", "determinant"].find((f) => numbers.includes(f)) || numbers[1] || numbers[0]);
    fill($("block-metric"), Object.entries(s.matrices).map(([m, v]) => [m, v.label]), null);
    state.selected = null;
    draw();
  }

  function fillGroups() {
    const s = section();
    const values = Array.from(new Set(s.fields[state.colour].map(String))).sort();
    fill($("group-select"), [["", "(none)"]].concat(values.map((v) => [v, state.colour + " = " + v])), "");
  }

  // ------------------------------------------------------------------ the map
  function viewPoints(s) {
    if (state.view === FIELDS_VIEW) {
      const members = [], x = [], y = [];
      s.ids.forEach((_, i) => {
        const a = s.fields[state.x][i], b = s.fields[state.y][i];
        if (a !== null && b !== null && a !== undefined && b !== undefined) { members.push(i); x.push(a); y.push(b); }
      });
      return { members, x, y, x_label: state.x, y_label: state.y, note: members.length < s.ids.length ?
        (s.ids.length - members.length) + " networks lack " + state.x + " or " + state.y : "" };
    }
    const v = s.views.find((w) => w.name === state.view);
    const aside = Object.keys(v.set_aside || {});
    let note = v.stress !== undefined ? "Kruskal stress " + v.stress + ". " : "";
    if (aside.length) note += aside.length + " networks set aside: " + aside.map((k) => k + " (" + v.set_aside[k] + ")").join("; ");
    return { members: v.members, x: v.x, y: v.y, x_label: v.x_label, y_label: v.y_label, note };
  }

  function hoverText(s, i) {
    const lines = ["<b>" + s.ids[i] + "</b>"];
    s.hover.concat([state.colour]).forEach((f) => {
      if (s.fields[f] && s.fields[f][i] !== null) lines.push(f + ": " + s.fields[f][i]);
    });
    return lines.join("<br>");
  }

  function logAxis(name, values) {
    return /loss/.test(name) && values.length && values.every((v) => v > 0) ? "log" : "linear";
  }

  function draw() {
    const s = section();
    $("axis-controls").hidden = state.view !== FIELDS_VIEW;
    fillGroups();
    const p = viewPoints(s);
    const colour = s.fields[state.colour];
    const traces = [];
    const categorical = s.kinds[state.colour] !== "number" || new Set(colour).size <= 12;
    const marker = { size: s.ids.length > 1000 ? 5 : 9, line: { width: 0.5, color: "#333" } };
    if (categorical) {
      const values = Array.from(new Set(p.members.map((i) => String(colour[i])))).sort();
      values.forEach((value, k) => {
        const idx = p.members.map((m, j) => [m, j]).filter(([m]) => String(colour[m]) === value);
        traces.push({ type: "scatter", mode: "markers", name: state.colour + " = " + value,
          x: idx.map(([, j]) => p.x[j]), y: idx.map(([, j]) => p.y[j]), customdata: idx.map(([m]) => m),
          text: idx.map(([m]) => hoverText(s, m)), hoverinfo: "text",
          marker: Object.assign({ color: CATEGORY_COLOURS[k % CATEGORY_COLOURS.length] }, marker) });
      });
    } else {
      traces.push({ type: "scatter", mode: "markers", name: state.colour, x: p.x, y: p.y, customdata: p.members,
        text: p.members.map((m) => hoverText(s, m)), hoverinfo: "text",
        marker: Object.assign({ color: p.members.map((m) => colour[m]), colorscale: "Viridis", showscale: true,
          colorbar: { title: { text: state.colour } } }, marker) });
    }
    const layout = { margin: { l: 55, r: 10, t: 30, b: 45 }, dragmode: "lasso", hovermode: "closest",
      title: { text: s.study_title + " · " + s.label + " · " + ($("view-select").selectedOptions[0] || {}).textContent,
        font: { size: 14 }, x: 0.01, xanchor: "left" },
      xaxis: { title: { text: p.x_label }, type: state.view === FIELDS_VIEW ? logAxis(p.x_label, p.x) : "linear" },
      yaxis: { title: { text: p.y_label }, type: state.view === FIELDS_VIEW ? logAxis(p.y_label, p.y) : "linear" },
      legend: { orientation: "v" } };
    $("view-note").textContent = p.members.length + " of " + s.ids.length + " networks drawn. " + p.note;
    Plotly.react($("map"), traces, layout, { responsive: true, displaylogo: false });
  }

  // ------------------------------------------------------------------ cards
  async function cardOf(s, i) {
    const id = s.ids[i];
    if (!(cards[s.key] && cards[s.key][id])) {
      if (s.cards !== "files") throw new Error("no card for " + id);
      await loadScript("cards/" + s.key + "/" + String(s.card_chunk[i]).padStart(3, "0") + ".js");
    }
    return cards[s.key][id];
  }

  async function openCard(i) {
    const s = section();
    state.card = s.ids[i];
    if ($("card").hidden) { $("card").hidden = false; Plotly.Plots.resize($("map")); }
    $("card-id").textContent = s.ids[i];
    $("card-where").textContent = s.study_title + " · " + s.label;
    const body = $("card-body");
    body.innerHTML = "loading…";
    let parts;
    try { parts = await cardOf(s, i); } catch (e) { body.textContent = String(e); return; }
    if (state.card !== s.ids[i]) return;  // another card was asked for meanwhile
    body.innerHTML = "";
    // pictures first (what the network does), then its tables
    const order = (p) => ["trajectories", "eigenvalues", "curves", "matrices", "table", "note"].indexOf(p.kind);
    parts.slice().sort((a, b) => order(a) - order(b)).forEach((part) => renderPart(part, body));
  }

  function plotDiv(parent) { const d = document.createElement("div"); d.className = "plot"; parent.appendChild(d); return d; }

  const SMALL = { margin: { l: 50, r: 10, t: 10, b: 40 }, showlegend: true, autosize: true,
    legend: { font: { size: 10 }, orientation: "h", y: -0.25 } };
  const CONFIG = { displaylogo: false, responsive: true };

  // each part is attached before it is drawn: Plotly sizes a graph by its place in the page
  function renderPart(part, parent) {
    const div = document.createElement("div");
    div.className = "part part-" + part.kind;
    parent.appendChild(div);
    const h = document.createElement("h3"); h.textContent = part.title; div.appendChild(h);
    if (part.detail) { const p = document.createElement("p"); p.className = "detail"; p.textContent = part.detail; div.appendChild(p); }
    const render = RENDERERS[part.kind];
    if (render) render(part, div);
    return div;
  }

  const RENDERERS = {
    note: (part, div) => { const p = document.createElement("p"); p.className = "note"; p.textContent = part.text; div.appendChild(p); },
    table: (part, div) => {
      const t = document.createElement("table");
      part.rows.forEach(([k, v]) => {
        const tr = t.insertRow(); tr.insertCell().textContent = k; tr.insertCell().textContent = v === null ? "—" : String(v);
      });
      div.appendChild(t);
    },
    curves: (part, div) => {
      const traces = part.series.map((c) => ({ type: "scatter", mode: "lines", name: c.name, x: c.x, y: c.y }));
      const shapes = part.threshold ? [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: part.threshold, y1: part.threshold,
        line: { dash: "dot", color: "#888" } }] : [];
      Plotly.newPlot(plotDiv(div), traces, Object.assign({}, SMALL, { shapes,
        xaxis: { title: { text: part.x_label } }, yaxis: { title: { text: part.y_label }, type: part.log_y ? "log" : "linear" } }), CONFIG);
    },
    trajectories: (part, div) => {
      const dims = part.trials.length ? part.trials[0].length : 2;
      const name = (k) => part.axis ? part.axis[k] : "PC " + (k + 1) + (part.explained ? " (" + Math.round(100 * part.explained[k]) + " %)" : "");
      const plot = plotDiv(div);
      const drawPair = (a, b) => {
        const traces = part.trials.map((t, k) => ({ type: "scatter", mode: "lines", x: t[a], y: t[b], showlegend: k === 0,
          name: "probe trials (" + part.trials.length + " of " + part.n_trials + ")", legendgroup: "trials",
          line: { width: 1, color: CATEGORY_COLOURS[k % CATEGORY_COLOURS.length] }, hoverinfo: "skip" }));
        if (part.points) {
          Array.from(new Set(part.points.stability)).forEach((kind) => {
            const idx = part.points.stability.map((v, j) => [v, j]).filter(([v]) => v === kind).map(([, j]) => j);
            traces.push({ type: "scatter", mode: "markers", name: kind + " (" + idx.length + ")",
              x: idx.map((j) => part.points.coords[a][j]), y: idx.map((j) => part.points.coords[b][j]),
              text: idx.map((j) => "point " + part.points.index[j] + ", q = " + part.points.q[j]), hoverinfo: "text",
              marker: { size: 8, symbol: kind === "stable" ? "circle" : "x", color: STABILITY_COLOURS[kind] || "#000" } });
          });
        }
        Plotly.react(plot, traces, Object.assign({}, SMALL, { xaxis: { title: { text: name(a) } },
          yaxis: { title: { text: name(b) } } }), CONFIG);
      };
      if (dims > 2) {
        const select = document.createElement("select");
        [[0, 1], [0, 2], [1, 2]].forEach(([a, b]) => option(select, a + "," + b, "PC " + (a + 1) + " – PC " + (b + 1)));
        select.onchange = () => { const [a, b] = select.value.split(",").map(Number); drawPair(a, b); };
        div.insertBefore(select, plot);
      }
      drawPair(0, 1);
      if (part.points && part.points.total > part.points.index.length) {
        const p = document.createElement("p"); p.className = "note";
        p.textContent = part.points.index.length + " of " + part.points.total + " points drawn (fixed before slow, slowest first)";
        div.appendChild(p);
      }
    },
    eigenvalues: (part, div) => {
      const traces = [{ type: "scatter", mode: "markers", name: "eigenvalues", x: part.re, y: part.im, marker: { size: 6 } }];
      let shapes = [];
      if (part.boundary === "unit_circle") {
        shapes = [{ type: "circle", xref: "x", yref: "y", x0: -1, x1: 1, y0: -1, y1: 1, line: { color: "#888", dash: "dot" } }];
      } else {
        shapes = [{ type: "line", xref: "x", yref: "paper", x0: 0, x1: 0, y0: 0, y1: 1, line: { color: "#888", dash: "dot" } }];
      }
      Plotly.newPlot(plotDiv(div), traces, Object.assign({}, SMALL, { shapes, showlegend: false,
        xaxis: { title: { text: "Re λ" } }, yaxis: { title: { text: "Im λ" }, scaleanchor: "x" } }), CONFIG);
    },
    matrices: (part, div) => {
      part.matrices.forEach((m) => {
        const t = document.createElement("table");
        const cap = t.createCaption(); cap.textContent = m.name;
        m.values.forEach((row) => { const tr = t.insertRow(); row.forEach((v) => { tr.insertCell().textContent = v; }); });
        div.appendChild(t);
      });
    },
  };

  // ------------------------------------------------------------------ blocks of the distance matrix
  async function matrixOf(s, metric) {
    if (!(matrices[s.key] && matrices[s.key][metric])) {
      const m = s.matrices[metric];
      if (m.file) await loadScript(m.file); else api.addMatrix(s.key, metric, m);
    }
    return matrices[s.key][metric];
  }

  async function showBlock(indices, title) {
    const s = section();
    const metrics = Object.keys(s.matrices);
    if (!indices || !indices.length || !metrics.length) { $("block-panel").hidden = true; return; }
    const metric = metrics.includes(state.view) ? state.view : $("block-metric").value || metrics[0];
    $("block-metric").value = metric;
    const m = await matrixOf(s, metric);
    const where = new Map(m.members.map((sec, row) => [sec, row]));
    const colour = s.fields[state.colour];
    const rows = indices.filter((i) => where.has(i)).sort((a, b) => String(colour[a]).localeCompare(String(colour[b])) || a - b);
    const z = rows.map((a) => rows.map((b) => m.values[where.get(a) * m.n + where.get(b)]));
    const names = rows.map((i) => s.ids[i]);
    $("block-panel").hidden = false;
    $("block-title").textContent = title + ": " + rows.length + " networks, " + m.label + " distance";
    Plotly.react($("block"), [{ type: "heatmap", z, x: names, y: names, colorscale: "Viridis",
      hovertemplate: "%{y}<br>%{x}<br>distance %{z:.3f}<extra></extra>" }],
      { margin: { l: 10, r: 10, t: 10, b: 10 }, xaxis: { showticklabels: false }, yaxis: { showticklabels: false, autorange: "reversed" } }, CONFIG);
  }

  // ------------------------------------------------------------------ wiring
  function init() {
    const run = DATA.run || {};
    $("run-info").textContent = [run.created, run.commit ? "commit " + run.commit.slice(0, 10) : "", run.networks + " networks"].filter(Boolean).join(" · ");
    const select = $("section-select");
    DATA.sections.forEach((s) => option(select, s.key, s.study_title + " · " + s.label + " (" + s.ids.length + ")"));
    select.onchange = () => setSection(select.value);
    $("view-select").onchange = (e) => { state.view = e.target.value; draw(); };
    $("colour-select").onchange = (e) => { state.colour = e.target.value; draw(); };
    $("x-select").onchange = (e) => { state.x = e.target.value; draw(); };
    $("y-select").onchange = (e) => { state.y = e.target.value; draw(); };
    $("group-select").onchange = (e) => {
      const s = section(), value = e.target.value;
      if (value === "") { $("block-panel").hidden = true; return; }
      showBlock(s.ids.map((_, i) => i).filter((i) => String(s.fields[state.colour][i]) === value), state.colour + " = " + value);
    };
    $("block-metric").onchange = () => { if (state.selected) showBlock(state.selected.indices, state.selected.title); };
    $("card-close").onclick = () => { $("card").hidden = true; state.card = null; Plotly.Plots.resize($("map")); };
    const map = $("map");
    setSection(DATA.sections[0].key);
    map.on("plotly_click", (ev) => { if (ev.points.length) openCard(ev.points[0].customdata); });
    map.on("plotly_selected", (ev) => {
      if (!ev || !ev.points.length) return;
      state.selected = { indices: ev.points.map((p) => p.customdata), title: "Selection" };
      showBlock(state.selected.indices, "Selection");
    });
    map.on("plotly_deselect", () => { state.selected = null; $("block-panel").hidden = true; });
    api.ready = true;
  }
  api.openCard = openCard;
  api.setSection = (key, view) => { if (view) state.view = view; $("section-select").value = key; setSection(key); };
  api.showBlock = showBlock;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
