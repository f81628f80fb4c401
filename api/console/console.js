// The EROS console: logs an administrator in with the API's own login route, keeps the
// tokens in sessionStorage (gone with the tab), and polls the admin routes every few
// seconds. Every figure comes from /api/v1 with the bearer token; the page holds none.
// Charts are plain SVG; data goes into the page as text, never as markup.
"use strict";

(function () {
  const API = "/api/v1";
  const POLL_MS = 2000;
  const QUALITY_POLL_MS = 60000;
  const HISTORY_MINUTES = 180;
  const TOKEN_KEY = "eros.console.accessToken";
  const REFRESH_KEY = "eros.console.refreshToken";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PHASE_NAMES = ["active", "phase 1", "phase 2", "phase 3"];
  const PHASE_COLOURS = ["var(--p0)", "var(--p1)", "var(--p2)", "var(--p3)"];
  const MS_PER_MINUTE = 60000;

  const $ = (id) => document.getElementById(id);
  let timer = null;
  let lastQualityAt = 0;

  class AuthError extends Error {}
  class ForbiddenError extends Error {}

  // --- Tokens and requests ------------------------------------------------------------

  function saveTokens(body) {
    sessionStorage.setItem(TOKEN_KEY, body.accessToken);
    sessionStorage.setItem(REFRESH_KEY, body.refreshToken);
  }

  function clearTokens() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(REFRESH_KEY);
  }

  async function post(path, body) {
    return fetch(API + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  async function refresh() {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (!refreshToken) return false;
    const response = await post("/auth/refresh", { refreshToken });
    if (!response.ok) return false;
    saveTokens(await response.json());
    return true;
  }

  async function getJSON(path, retried) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) throw new AuthError("not logged in");
    const response = await fetch(API + path, { headers: { Authorization: "Bearer " + token } });
    if (response.status === 401) {
      // Access tokens live minutes; the refresh token rotates them without a new login.
      if (!retried && (await refresh())) return getJSON(path, true);
      throw new AuthError("the login expired");
    }
    if (response.status === 403) throw new ForbiddenError("not an administrator");
    if (!response.ok) {
      let message = response.statusText;
      try { message = (await response.json()).message || message; } catch (e) { /* not JSON */ }
      throw new Error(path + ": " + message);
    }
    return response.json();
  }

  // --- Formatting ---------------------------------------------------------------------

  function clockTime(ms) {
    return new Date(ms).toISOString().slice(11, 16);
  }

  function duration(ms) {
    if (ms === null || ms === undefined) return "—";
    if (ms < 1000) return ms + " ms";
    if (ms < 120000) return (ms / 1000).toFixed(1) + " s";
    return Math.round(ms / MS_PER_MINUTE) + " min";
  }

  function setText(id, text) {
    $(id).textContent = text;
  }

  function cell(row, text, numeric) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "—" : String(text);
    if (numeric) td.className = "num";
    row.appendChild(td);
    return td;
  }

  function fillRows(tableId, rows) {
    const body = $(tableId).querySelector("tbody");
    body.replaceChildren();
    for (const values of rows) {
      const row = document.createElement("tr");
      values.forEach((value, i) => cell(row, value, i > 0 && typeof value === "number"));
      body.appendChild(row);
    }
    return body;
  }

  // --- Charts -------------------------------------------------------------------------

  function svg(tag, attributes, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Lines of `series` ([{colour, points: [[ms, value]]}]) over [start, end] in `chart`.
  function lineChart(chart, series, start, end) {
    const [width, height] = [600, 200];
    const pad = { left: 36, right: 8, top: 8, bottom: 18 };
    const top = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[1])));
    const x = (ms) => pad.left + ((ms - start) / Math.max(1, end - start)) * (width - pad.left - pad.right);
    const y = (v) => height - pad.bottom - (v / top) * (height - pad.top - pad.bottom);
    chart.replaceChildren(
      svg("line", { class: "axis", x1: pad.left, y1: y(0), x2: width - pad.right, y2: y(0) }),
      svg("line", { class: "axis", x1: pad.left, y1: pad.top, x2: pad.left, y2: y(0) }),
      svg("text", { x: 2, y: pad.top + 10 }, String(top)),
      svg("text", { x: 2, y: y(0) }, "0"),
      svg("text", { x: pad.left, y: height - 4 }, clockTime(start)),
      svg("text", { x: width - pad.right - 30, y: height - 4 }, clockTime(end)),
    );
    for (const s of series) {
      if (!s.points.length) continue;
      const d = s.points.map((p, i) => (i ? "L" : "M") + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1)).join(" ");
      chart.appendChild(svg("path", { d, fill: "none", stroke: s.colour, "stroke-width": 2, "data-series": s.name }));
      const [lastX, lastY] = s.points[s.points.length - 1];
      chart.appendChild(svg("circle", { cx: x(lastX), cy: y(lastY), r: 3, fill: s.colour }));
    }
  }

  function barChart(chart, points, start, end) {
    const [width, height] = [600, 120];
    const pad = { left: 36, right: 8, top: 8, bottom: 18 };
    const top = Math.max(1, ...points.map((p) => p[1]));
    const slots = Math.max(1, Math.round((end - start) / MS_PER_MINUTE) + 1);
    const slot = (width - pad.left - pad.right) / slots;
    const base = height - pad.bottom;
    chart.replaceChildren(
      svg("line", { class: "axis", x1: pad.left, y1: base, x2: width - pad.right, y2: base }),
      svg("text", { x: 2, y: pad.top + 10 }, String(top)),
      svg("text", { x: 2, y: base }, "0"),
      svg("text", { x: pad.left, y: height - 4 }, clockTime(start)),
      svg("text", { x: width - pad.right - 30, y: height - 4 }, clockTime(end)),
    );
    for (const [ms, value] of points) {
      if (!value) continue;
      const h = (value / top) * (base - pad.top);
      const left = pad.left + Math.round((ms - start) / MS_PER_MINUTE) * slot;
      chart.appendChild(svg("rect", {
        x: left.toFixed(1), y: (base - h).toFixed(1), width: Math.max(1, slot - 1).toFixed(1),
        height: h.toFixed(1), fill: "var(--accent)", "data-halts": value,
      }));
    }
  }

  function legend(id, names, colours, values) {
    const box = $(id);
    box.replaceChildren();
    names.forEach((name, i) => {
      const item = document.createElement("span");
      item.style.setProperty("--swatch", colours[i]);
      item.textContent = values ? name + ": " + values[i] : name;
      box.appendChild(item);
    });
  }

  // --- Panels -------------------------------------------------------------------------

  function renderUsers(history, stats) {
    const now = stats.timestamp;
    const start = now - HISTORY_MINUTES * MS_PER_MINUTE;
    const live = [stats.active, stats.phase1, stats.phase2, stats.phase3];
    const series = PHASE_NAMES.map((name, i) => ({
      name,
      colour: PHASE_COLOURS[i],
      // The minute samples, then the live count, so the line ends at "now".
      points: history.samples.map((s) => [s.at, s.users[i]]).concat([[now, live[i]]]),
    }));
    lineChart($("users-chart"), series, Math.min(start, ...series[0].points.map((p) => p[0])), now);
    legend("users-legend", PHASE_NAMES, PHASE_COLOURS, live);
    setText("users-now", stats.total + " users tracked; thresholds " +
      stats.thresholdsSeconds.map((s) => s / 60 + " min").join(" / "));
  }

  function renderWorkers(status, planResponse) {
    const plan = planResponse.plan;
    const rows = status.phases.map((phase, i) => {
      const p = plan && plan.phases[i];
      return [phase.phase, p ? p.desired : null, p ? p.ready : null, p ? p.budget : null,
        phase.workers, p ? p.cpuAllocated : null, p ? p.reason : null];
    });
    const body = fillRows("workers", rows);
    body.querySelectorAll("tr").forEach((row, i) => {
      const p = plan && plan.phases[i];
      row.dataset.phase = String(status.phases[i].phase);
      if (p && p.desired >= p.budget && p.budget > 0) row.cells[3].classList.add("over");
    });
    const bar = $("pool-bar");
    if (!plan) {
      setText("plan-summary", "No operator has published a plan yet (is `eros operator` running?).");
      bar.replaceChildren();
      return;
    }
    const age = status.timestamp - plan.at;
    setText("plan-summary", "Plan of " + plan.source + ", generation " + (plan.generation ?? "—") +
      ", " + duration(Math.max(0, age)) + " ago; pool " + plan.cpuPool + " (" +
      plan.usableMillicores + "m usable)" + (plan.degraded ? "; degraded: " + plan.degraded : ""));
    // The pool bar: each phase's allocated CPU, against the usable pool.
    const millicores = (q) => (q.endsWith("m") ? parseFloat(q) : parseFloat(q) * 1000) || 0;
    const total = Math.max(1, plan.cpuPoolMillicores);
    let left = 0;
    const parts = [svg("rect", { x: 0, y: 2, width: 600 * plan.usableMillicores / total, height: 20, fill: "var(--line)" })];
    plan.phases.forEach((p, i) => {
      const w = (600 * millicores(p.cpuAllocated)) / total;
      parts.push(svg("rect", { x: left, y: 2, width: w, height: 20, fill: PHASE_COLOURS[i + 1] }));
      left += w;
    });
    // The caption sits right of the allocated part, so it never covers it.
    const caption = Math.round((100 * left) / 600) + "% of the pool allocated";
    parts.push(svg("text", { x: Math.min(left + 4, 420), y: 16 }, caption));
    bar.replaceChildren(...parts);
  }

  function renderQueues(status) {
    fillRows("queues", status.phases.map((p) => [p.phase, p.queue, p.queued, p.running, duration(p.lagMs)]));
  }

  function renderScheduler(status) {
    const s = status.scheduler;
    setText("leader", s.leader ? s.leader + " (lease " + duration(s.leaseExpiresInMs) + ")" : "none");
    setText("last-tick", s.lastTickAt ? clockTime(s.lastTickAt) + " UTC, took " +
      (s.lastTickSeconds * 1000).toFixed(1) + " ms" : "—");
    setText("config", status.config.source + " generation " + (status.config.generation ?? "—") +
      (status.config.paused ? " (paused)" : ""));
    setText("model", status.model ? "v" + status.model.version + (status.model.inUse ? "" : " (not in use)") +
      ", " + status.model.examples + " examples" : "not fitted yet");
  }

  function renderHalts(history, status) {
    const now = status.timestamp;
    const start = now - HISTORY_MINUTES * MS_PER_MINUTE;
    barChart($("halts-chart"), history.samples.map((s) => [s.at, s.halts]), start, now);
    const latest = history.samples[history.samples.length - 1];
    const l = latest ? latest.haltLatencyMs : null;
    setText("halt-latency", l && l.p50 !== null
      ? "Running jobs' halt latency in the last sampled minute: p50 " + duration(l.p50) +
        ", p95 " + duration(l.p95) + ", p99 " + duration(l.p99)
      : "No running job was halted in the last sampled minute (queued jobs halt at once).");
    const list = $("recent-halts");
    list.replaceChildren();
    for (const halt of status.recentHalts) {
      const item = document.createElement("li");
      item.textContent = clockTime(halt.receivedAt) + " phase " + (halt.phase ?? "?") + " " +
        halt.state + " job of user " + (halt.userId || "?").slice(0, 8);
      list.appendChild(item);
    }
  }

  async function renderQuality(now) {
    if (now - lastQualityAt < QUALITY_POLL_MS) return;
    const quality = await getJSON("/eros/quality?days=7");
    lastQualityAt = now;
    setText("precision", quality.precisionAt10 === null || quality.precisionAt10 === undefined
      ? "no daily matches delivered yet"
      : (100 * quality.precisionAt10).toFixed(1) + "% of " + quality.delivered + " delivered");
  }

  // --- The loop -----------------------------------------------------------------------

  function showLogin(message) {
    if (timer) clearTimeout(timer);
    timer = null;
    $("dashboard").hidden = true;
    $("logout").hidden = true;
    $("login").hidden = false;
    setText("login-error", message || "");
    setText("connection", "");
  }

  async function poll() {
    timer = null;
    try {
      const [status, history, plan, stats] = await Promise.all([
        getJSON("/eros/status"),
        getJSON("/eros/history?minutes=" + HISTORY_MINUTES),
        getJSON("/eros/plan"),
        getJSON("/activity/stats"),
      ]);
      $("login").hidden = true;
      $("dashboard").hidden = false;
      $("logout").hidden = false;
      renderUsers(history, stats);
      renderWorkers(status, plan);
      renderQueues(status);
      renderScheduler(status);
      renderHalts(history, status);
      setText("connection", "updated " + clockTime(status.timestamp) + " UTC");
      document.body.dataset.updatedAt = String(status.timestamp);
      await renderQuality(Date.now());
    } catch (error) {
      if (error instanceof AuthError) { clearTokens(); showLogin("Please log in again: " + error.message + "."); return; }
      if (error instanceof ForbiddenError) { clearTokens(); showLogin("This account is not an administrator."); return; }
      setText("connection", "cannot reach the API: " + error.message);
    }
    timer = setTimeout(poll, POLL_MS);
  }

  async function login(event) {
    event.preventDefault();
    setText("login-error", "");
    try {
      const response = await post("/auth/login", { email: $("email").value, password: $("password").value });
      const body = await response.json();
      if (!response.ok) { setText("login-error", body.message || "Login failed."); return; }
      if (body.user.role !== "admin") { setText("login-error", "This account is not an administrator."); return; }
      saveTokens(body);
      $("password").value = "";
      await poll();
    } catch (error) {
      setText("login-error", "Cannot reach the API: " + error.message);
    }
  }

  async function logout() {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    clearTokens();
    showLogin("Logged out.");
    if (refreshToken) await post("/auth/logout", { refreshToken }).catch(() => undefined);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", logout);
    if (sessionStorage.getItem(TOKEN_KEY)) poll();
  });
})();
