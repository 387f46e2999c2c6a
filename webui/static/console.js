// Console behaviour: live regions refreshed on server-sent events, copy buttons, secret
// reveal, confirmations. No framework; every page works without it (forms post normally).
(function () {
  "use strict";
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  const status = () => document.getElementById("live-status");

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
    const response = await fetch(location.href, { headers: { "X-Live-Refresh": "1" } });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    regions.forEach((region) => {
      const replacement = fresh.getElementById(region.id);
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
      // "hello" also refreshes: it catches up on anything that changed while the page loaded.
      if (event.kind !== "keepalive") schedule();
    };
  }

  // ---- clicks: copy, reveal ------------------------------------------------------------
  async function copy(button) {
    const text = document.querySelector(button.dataset.copy).textContent;
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
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-copy], button[data-reveal]");
    if (!button) return;
    event.preventDefault();
    (button.dataset.copy ? copy : reveal)(button);
  });
  document.addEventListener("submit", (event) => {
    const message = event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  connect();
})();
