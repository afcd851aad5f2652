// appforge review: the few live parts of the pages. No framework, no inline script (the CSP
// allows scripts from this origin only). Every feature is found by a data- attribute.
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(url + " answered " + response.status);
    return response.json();
  }

  function nearBottom(el) {
    return el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  }

  // A running job: poll it, show its lines, reload when it ends (the page then shows the result).
  function followJob(panel) {
    const id = panel.dataset.job;
    const lines = $("[data-job-lines]", panel);
    const status = $("[data-job-status]", panel);
    const started = Date.now();
    async function tick() {
      let job;
      try {
        job = await getJSON("/jobs/" + encodeURIComponent(id));
      } catch (err) {
        status.textContent = "lost track of the job (" + err.message + ")";
        return;
      }
      const count = $("[data-job-count]", panel);
      if (count) count.textContent = "(" + job.lines.length + " lines)";
      if (lines) {
        const stick = nearBottom(lines);
        lines.textContent = job.lines.join("\n");
        if (stick) lines.scrollTop = lines.scrollHeight;
      }
      if (job.state === "running") {
        status.textContent = "running… " + Math.round((Date.now() - started) / 1000) + " s";
        setTimeout(tick, 1000);
        return;
      }
      const target = job.redirect || window.location.pathname;
      window.location.replace(target + "?job=" + encodeURIComponent(id));
    }
    setTimeout(tick, 600);
  }

  function formatBytes(n) {
    const units = ["B", "KiB", "MiB", "GiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + " " + units[i];
  }

  // Resource use of the live container, refreshed every 5 s.
  function watchStats(card) {
    const note = $("[data-stats-note]", card);
    const set = (name, text) => { const el = $('[data-stat="' + name + '"]', card); if (el) el.textContent = text; };
    async function tick() {
      try {
        const s = await getJSON(card.dataset.stats);
        if (s.available) {
          set("cpu", s.cpu_percent.toFixed(1) + " %");
          set("memory", formatBytes(s.memory_used));
          set("memory-limit", "of " + formatBytes(s.memory_limit));
          set("pids", String(s.pids));
          const gauge = $('[data-stat="memory-gauge"]', card);
          if (gauge && s.memory_limit) gauge.style.width = Math.min(100, 100 * s.memory_used / s.memory_limit).toFixed(1) + "%";
          note.textContent = "live";
        } else {
          note.textContent = s.reason;
        }
      } catch (err) {
        note.textContent = "unavailable";
      }
      if (!document.hidden) setTimeout(tick, 5000); else document.addEventListener("visibilitychange", tick, { once: true });
    }
    tick();
  }

  // The container's log, polled every 2 s while the page is visible and not paused.
  function watchLogs(card) {
    const text = $("[data-logs-text]", card);
    const reason = $("[data-logs-reason]", card);
    const state = $("[data-logs-state]", card);
    const pause = $("[data-logs-pause]", card);
    let paused = false;
    text.scrollTop = text.scrollHeight;
    pause.addEventListener("click", () => {
      paused = !paused;
      pause.lastChild.textContent = paused ? "Resume" : "Pause";
      state.textContent = paused ? "paused" : "live";
      state.classList.toggle("is-paused", paused);
      if (!paused) tick();
    });
    async function tick() {
      if (paused) return;
      try {
        const logs = await getJSON(card.dataset.logs);
        const stick = nearBottom(text);
        if (text.textContent !== logs.text) text.textContent = logs.text;
        if (stick) text.scrollTop = text.scrollHeight;
        reason.textContent = logs.reason;
        state.textContent = logs.available ? "live" : "waiting";
      } catch (err) {
        state.textContent = "offline";
      }
      setTimeout(tick, 2000);
    }
    setTimeout(tick, 2000);
  }

  // Destroy: the button works only once the app's name is typed.
  function guardDestroy(input) {
    const button = $("[data-confirm-button]", input.form);
    const update = () => { button.disabled = input.value.trim() !== input.dataset.confirm; };
    input.addEventListener("input", update);
    update();
  }

  // Buttons of long actions: no double submits.
  function oneSubmit(form) {
    form.addEventListener("submit", () => {
      $$("button[type=submit]", form).forEach((b) => { b.disabled = true; b.classList.add("is-working"); });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    $$("[data-job]").forEach(followJob);
    $$("[data-stats]").forEach(watchStats);
    $$("[data-logs]").forEach(watchLogs);
    $$("[data-confirm]").forEach(guardDestroy);
    $$("select[data-autosubmit]").forEach((s) => s.addEventListener("change", () => s.form.submit()));
    $$("form[method=post]").forEach(oneSubmit);
  });
})();
