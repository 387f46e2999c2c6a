// Console behaviour: live regions refreshed on server-sent events, copy buttons, secret
// reveal, confirmations. No framework; every page works without it (forms post normally).
(function () {
  "use strict";
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  const status = () => document.getElementById("live-status");
  // The address of the page shown. After a form posted with an error the browser is still on
  // the form's POST address: take the page's own back, so reloads and refreshes ask for the page.
  const pageUrl = document.querySelector('meta[name="page-url"]')?.content || location.pathname + location.search;
  if (pageUrl !== location.pathname + location.search) history.replaceState(null, "", pageUrl);

  // ---- live regions --------------------------------------------------------------------
  let pending = null;
  function editing(region) {
    const active = document.activeElement;
    return active && region.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
  }
  async function refresh() {
    pending = null;
    const regions = document.querySelectorAll("[data-live][id]");
    if (!regions.length) return;
    let response;
    try {
      response = await fetch(location.href, { headers: { "X-Live-Refresh": "1" } });
    } catch (error) {
      return;  // the emulator is away: the event stream says so and reconnects
    }
    if (!response.ok) {
      status().textContent = `live updates paused: this page answered HTTP ${response.status}`;
      status().classList.remove("on");
      return;
    }
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    regions.forEach((region) => {
      const replacement = fresh.getElementById(region.id);
      // What the user asked for on this page (a freshly signed command) survives the refresh.
      region.querySelectorAll("[data-keep][id]").forEach((kept) => {
        const twin = replacement && replacement.querySelector("#" + CSS.escape(kept.id));
        if (twin) { twin.textContent = kept.textContent; twin.hidden = kept.hidden; }
      });
      if (replacement && !editing(region) && replacement.innerHTML !== region.innerHTML) {
        region.innerHTML = replacement.innerHTML;
      }
    });
    document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
  }
  function schedule() {
    if (!pending) pending = setTimeout(refresh, 150);
  }
  function connect() {
    if (!window.EventSource) return;
    const source = new EventSource("/events");
    source.onopen = () => { status().textContent = "live"; status().classList.add("on"); };
    source.onerror = () => { status().textContent = "live updates reconnecting…"; status().classList.remove("on"); };
    source.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.kind === "progress") return showProgress(event.ref);
      if (event.kind === "clock" && event.ref) clockMoved(event.ref);
      // "hello" also refreshes: it catches up on anything that changed while the page loaded.
      if (event.kind !== "keepalive") schedule();
    };
  }

  // ---- long actions: advance the clock, run a scenario ------------------------------------
  // A form marked data-long shows what is going on while its request runs: the elapsed time,
  // the emulator clock moving towards its target, and the steps the server reports.
  let running = null;
  const UNIT_MS = { minutes: 60e3, hours: 3600e3, days: 86400e3 };
  const parseUtc = (text) => Date.parse(text.trim().replace(" ", "T").replace(/Z?$/, "Z"));
  function startLong(form, submitter) {
    const box = form.closest(".long-action") || form;
    const progress = box.querySelector(".progress");
    if (!progress) return;
    const from = parseUtc(document.getElementById("clock-now").textContent);
    const amount = Number(submitter?.value || form.elements.amount?.value || 0);
    const unit = form.elements.unit?.value || "hours";
    const to = form.elements.to?.value ? parseUtc(form.elements.to.value) : from + amount * (UNIT_MS[unit] || 0);
    box.classList.add("running");
    running = { box, from, to, started: Date.now() };
    running.timer = setInterval(() => {
      const seconds = Math.round((Date.now() - running.started) / 1000);
      box.querySelector(".elapsed").textContent = `${seconds} s`;
    }, 500);
    // No second action meanwhile. Disabled after the submit has been collected, so that the
    // button's own value still goes.
    setTimeout(() => box.querySelectorAll("button").forEach((b) => { b.disabled = true; }), 0);
  }
  function clockMoved(iso) {
    const now = document.getElementById("clock-now");
    if (now) now.textContent = iso.replace("T", " ").replace(/Z$/, "");
    if (!running || !(running.to > running.from)) return;
    const bar = running.box.querySelector("progress");
    if (bar) bar.value = Math.min(1, Math.max(0, (parseUtc(iso) - running.from) / (running.to - running.from)));
  }
  function showProgress(text) {
    if (running) running.box.querySelector(".step").textContent = text || "";
  }

  // ---- clicks: copy, reveal, freshly signed curl --------------------------------------------
  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (error) {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
  }
  async function copy(button) {
    await copyText(document.querySelector(button.dataset.copy).textContent);
    button.dataset.copied = "1";
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  }
  async function reveal(button) {
    const response = await fetch(button.dataset.reveal, { method: "POST", headers: { "X-CSRF-Token": csrf() } });
    if (!response.ok) return;
    const secrets = await response.json();
    const target = document.getElementById("secret-" + button.dataset.field);
    target.textContent = secrets[button.dataset.field];
    target.classList.add("revealed");
    button.remove();
  }
  async function freshCurl(button) {
    const target = document.querySelector(button.dataset.target);
    const response = await fetch(button.dataset.freshCurl, { method: "POST", headers: { "X-CSRF-Token": csrf() } });
    const text = await response.text();
    if (response.ok) await copyText(text);  // on the clipboard before it shows
    target.textContent = text;
    target.hidden = false;
    button.dataset.signed = response.ok ? "1" : "0";
    button.textContent = response.ok ? "Signed now, copied (valid 60 s)" : "Could not sign";
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-copy], button[data-reveal], button[data-fresh-curl]");
    if (!button) return;
    event.preventDefault();
    if (button.dataset.freshCurl) return freshCurl(button);
    (button.dataset.copy ? copy : reveal)(button);
  });
  document.addEventListener("submit", (event) => {
    const message = event.target.dataset.confirm;
    if (message && !window.confirm(message)) return event.preventDefault();
    if (event.target.dataset.long !== undefined) startLong(event.target, event.submitter);
  });

  connect();
})();
