// The Strand dashboard page: reads pictures of the cluster from /api/events (server-sent
// events) and draws them. Plain browser JavaScript, no libraries, nothing fetched from
// elsewhere. Every text that came from the cluster (function names, errors, addresses) is
// set as textContent, never parsed as HTML.
"use strict";

(() => {
  const $ = (sel, root = document) => root.querySelector(sel);

  /** An element with attributes (data-*, class, title) and children (strings become text). */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs ?? {})) {
      if (v === undefined || v === null) continue;
      if (k === "class") e.className = v;
      else if (k.startsWith("data-")) e.setAttribute(k, String(v));
      else e[k] = v;
    }
    for (const c of children) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
    return e;
  }

  // ---- formatting

  function bytes(n) {
    if (n === null || n === undefined) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
  }
  function ms(v) {
    if (v === null || v === undefined) return "–";
    if (v < 1) return `${Math.round(v * 1000)} µs`;
    if (v < 1000) return `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;
    if (v < 120_000) return `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)} s`;
    return `${Math.round(v / 60_000)} min`;
  }
  const num = (v) => (v === null || v === undefined ? "–" : v.toLocaleString("en-US"));
  const clock = (t) => new Date(t).toLocaleTimeString([], { hour12: false });

  /**
   * A colour per function: distinct ones from a qualitative palette in the order functions
   * appear on this page, then hues from a hash of the name.
   */
  const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2", "#ff9da7", "#9c755f", "#8cd17d", "#499894", "#d4a6c8", "#86bcb6"];
  const LIGHT = new Set(["#f28e2b", "#edc948", "#76b7b2", "#ff9da7", "#8cd17d", "#d4a6c8", "#86bcb6"]);
  const colours = new Map();
  function colour(name) {
    let c = colours.get(name);
    if (c === undefined) {
      if (colours.size < PALETTE.length) c = PALETTE[colours.size];
      else {
        let h = 2166136261;
        for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
        c = `hsl(${(h >>> 0) % 360}, 55%, 50%)`;
      }
      colours.set(name, c);
    }
    return c;
  }

  // ---- state

  let picture = null;
  /** When the last picture arrived (this browser's clock): the server's now drifts from it. */
  let pictureAt = 0;
  /** Spans kept for the task stream: [seq, runner, thread, name, start, dur, ok, error]. */
  let spans = [];
  /** Boxes drawn last time: what the pointer can point at. */
  let boxes = [];
  let windowMs = 30_000;

  const serverNow = () => (picture === null ? Date.now() : picture.at + (Date.now() - pictureAt));

  function apply(p) {
    picture = p;
    pictureAt = Date.now();
    if (p.spans.length > 0) spans = spans.concat(p.spans);
    const oldest = p.at - p.windowMs;
    let i = 0;
    while (i < spans.length && spans[i][4] + spans[i][5] < oldest) i++;
    if (i > 0) spans = spans.slice(i);
    renderSummary(p);
    renderRunners(p);
    renderProgress(p);
    renderErrors(p);
    renderChannels(p);
    renderActors(p);
    renderJobs(p);
    renderLegend();
    drawStream();
  }

  // ---- tables

  /** What each part last drew: a part is redrawn only when what it shows changed (hovers and selections last). */
  const drawn = new Map();
  function changed(part, data) {
    const json = JSON.stringify(data);
    if (drawn.get(part) === json) return false;
    drawn.set(part, json);
    return true;
  }

  function renderSummary(p) {
    const alive = p.runners.filter((r) => r.alive);
    const threads = alive.reduce((s, r) => s + r.threads, 0);
    const running = alive.reduce((s, r) => s + r.running, 0);
    const cpu = alive.reduce((s, r) => s + (r.cpu ?? 0), 0);
    const failed = p.functions.reduce((s, f) => s + f.failed, 0);
    $("#summary").textContent = `${alive.length} of ${p.runners.length} runners · ${running} running on ${threads} threads · CPU ${cpu.toFixed(2)} cores · ${failed} failed calls`;
  }

  function busy(r) {
    const cells = el("span", { class: "busy", "aria-hidden": "true" });
    const n = Math.min(r.threads, 32);
    for (let i = 0; i < n; i++) cells.append(el("i", { class: i < r.running ? "on" : "" }));
    return cells;
  }

  function renderRunners(p) {
    const body = $("#runners tbody");
    body.replaceChildren(...p.runners.map((r) => el("tr", { "data-runner": r.address, class: r.alive ? "" : "lost" },
      el("td", { class: "name" }, r.address),
      el("td", { class: "state" }, r.alive ? "up" : "lost"),
      el("td", { class: "threads" }, busy(r), `${r.running} / ${r.threads}`),
      el("td", { class: "num cpu" }, r.cpu === null ? "–" : r.cpu.toFixed(2)),
      el("td", { class: "num rss", title: `JS heap ${bytes(r.heapUsed)}` }, bytes(r.rss)),
      el("td", { class: "num objects", title: r.objectBytesLimit === null ? "" : `budget ${bytes(r.objectBytesLimit)}` },
        r.objects === null ? "–" : `${num(r.objects)} · ${bytes(r.objectBytes)}`),
      el("td", { class: "num calls" }, num(r.calls)),
      el("td", { class: "num failures" }, num(r.failures)),
      el("td", { class: "num bytes" }, `${bytes(r.bytesSent)} / ${bytes(r.bytesReceived)}`),
      el("td", { class: "num fetched", title: r.objectsServed === null ? "" : `${num(r.objectsServed)} objects served to others` }, bytes(r.bytesFetched)),
      el("td", { class: "num heard" }, r.heardAgoMs === null ? "–" : r.heardAgoMs < 1500 ? "now" : `${Math.round(r.heardAgoMs / 1000)} s ago`),
    )));
  }

  function bar(f) {
    const total = Math.max(f.submitted, f.done + f.failed + f.running + f.queued, 1);
    const b = el("div", { class: "bar", title: `${f.done} done, ${f.failed} failed, ${f.running} running, ${f.queued} queued of ${f.submitted}` });
    for (const k of ["done", "failed", "running", "queued"]) {
      const s = el("span", { class: k });
      s.style.width = `${(100 * f[k]) / total}%`;
      b.append(s);
    }
    return b;
  }

  function swatch(name) {
    const i = el("i", { class: "swatch" });
    i.style.background = colour(name);
    return i;
  }

  function renderProgress(p) {
    if (!changed("progress", [p.functions, p.calls])) return;
    $("#progress tbody").replaceChildren(...p.functions.map((f) => el("tr", { "data-function": f.name },
      el("td", { class: "name" }, swatch(f.name), f.name),
      el("td", { class: "bar-col" }, bar(f)),
      el("td", { class: "num done" }, num(f.done)),
      el("td", { class: "num failed" }, num(f.failed)),
      el("td", { class: "num running" }, num(f.running)),
      el("td", { class: "num queued" }, num(f.queued)),
      el("td", { class: "num submitted" }, num(f.submitted)),
      el("td", { class: "num mean" }, ms(f.meanMs)),
    )));
    $("#progress-note").textContent = p.functions.length === 0 ? "No calls yet."
      : p.calls ? "" : "Counting the calls seen finishing on the runners (any driver's); running and queued calls are known to the driver that made them.";
  }

  /** Stacks the reader opened, by error: kept open across pictures. */
  const openStacks = new Set();
  const errorKey = (e) => `${e.at}|${e.source}|${e.function}|${e.runner}|${e.message}`;

  function renderErrors(p) {
    // Redrawn only when they change, so that a stack being read (or selected) stays as it is.
    if (!changed("errors", p.errors)) return;
    $("#errors ol").replaceChildren(...p.errors.map((e) => {
      const key = errorKey(e);
      let stack = null;
      if (e.stack) {
        stack = el("details", { open: openStacks.has(key) }, el("summary", {}, "stack"), el("pre", { class: "stack" }, e.stack));
        stack.addEventListener("toggle", () => (stack.open ? openStacks.add(key) : openStacks.delete(key)));
      }
      return el("li", { "data-source": e.source, "data-function": e.function },
        el("div", { class: "meta" }, [clock(e.at), e.function && `${e.function}${e.rank === null ? "" : ` (rank ${e.rank})`}`, e.runner && `on ${e.runner}`, e.source === "runner" ? "seen on the runner" : ""].filter(Boolean).join(" · ")),
        el("div", { class: "message" }, e.message),
        stack,
      );
    }));
    for (const k of [...openStacks]) if (!p.errors.some((e) => errorKey(e) === k)) openStacks.delete(k);
  }

  function renderChannels(p) {
    if (!changed("channels", [p.channels, p.calls])) return;
    $("#channels tbody").replaceChildren(...p.channels.map((c) => el("tr", { "data-channel": c.id },
      el("td", { class: "name" }, c.id),
      el("td", { class: "num" }, num(c.capacity)),
      el("td", { class: "num buffered" }, num(c.buffered)),
      el("td", { class: "num" }, num(c.blockedSenders)),
      el("td", { class: "num" }, num(c.blockedReceivers)),
      el("td", { class: c.broken ? "state-failed" : "" }, c.broken ? "broken" : c.closed ? "closed" : "open"),
    )));
    $("#channels .empty").textContent = p.channels.length > 0 ? "" : p.calls ? "No channels homed in this driver." : "Channels live in the driver that made them: open that driver's dashboard to see them.";
  }

  function renderActors(p) {
    if (!changed("actors", [p.actors, p.actorCount, p.actorMailbox, p.calls])) return;
    $("#actors tbody").replaceChildren(...p.actors.map((a) => el("tr", { "data-actor": a.id, "data-class": a.className, class: a.state === "dead" ? "lost" : "" },
      el("td", { class: "name", title: `${a.id}${a.mine ? " · spawned by this driver" : ""}` }, a.className, a.name === null ? "" : ` "${a.name}"`),
      el("td", { class: "runner" }, a.runner ?? "–"),
      el("td", { class: `state state-${a.state}` }, a.state),
      el("td", { class: "num mailbox" }, num(a.mailbox)),
      el("td", { class: "num running" }, num(a.running)),
      el("td", { class: "num calls" }, num(a.calls)),
      el("td", { class: "num restarts" }, num(a.restarts)),
      el("td", { class: "num queued" }, num(a.queued)),
    )));
    const live = p.actors.filter((a) => a.state !== "dead").length;
    $("#actors-count").textContent = p.actorCount === 0 && p.actors.length === 0 ? ""
      : `${num(p.actorCount)} alive · ${num(p.actorMailbox)} calls waiting${live < p.actorCount ? ` · the ${num(live)} busiest shown` : ""}`;
    $("#actors .empty").textContent = p.actors.length > 0 ? "" : "No actors.";
  }

  function renderJobs(p) {
    if (!changed("jobs", [p.jobs, p.calls, p.jobs.some((j) => j.ended === null) ? p.at : 0])) return;
    $("#jobs tbody").replaceChildren(...p.jobs.map((j) => el("tr", { "data-job": j.id },
      el("td", {}, `#${j.id}`),
      el("td", { class: "name" }, j.function),
      el("td", { class: "num" }, num(j.size)),
      el("td", { class: `state-${j.state}` }, j.state),
      el("td", { class: "num" }, ms((j.ended ?? p.at) - j.started)),
      el("td", {}, el("span", { class: "ranks" }, ...j.ranks.map((r) => el("span", { class: r.state, title: `rank ${r.rank} ${r.state}${r.runner ? ` on ${r.runner}` : ""}${r.error ? `: ${r.error}` : ""}` }, String(r.rank))))),
    )));
    $("#jobs .empty").textContent = p.jobs.length > 0 ? "" : p.calls ? "No SPMD jobs yet." : "SPMD jobs are known to the driver that started them: open that driver's dashboard to see them.";
  }

  function renderLegend() {
    const names = [...new Set(spans.map((s) => s[3]).concat(picture.functions.map((f) => f.name)))].sort();
    if (!changed("legend", names)) return;
    $("#legend").replaceChildren(...names.map((n) => el("span", { "data-function": n }, swatch(n), n)));
  }

  // ---- the task stream

  const canvas = $("#stream-canvas");
  const tip = $("#tip");
  const ROW = 22;
  const LABEL = 170;

  /** Rows: one per runner thread seen in the spans, runners in the table's order. */
  function rows() {
    const order = new Map((picture?.runners ?? []).map((r, i) => [r.address, i]));
    const keys = new Map();
    for (const s of spans) {
      const k = `${s[1]}|${s[2]}`;
      if (!keys.has(k)) keys.set(k, { runner: s[1], thread: s[2] });
    }
    return [...keys.values()].sort((a, b) => (order.get(a.runner) ?? 1e9) - (order.get(b.runner) ?? 1e9) || a.runner.localeCompare(b.runner) || a.thread - b.thread);
  }

  function drawStream() {
    if (picture === null) return;
    const rs = rows();
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = Math.max(ROW * rs.length + 24, 60);
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
      canvas.style.height = `${height}px`;
    }
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, height);
    g.font = "12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";
    g.textBaseline = "middle";
    const now = serverNow();
    const t0 = now - windowMs;
    const plot = Math.max(10, width - LABEL - 8);
    const x = (t) => LABEL + ((t - t0) / windowMs) * plot;
    const rowOf = new Map(rs.map((r, i) => [`${r.runner}|${r.thread}`, i]));
    // Row labels and stripes.
    rs.forEach((r, i) => {
      if (i % 2 === 1) { g.fillStyle = "#f2f4f7"; g.fillRect(0, i * ROW, width, ROW); }
      g.fillStyle = "#57606a";
      const label = `${r.runner} t${r.thread}`;
      g.fillText(label.length > 24 ? `…${label.slice(-23)}` : label, 6, i * ROW + ROW / 2);
    });
    // Time axis.
    const axisY = rs.length * ROW + 4;
    g.fillStyle = "#8c959f";
    g.textBaseline = "top";
    for (let k = 0; k <= 5; k++) {
      const t = t0 + (k * windowMs) / 5;
      g.fillRect(x(t), 0, 1, axisY);
      const label = k === 5 ? "now" : `-${Math.round((now - t) / 1000)} s`;
      g.fillText(label, Math.min(x(t) + 2, width - 30), axisY + 2);
    }
    g.textBaseline = "middle";
    boxes = [];
    for (const s of spans) {
      const end = s[4] + s[5];
      if (end < t0) continue;
      const row = rowOf.get(`${s[1]}|${s[2]}`);
      const x0 = Math.max(LABEL, x(s[4]));
      const w = Math.max(1.5, x(end) - x0);
      const y = row * ROW + 3;
      const h = ROW - 6;
      g.fillStyle = colour(s[3]);
      g.fillRect(x0, y, w, h);
      if (!s[6]) {
        g.strokeStyle = "#cf222e";
        g.lineWidth = 2;
        g.strokeRect(x0 + 1, y + 1, Math.max(0.5, w - 2), h - 2);
      }
      // The function's name on the bar where it fits (Ray's timeline left it out).
      const tw = g.measureText(s[3]).width;
      if (w > tw + 8) {
        g.fillStyle = LIGHT.has(colour(s[3])) ? "#1f2328" : "#fff";
        g.fillText(s[3], x0 + 4, y + h / 2);
      }
      boxes.push({ x: x0, y, w, h, span: s });
    }
    $("#stream-note").textContent = spans.length === 0 ? "Nothing has run since the dashboard started." : picture.droppedSpans + picture.skippedSpans > 0
      ? `${num(picture.droppedSpans + picture.skippedSpans)} spans left out to keep up (too many calls to draw each).` : "";
  }

  function spanAt(px, py) {
    for (let i = boxes.length - 1; i >= 0; i--) {
      const b = boxes[i];
      if (px >= b.x - 1 && px <= b.x + b.w + 1 && py >= b.y && py <= b.y + b.h) return b.span;
    }
    return undefined;
  }

  canvas.addEventListener("mousemove", (ev) => {
    const r = canvas.getBoundingClientRect();
    const px = ev.clientX - r.left;
    const py = ev.clientY - r.top;
    const s = spanAt(px, py);
    if (s === undefined) { tip.hidden = true; return; }
    tip.replaceChildren(el("b", {}, s[3]), `\n${s[1]} thread ${s[2]} · ${ms(s[5])} · ${clock(s[4])}`, s[6] ? "" : `\nfailed: ${s[7] ?? ""}`);
    tip.hidden = false;
    tip.style.left = `${Math.min(px + 12, r.width - 260)}px`;
    tip.style.top = `${py + 14}px`;
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
  $("#span-window").addEventListener("change", (ev) => { windowMs = Number(ev.target.value); drawStream(); });
  window.addEventListener("resize", drawStream);
  // Keep the stream moving between pictures.
  setInterval(() => { if (!document.hidden) drawStream(); }, 250);

  // ---- the feed

  const live = $("#live");
  function setLive(state, text) {
    live.dataset.state = state;
    live.textContent = text;
  }
  const events = new EventSource("/api/events");
  events.addEventListener("open", () => {
    // A new stream (the first, or after a reconnect) starts with every span in the window.
    spans = [];
    setLive("live", "live");
  });
  events.addEventListener("error", () => setLive("lost", "reconnecting…"));
  events.addEventListener("picture", (ev) => {
    setLive("live", "live");
    apply(JSON.parse(ev.data));
  });

  // For tests and the curious: what the page last drew (read-only copies).
  window.strandDashboard = {
    picture: () => structuredClone(picture),
    boxes: () => boxes.map((b) => ({ x: b.x, y: b.y, w: b.w, h: b.h, name: b.span[3], runner: b.span[1], thread: b.span[2] })),
  };
})();
