// The operator dashboard: plain browser JavaScript, no build step, no framework. It renders from
// the admin API only (/sandbox/*, /admin/api/*), sending the admin token kept in sessionStorage as
// a bearer token; the page itself holds nothing secret. DOM is built with createElement and
// textContent (never innerHTML), so message text and file contents cannot inject markup.
(() => {
  "use strict";

  const TOKEN_KEY = "concierge.adminToken";
  const app = document.getElementById("app");
  const nav = document.getElementById("nav");
  const toastEl = document.getElementById("toast");
  /** Bumped on every route change: pollers and late answers of an old page stop. */
  let generation = 0;

  // ---------- small helpers ----------

  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
    return el;
  }
  const $ = (sel, root) => (root || document).querySelector(sel);
  const render = (...nodes) => app.replaceChildren(...nodes);

  function toast(text, kind) {
    toastEl.textContent = text;
    toastEl.className = kind || "info";
    toastEl.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => (toastEl.hidden = true), 4000);
  }

  function ago(iso) {
    if (!iso) return "—";
    const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.round(s / 60)} min ago`;
    if (s < 86400) return `${Math.round(s / 3600)} h ago`;
    return `${Math.round(s / 86400)} d ago`;
  }
  const time = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const mib = (bytes) => (bytes === null || bytes === undefined ? "—" : `${(bytes / 1048576).toFixed(1)} MiB`);
  const usd = (n) => `$${(Number(n) || 0).toFixed(2)}`;
  const who = (u) => u.name || (u.phone ? `+${u.phone}` : u.userId);
  const stateBadge = (state) => h("span", { class: `badge state-${state || "none"}`, "data-testid": "state" }, state || "no sandbox");

  // ---------- API ----------

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, body, opts = {}) {
    const headers = { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ""}` };
    if (opts.accept) headers.accept = opts.accept;
    let payload;
    if (typeof body === "string") {
      headers["content-type"] = "text/plain; charset=utf-8";
      payload = body;
    } else if (body !== undefined) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const res = await fetch(path, { method, headers, body: payload, cache: "no-store" });
    if (res.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin("The admin token was refused. Sign in again.");
      throw new ApiError(401, "unauthorized", "unauthorized");
    }
    if (!res.ok) {
      let code = "error";
      let message = res.statusText;
      try {
        const j = await res.json();
        code = (j.error && j.error.code) || code;
        message = (j.error && j.error.message) || message;
      } catch (_) {
        /* not JSON */
      }
      throw new ApiError(res.status, code, message);
    }
    return opts.text ? res.text() : res.json();
  }

  /** Runs fn now and every ms while this page is shown; failures show in `line`, never stop it. */
  function every(ms, fn, line) {
    const gen = generation;
    const tick = async () => {
      if (gen !== generation) return;
      try {
        await fn();
        if (line) line.textContent = "";
      } catch (err) {
        if (gen !== generation || err.status === 401) return;
        if (line) line.textContent = `Could not refresh: ${err.message}`;
      }
      if (gen === generation) setTimeout(tick, ms);
    };
    void tick();
  }

  /** Wraps a button's action: disabled while it runs, its error shown as a toast. */
  function action(button, label, fn) {
    return async () => {
      const old = button.textContent;
      button.disabled = true;
      button.textContent = label;
      try {
        await fn();
      } catch (err) {
        if (err.status !== 401) toast(err.message, "error");
      } finally {
        button.disabled = false;
        button.textContent = old;
      }
    };
  }

  // ---------- login ----------

  function showLogin(message) {
    generation++;
    nav.hidden = true;
    const input = h("input", { type: "password", id: "token", autocomplete: "current-password", required: true, placeholder: "adm_…", "data-testid": "token-input" });
    const error = h("p", { class: "error", "data-testid": "login-error", text: message || "" });
    const form = h(
      "form",
      { class: "card login", "data-testid": "login-form" },
      h("h1", {}, "Sign in"),
      h("p", {}, "Paste the admin token (ADMIN_TOKEN, or the one ", h("code", {}, "npm start"), " printed). It is kept in this tab only."),
      h("label", { for: "token" }, "Admin token"),
      input,
      h("button", { type: "submit", "data-testid": "login" }, "Sign in"),
      error,
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      try {
        await api("GET", "/sandbox");
        route();
      } catch (err) {
        if (err.status !== 401) error.textContent = err.message;
      }
    });
    render(form);
    input.focus();
  }

  // ---------- sandboxes ----------

  function sandboxesPage() {
    const body = h("tbody", { "data-testid": "sandbox-rows" });
    const line = h("p", { class: "muted" });
    render(
      h(
        "section",
        {},
        h("div", { class: "row" }, h("h1", {}, "Sandboxes"), h("a", { class: "button", href: "#/console" }, "New test chat")),
        h(
          "table",
          { class: "grid", "data-testid": "sandboxes" },
          h("thead", {}, h("tr", {}, ["User", "State", "Image", "Last activity", "Memory", "LLM spend (month)"].map((t) => h("th", {}, t)))),
          body,
        ),
        line,
      ),
    );
    every(
      3000,
      async () => {
        const [list, usage] = await Promise.all([api("GET", "/sandbox"), api("GET", "/sandbox/usage").catch(() => ({ users: [] }))]);
        const spend = new Map(usage.users.map((u) => [u.userId, u]));
        if (list.sandboxes.length === 0) {
          body.replaceChildren(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No sandboxes yet. Start a test chat: the first message creates the user and their sandbox.")));
          return;
        }
        body.replaceChildren(
          ...list.sandboxes.map((u) => {
            const s = u.sandbox || {};
            const cost = spend.get(u.userId);
            return h(
              "tr",
              { "data-testid": "sandbox-row", "data-user": u.userId },
              h("td", {}, h("a", { href: `#/users/${encodeURIComponent(u.userId)}` }, who(u)), h("div", { class: "muted small" }, `${u.name && u.phone ? `+${u.phone} · ` : ""}${u.userId}`)),
              h("td", {}, stateBadge(s.state), s.error ? h("div", { class: "error small" }, s.error) : null),
              h("td", { class: "small" }, s.image || "—"),
              h("td", { title: s.lastActivityAt || "" }, ago(s.lastActivityAt)),
              h("td", {}, mib(s.memoryBytes)),
              h("td", {}, cost ? `${usd(cost.costUsd)} of ${usd(cost.budget && cost.budget.monthlyUsd)}` : usd(0)),
            );
          }),
        );
      },
      line,
    );
  }

  // ---------- one user ----------

  function userPage(userId) {
    const base = `/sandbox/${encodeURIComponent(userId)}`;
    const title = h("h1", {}, userId);
    const state = h("span", {}, stateBadge(null));
    const facts = h("p", { class: "muted" });
    const chatLink = h("a", { class: "button", hidden: true, "data-testid": "chat-as-user" }, "Chat as this user");
    const line = h("p", { class: "muted" });
    const buttons = {};
    for (const [name, label, busy] of [["start", "Start", "Starting…"], ["stop", "Stop", "Stopping…"], ["restart", "Restart", "Restarting…"]]) {
      const b = h("button", { type: "button", "data-testid": `action-${name}` }, label);
      b.addEventListener("click", action(b, busy, async () => {
        const view = await api("POST", `${base}/${name}`);
        showSandbox(view);
        toast(`${label}: ${view.sandbox ? view.sandbox.state : "done"}`);
        if (name !== "stop" && !filesLoaded) await loadFiles();
      }));
      buttons[name] = b;
    }
    const del = h("button", { type: "button", class: "danger", "data-testid": "action-delete" }, "Delete…");
    const confirmBox = deletePanel(userId, base);
    del.addEventListener("click", () => (confirmBox.hidden = !confirmBox.hidden));

    const timeline = h("ol", { class: "timeline", "data-testid": "timeline" });
    const files = h("div", { class: "files", "data-testid": "ws-files" });
    const editor = h("div", { class: "editor" });
    const logs = h("pre", { class: "logs", "data-testid": "logs" }, "…");
    const usage = h("dl", { class: "usage", "data-testid": "usage" });
    let filesLoaded = false;
    let running = false;

    function showSandbox(view) {
      title.textContent = who(view);
      const s = view.sandbox;
      running = !!s && s.state === "running";
      state.replaceChildren(stateBadge(s && s.state));
      facts.textContent = s
        ? `${s.runtime} · ${s.image || "no image"} · last activity ${ago(s.lastActivityAt)} · memory ${mib(s.memoryBytes)}${s.error ? ` · error: ${s.error}` : ""}`
        : "No sandbox yet: the next message creates it.";
      if (view.phone) {
        chatLink.href = `#/console/${view.phone}`;
        chatLink.hidden = false;
      }
    }

    async function loadFiles() {
      files.replaceChildren(h("span", { class: "muted" }, "Loading files…"));
      const list = await api("GET", `/sandbox/users/${encodeURIComponent(userId)}/workspace`);
      filesLoaded = true;
      files.replaceChildren(
        ...list.files.map((f) => {
          const b = h("button", { type: "button", class: "file", "data-testid": "ws-file", "data-path": f.path }, f.path, h("span", { class: "muted small" }, ` ${f.bytes} B`));
          b.addEventListener("click", action(b, "Opening…", () => openFile(f.path)));
          return b;
        }),
      );
    }

    const filePath = (p) => `${base}/workspace/${p.split("/").map(encodeURIComponent).join("/")}`;
    async function openFile(path) {
      const content = await api("GET", filePath(path), undefined, { accept: "text/plain", text: true });
      const area = h("textarea", { spellcheck: "false", "data-testid": "ws-editor", "data-path": path });
      area.value = content;
      const status = h("span", { class: "muted", "data-testid": "ws-status" });
      const save = h("button", { type: "button", "data-testid": "ws-save" }, "Save");
      save.addEventListener("click", action(save, "Saving…", async () => {
        const written = await api("PUT", filePath(path), area.value);
        // Read back from the agent: what is shown is what the workspace holds.
        area.value = await api("GET", filePath(path), undefined, { accept: "text/plain", text: true });
        status.textContent = `Saved ${written.bytes} bytes at ${time(new Date().toISOString())}`;
      }));
      editor.replaceChildren(h("div", { class: "row" }, h("h3", {}, path), save, status), area);
    }

    render(
      h(
        "section",
        {},
        h("p", {}, h("a", { href: "#/" }, "← Sandboxes")),
        h("div", { class: "row" }, title, state, chatLink),
        facts,
        h("div", { class: "row actions" }, buttons.start, buttons.stop, buttons.restart, del),
        confirmBox,
        line,
        h(
          "div",
          { class: "columns" },
          h("div", { class: "card" }, h("h2", {}, "Messages"), timeline),
          h(
            "div",
            {},
            h("div", { class: "card" }, h("h2", {}, "Workspace"), files, editor),
            h("div", { class: "card" }, h("h2", {}, "Usage this month"), usage),
            h("div", { class: "card" }, h("h2", {}, "Container log"), logs),
          ),
        ),
      ),
    );

    const gen = generation;
    files.replaceChildren(h("button", { type: "button", "data-testid": "ws-load" }, "Open the workspace (starts the sandbox)"));
    files.firstChild.addEventListener("click", action(files.firstChild, "Starting…", loadFiles));

    every(3000, async () => {
      const view = await api("GET", base).catch((err) => {
        if (err.status === 404) {
          generation++;
          render(h("section", { class: "card" }, h("p", {}, "This user no longer exists. "), h("a", { href: "#/" }, "Back to sandboxes")));
        }
        throw err;
      });
      showSandbox(view);
      // The files come from the agent; opening them wakes a stopped sandbox, so only when it runs.
      if (running && !filesLoaded && gen === generation) await loadFiles();
    }, line);
    every(3000, async () => {
      const t = await api("GET", `/sandbox/users/${encodeURIComponent(userId)}/messages?limit=200`);
      timeline.replaceChildren(...(t.entries.length ? t.entries.map(timelineEntry) : [h("li", { class: "muted" }, "No messages yet.")]));
    }, line);
    every(5000, async () => {
      logs.textContent = (await api("GET", `${base}/logs?tail=200`, undefined, { text: true })) || "(no output)";
    });
    every(15000, async () => {
      const u = await api("GET", `${base}/usage`);
      const t = u.usage.totals;
      const b = u.usage.budget;
      usage.replaceChildren(
        ...[["Spent", `${usd(t.costUsd)} of ${usd(b.monthlyUsd)}${b.overBudget ? " (over budget)" : ""}`], ["Requests", t.requests], ["Tokens in / out", `${t.promptTokens} / ${t.completionTokens}`], ["Refused / errors", `${t.rejected} / ${t.errors}`]].flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]),
      );
    });
  }

  function timelineEntry(e) {
    const turn = e.turn && e.kind === "message" ? ` · turn ${e.turn.status}${e.turn.attempts > 1 ? ` after ${e.turn.attempts} attempts` : ""}` : "";
    return h(
      "li",
      { class: `entry ${e.kind} ${e.direction}`, "data-testid": `timeline-${e.direction}`, "data-status": e.status },
      h("div", { class: "meta" }, `${time(e.at)} · ${e.channel} · ${e.kind === "event" ? "event" : e.direction === "in" ? "from user" : "to user"} · `, h("strong", {}, e.status), turn),
      h("div", { class: "text" }, e.text),
      e.error || (e.turn && e.turn.lastError) ? h("div", { class: "error small" }, e.error || e.turn.lastError) : null,
    );
  }

  function deletePanel(userId, base) {
    const exportBox = h("input", { type: "checkbox", id: "export", checked: true, "data-testid": "delete-export" });
    const go = h("button", { type: "button", class: "danger", "data-testid": "delete-confirm" }, "Delete user, sandbox and data");
    go.addEventListener("click", action(go, "Deleting…", async () => {
      const result = await api("DELETE", `${base}?export=${exportBox.checked}`);
      if (result.export) {
        const blob = new Blob([JSON.stringify(result.export, null, 2)], { type: "application/json" });
        const a = h("a", { href: URL.createObjectURL(blob), download: `concierge-export-${userId}.json` });
        document.body.append(a);
        a.click();
        a.remove();
      }
      toast("Deleted.");
      location.hash = "#/";
    }));
    return h("div", { class: "card warn", hidden: true }, h("p", {}, "This removes the container, the user's volume (their database and workspace) and their rows. It cannot be undone."), h("label", {}, exportBox, " Download an export of their data first"), go);
  }

  // ---------- chat console ----------

  function consolePage(phone) {
    const list = h("ul", { class: "people", "data-testid": "console-users" });
    const phoneInput = h("input", { type: "tel", placeholder: "+15550100123", required: true, "data-testid": "console-phone", "aria-label": "Phone number" });
    const nameInput = h("input", { type: "text", placeholder: "Name (optional)", "data-testid": "console-name", "aria-label": "Name" });
    const open = h("form", { class: "stack" }, h("h3", {}, "New test user"), phoneInput, nameInput, h("button", { type: "submit", "data-testid": "console-open" }, "Open chat"));
    open.addEventListener("submit", (e) => {
      e.preventDefault();
      const digits = phoneInput.value.replace(/[^0-9]/g, "");
      if (digits.length < 6) return toast("Enter a phone number in international form.", "error");
      if (nameInput.value.trim()) sessionStorage.setItem(`concierge.name.${digits}`, nameInput.value.trim());
      location.hash = `#/console/${digits}`;
    });
    const chat = h("div", { class: "chat card" });
    const line = h("p", { class: "muted" });
    render(h("section", {}, h("h1", {}, "Chat console"), h("p", { class: "muted", "data-testid": "console-about" }, "Loading…"), line, h("div", { class: "console" }, h("div", { class: "card" }, h("h3", {}, "Test users"), list, open), chat)));

    api("GET", "/admin/api/console").then((c) => {
      $("[data-testid=console-about]").textContent = c.enabled
        ? `You are the user's phone. Messages go to the business number +${c.businessNumber} as signed WhatsApp webhooks; replies arrive through the local Graph API sink.`
        : c.reason;
    }, () => undefined);

    let userLink = null;
    const loadPeople = async () => {
      const all = await api("GET", "/sandbox");
      const me = all.sandboxes.find((u) => u.phone === phone);
      if (me && userLink) {
        userLink.href = `#/users/${encodeURIComponent(me.userId)}`;
        userLink.hidden = false;
      }
      list.replaceChildren(
        ...all.sandboxes.filter((u) => u.phone).map((u) => h("li", {}, h("a", { href: `#/console/${u.phone}`, class: u.phone === phone ? "current" : "" }, who(u)), " ", stateBadge(u.sandbox && u.sandbox.state))),
      );
    };
    every(5000, loadPeople, line);

    if (!phone) {
      chat.replaceChildren(h("p", { class: "muted" }, "Pick a test user, or open a chat with a new number: the first message creates the user and their sandbox."));
      return;
    }
    const thread = h("ol", { class: "thread", "data-testid": "chat-messages" });
    const typing = h("p", { class: "muted small", "data-testid": "chat-typing", hidden: true }, "typing…");
    const input = h("input", { type: "text", placeholder: "Message", autocomplete: "off", "data-testid": "chat-input", "aria-label": "Message" });
    const send = h("button", { type: "submit", "data-testid": "chat-send" }, "Send");
    userLink = h("a", { hidden: true, "data-testid": "chat-user-link" }, "User page");
    const form = h("form", { class: "compose" }, input, send);
    chat.replaceChildren(h("div", { class: "row" }, h("h2", {}, `+${phone}`), userLink), thread, typing, form);

    const refresh = async () => {
      const c = await api("GET", `/admin/api/console/chats/${phone}`);
      const atBottom = thread.scrollTop + thread.clientHeight >= thread.scrollHeight - 10;
      thread.replaceChildren(
        ...c.messages.map((m) =>
          h(
            "li",
            { class: `bubble ${m.direction === "in" ? "mine" : "theirs"}`, "data-testid": m.direction === "in" ? "chat-in" : "chat-out", "data-status": m.status },
            h("div", { class: "text" }, m.text),
            h("div", { class: "meta" }, time(m.at), m.direction === "in" ? ` · ${m.status === "read" ? "✓✓ read" : "✓ sent"}` : ""),
          ),
        ),
      );
      typing.hidden = !c.typing;
      if (atBottom) thread.scrollTop = thread.scrollHeight;
    };
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      void action(send, "Sending…", async () => {
        const name = sessionStorage.getItem(`concierge.name.${phone}`) || undefined;
        const r = await api("POST", "/admin/api/console/messages", { phone, text, name });
        input.value = "";
        if (r.userId) {
          userLink.href = `#/users/${encodeURIComponent(r.userId)}`;
          userLink.hidden = false;
        }
        await refresh();
        // A first message created the user: show them in the list now rather than at the next poll.
        await loadPeople().catch(() => undefined);
      })();
    });
    every(1000, refresh, line);
    input.focus();
  }

  // ---------- routing ----------

  function route() {
    generation++;
    if (!sessionStorage.getItem(TOKEN_KEY)) return showLogin();
    nav.hidden = false;
    const parts = (location.hash.replace(/^#/, "") || "/").split("/").filter(Boolean).map(decodeURIComponent);
    if (parts[0] === "users" && parts[1]) return userPage(parts[1]);
    if (parts[0] === "console") return consolePage(parts[1] ? parts[1].replace(/[^0-9]/g, "") : undefined);
    return sandboxesPage();
  }

  document.getElementById("logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin("Signed out.");
  });
  window.addEventListener("hashchange", route);
  route();
})();
