// wechat_sim console: act as a simulated WeChat user and watch the conversation.
// Hand-written, no dependencies. Every URL is built from WXSIM.base so the page works under any
// mount prefix. Pushed messages arrive through a long poll of /_sim/api/conversation.
(() => {
  "use strict";
  const boot = window.WXSIM || { base: "" };
  const $ = (id) => document.getElementById(id);
  const apiUrl = (path) => `${boot.base}/_sim/api${path}`;
  // template and subscription cards carry their own kind label; only customer-service pushes get one
  const CHANNEL = { kf: "客服消息" };

  let state = { apps: [], persons: [], roles: {} };
  let appid = boot.app || localStorage.getItem("wxsim.app") || "";
  let personId = boot.person || localStorage.getItem("wxsim.person") || "";
  let poller = null;

  // helpers ---------------------------------------------------------------------------------
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null) node.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function call(method, path, body) {
    const resp = await fetch(apiUrl(path), {
      method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      const error = new Error(data.message || resp.statusText);
      error.code = data.error;
      throw error;
    }
    return data;
  }

  const currentApp = () => state.apps.find((a) => a.appid === appid);
  const chat = () => $("chat");
  const scrollDown = () => { chat().scrollTop = chat().scrollHeight; };

  function localNote(text, isError) {
    chat().append(el("div", { class: "center" + (isError ? " error" : "") }, el("span", {}, text)));
    scrollDown();
  }

  // WeChat text may carry <a href="...">label</a> links: build them as DOM nodes, never as HTML.
  function richText(text) {
    const parts = [];
    const re = /<a\s+([^>]*?)>(.*?)<\/a>/gis;
    let at = 0;
    for (const match of String(text || "").matchAll(re)) {
      parts.push(text.slice(at, match.index));
      const href = /href\s*=\s*["']([^"']+)["']/i.exec(match[1]);
      const mp = /data-miniprogram-path\s*=\s*["']([^"']+)["']/i.exec(match[1]);
      if (href) parts.push(el("a", { href: "#", onclick: (ev) => { ev.preventDefault(); openInWechat(href[1]); } }, match[2]));
      else if (mp) parts.push(el("a", { href: "#", title: mp[1], onclick: (ev) => ev.preventDefault() }, match[2]));
      else parts.push(match[2]);
      at = match.index + match[0].length;
    }
    parts.push(String(text || "").slice(at));
    return parts;
  }

  // WeChat's in-app browser: a panel inside the phone frame. The simulator's web view sets who
  // is "inside WeChat" (OAuth approves for that person) and then loads the page in the frame.
  function openInWechat(url) {
    if (!personId) return localNote("请先选择一个模拟用户", true);
    if (!url) return;
    const target = `${boot.base}/_sim/webview?person=${encodeURIComponent(personId)}&url=${encodeURIComponent(url)}`;
    $("webview-url").textContent = url;
    $("webview-title").textContent = "加载中…";
    $("webview").hidden = false;
    $("webview-frame").src = target;
  }
  function closeWebview() {
    $("webview").hidden = true;
    $("webview-frame").src = "about:blank";
  }

  // state -----------------------------------------------------------------------------------
  async function loadState() {
    state = await call("GET", "/state");
    if (!state.apps.some((a) => a.appid === appid)) appid = state.apps.length ? state.apps[0].appid : "";
    if (!state.persons.some((p) => p.id === personId)) personId = state.persons.length ? state.persons[0].id : "";
    renderSelectors();
    renderAppExtras();
    renderPrinted(state.printed || []);
  }

  const PRINTED_KIND = { code: "瓶盖码", store: "门店领券码" };
  function renderPrinted(items) {
    $("printed").hidden = !items.length;
    $("printed-list").replaceChildren(...items.map((p) => el("div", { class: "printed-item", "data-url": p.url },
      el("span", { title: p.url }, `${PRINTED_KIND[p.kind] ? PRINTED_KIND[p.kind] + " · " : ""}${p.label}`),
      el("button", { type: "button", onclick: () => scan(p.url) }, "扫码"))));
    const select = $("scan-dialog-qr");
    for (const p of items) {
      if (![...select.options].some((o) => o.value === p.url)) {
        select.append(el("option", { value: p.url }, `${PRINTED_KIND[p.kind] || "二维码"} · ${p.label}`));
      }
    }
  }

  function renderSelectors() {
    $("app-select").replaceChildren(
      ...state.apps.map((a) => el("option", { value: a.appid }, `${a.name}（${a.kind === "mp" ? "小程序" : "服务号"}）`)),
    );
    $("app-select").value = appid;
    $("person-select").replaceChildren(
      ...state.persons.map((p) => el("option", { value: p.id }, `${p.name} · ${state.roles[p.role] || p.role}`)),
    );
    $("person-select").value = personId;
    const app = currentApp();
    $("chat-title").textContent = app ? app.name : "（没有账号）";
    $("app-info").textContent = app
      ? `${app.appid} · ${app.mode} 模式 · 回调 ${app.callback_url || "未配置"}`
      : "还没有账号：用 jiubot sim --app APPID:SECRET 启动，或调用 /_sim/api/apps。";
    const isOa = app && app.kind === "oa";
    $("follow-btn").disabled = !isOa || !personId;
    $("unfollow-btn").disabled = !isOa || !personId;
  }

  function renderAppExtras() {
    const app = currentApp();
    const codes = app ? app.qr_codes : [];
    for (const id of ["qr-select", "scan-dialog-qr"]) {
      const select = $(id);
      const keep = select.value;
      select.replaceChildren(
        el("option", { value: "" }, "— 该账号的二维码 —"),
        ...codes.map((c) => el("option", { value: c.url }, `场景 ${c.scene}${c.permanent ? "（永久）" : ""}`)),
      );
      select.value = keep;
    }
    const subs = app ? app.templates.filter((t) => t.kind === "subscribe") : [];
    const box = $("subscribe-list");
    if (!subs.length) {
      box.replaceChildren("该账号还没有订阅通知模板。");
      return;
    }
    box.replaceChildren(
      ...subs.map((t) => el("label", { class: "sub-item" },
        el("input", { type: "checkbox", value: t.template_id, checked: "checked" }), t.title)),
      el("div", { class: "row" },
        el("button", { type: "button", onclick: () => popup(true) }, "允许"),
        el("button", { type: "button", class: "secondary", onclick: () => popup(false) }, "拒绝")),
    );
  }

  // conversation ----------------------------------------------------------------------------
  function renderEntry(e) {
    const p = e.payload || {};
    if (e.kind === "typing") return;
    if (e.direction === "system") {
      chat().append(el("div", { class: "center" + (e.kind === "error" ? " error" : ""), "data-kind": e.kind },
        el("span", {}, p.text || "")));
      return;
    }
    if (e.direction === "in" && e.kind === "event") {
      chat().append(el("div", { class: "center", "data-kind": "event" }, el("span", {}, p.label || p.event)));
      return;
    }
    const incoming = e.direction === "in";
    const app = currentApp();
    const avatar = el("div", { class: "avatar" }, incoming ? "我" : (app ? app.name.slice(0, 1) : "公"));
    const label = CHANNEL[e.channel];
    if (!incoming && label) chat().append(el("div", { class: "tag" }, label));
    const row = el("div", { class: `msg ${incoming ? "in" : "out"}${e.errcode ? " failed" : ""}`,
      "data-kind": e.kind, "data-channel": e.channel }, avatar, body(e, p));
    chat().append(row);
    if (e.errcode) {
      chat().append(el("div", { class: "deliver-error" }, `发送失败 ${e.errcode}：${e.error || ""}`));
    }
  }

  function card(kind, title, text, foot, onFoot) {
    return el("div", { class: "card" },
      kind ? el("div", { class: "kind" }, kind) : null,
      el("div", { class: "card-title" }, title || ""),
      text ? el("div", { class: "card-body" }, text) : null,
      foot ? el("div", { class: "card-foot", onclick: onFoot }, foot) : null);
  }

  function dataLines(data) {
    return Object.entries(data || {}).map(([k, v]) => `${k}：${v && typeof v === "object" ? v.value : v}`).join("\n");
  }

  function body(e, p) {
    switch (p.msgtype) {
      case "text":
        return el("div", { class: "bubble" }, richText(p.content));
      case "location":
        return el("div", { class: "bubble" }, `[位置] ${p.label || `${p.lat},${p.lng}`}`);
      case "news": {
        const articles = p.articles || [];
        return el("div", {}, articles.map((a) => card(null, a.title, a.description, a.url ? "阅读全文" : null,
          () => openInWechat(a.url))));
      }
      case "msgmenu":
        return el("div", { class: "bubble" },
          p.head_content ? el("div", {}, p.head_content) : null,
          (p.list || []).map((item) => el("a", { class: "menuitem", "data-menuid": item.id,
            onclick: () => sendText(item.content, String(item.id)) }, item.content)),
          p.tail_content ? el("div", {}, p.tail_content) : null);
      case "template":
        return card("模板消息", p.title || p.template_id, dataLines(p.data),
          p.url || p.miniprogram ? "详情" : null, () => p.url && openInWechat(p.url));
      case "subscribe":
        return card("订阅通知", p.title || p.template_id, dataLines(p.data),
          p.page || p.miniprogram ? "详情" : null, () => p.page && /^https?:/.test(p.page) && openInWechat(p.page));
      case "miniprogrampage":
        return card("小程序", p.title, p.pagepath);
      case "link":
        return card("链接", p.title, p.description, "打开", () => openInWechat(p.url));
      default:
        return el("div", { class: "bubble" }, `[${p.msgtype || e.kind}]`);
    }
  }

  const TRIGGER = { message: "发消息", follow: "关注", scan: "扫码", click: "点菜单", enter_session: "进入会话" };
  function renderMember(member) {
    if (!member) return;
    $("typing").hidden = !member.typing;
    const windows = Object.entries(member.window || {})
      .map(([trigger, w]) => `  ${TRIGGER[trigger] || trigger}：剩 ${w.left} 条 / ${Math.round(w.seconds)} 秒`).join("\n") || "  （已关闭）";
    const credits = Object.entries(member.credits || {}).filter(([, n]) => n > 0)
      .map(([t, n]) => `${t.slice(0, 8)}…×${n}`).join(" ") || "无";
    const tags = (member.tags || []).length ? member.tags.join("、") : "无";
    $("member-info").textContent =
      `openid：${member.openid}\n关注：${member.following ? "已关注" : "未关注"} · 标签：${tags}\n` +
      `客服消息窗口：\n${windows}\n订阅通知额度：${credits}`;
  }

  // SMS to the current person's phone number: a notification banner and the list in the panel
  let smsSeen = [];
  function showSms(items, fresh) {
    if (!items.length) return;
    smsSeen = smsSeen.concat(items).slice(-10);
    $("sms-list").textContent = smsSeen.slice().reverse()
      .map((m) => `${new Date(m.at * 1000).toTimeString().slice(0, 5)} ${m.sender}：${m.text}`).join("\n");
    if (!fresh) return;
    const last = items[items.length - 1];
    const toast = $("sms-toast");
    toast.replaceChildren(el("div", { class: "sms-from" }, `✉ 短信 · ${last.sender} · 现在`), el("div", {}, last.text));
    toast.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { toast.hidden = true; }, 30000);
  }

  let menuButtons = [];
  function renderMenu(buttons) {
    const same = JSON.stringify(buttons) === JSON.stringify(menuButtons);
    menuButtons = buttons || [];
    const has = menuButtons.length > 0;
    $("to-menu").hidden = !has;
    if (!has) {
      $("menubar").hidden = true;
      $("composer").hidden = false;
      return;
    }
    if (same && $("menu-buttons").childElementCount) return;
    $("menu-buttons").replaceChildren(...menuButtons.map((b, i) => el("button", {
      type: "button", "data-path": String(i),
      onclick: (ev) => (b.sub_button && b.sub_button.length ? openSubmenu(b, i, ev.currentTarget) : tapMenu(String(i), b)),
    }, (b.sub_button && b.sub_button.length ? "≡ " : "") + b.name)));
    if (!same) { $("menubar").hidden = false; $("composer").hidden = true; }
  }

  function openSubmenu(button, index, anchor) {
    const menu = $("submenu");
    if (!menu.hidden && menu.dataset.index === String(index)) { menu.hidden = true; return; }
    menu.dataset.index = String(index);
    menu.replaceChildren(...button.sub_button.map((b, j) => el("button", {
      type: "button", "data-path": `${index}.${j}`,
      onclick: () => { menu.hidden = true; tapMenu(`${index}.${j}`, b); },
    }, b.name)));
    const phone = anchor.closest(".phone").getBoundingClientRect();
    const rect = anchor.getBoundingClientRect();
    menu.style.left = `${Math.max(4, rect.left - phone.left - 10)}px`;
    menu.style.minWidth = `${rect.width}px`;
    menu.hidden = false;
  }

  async function pollConversation() {
    if (poller) poller.stop = true;
    const me = { stop: false };
    poller = me;
    chat().replaceChildren();
    menuButtons = [];
    $("menu-buttons").replaceChildren();
    if (!appid || !personId) {
      renderMenu([]);
      localNote(appid ? "新建或选择一个模拟用户开始聊天" : "还没有账号");
      return;
    }
    let since = 0;
    let wait = 0;
    let smsSince = 0;
    smsSeen = [];
    $("sms-list").textContent = "（当前用户的手机还没有收到短信）";
    $("sms-toast").hidden = true;
    while (!me.stop) {
      try {
        const q = `?person=${encodeURIComponent(personId)}&appid=${encodeURIComponent(appid)}&since=${since}&wait=${wait}&sms_since=${smsSince}`;
        const data = await call("GET", `/conversation${q}`);
        if (me.stop) return;
        for (const entry of data.entries) renderEntry(entry);
        if (data.entries.length) scrollDown();
        showSms(data.sms || [], wait > 0);
        since = data.last;
        smsSince = data.sms_last || smsSince;
        wait = 25;
        renderMember(data.member);
        renderMenu(data.menu);
      } catch (err) {
        if (me.stop) return;
        await sleep(1500);
      }
    }
  }

  // actions ---------------------------------------------------------------------------------
  async function act(body) {
    if (!personId || !appid) { localNote("请先选择账号和模拟用户", true); return null; }
    try {
      const result = await call("POST", "/act", { person: personId, appid, ...body });
      showDelivery(result.delivery);
      loadState().catch(() => {});
      return result;
    } catch (err) {
      localNote(err.message, true);
      return null;
    }
  }

  function showDelivery(d) {
    if (!d) return;
    const OUTCOME = { ack: "已应答", reply: "已回复", invalid: "回复无效", timeout: "超时", http_status: "HTTP 错误", connection_error: "连接失败" };
    const attempts = d.attempts.map((a) => `第 ${a.number} 次：${OUTCOME[a.outcome] || a.outcome}${a.status ? " " + a.status : ""}，${a.elapsed} 秒 ${a.detail || ""}`);
    $("last-delivery").textContent = `最近一次推送：${d.ok ? "成功" : "失败"}${d.reason ? "（" + d.reason + "）" : ""}\n` + attempts.join("\n");
  }

  function sendText(text, bizmsgmenuid) {
    if (!text) return null;
    return act({ action: "text", text, ...(bizmsgmenuid ? { bizmsgmenuid } : {}) });
  }

  async function tapMenu(path, button) {
    let scanResult;
    if (button.type === "scancode_push" || button.type === "scancode_waitmsg") {
      scanResult = await askScan(button.name);
      if (!scanResult) return;
    }
    const result = await act({ action: "menu", path, ...(scanResult ? { scan_result: scanResult } : {}) });
    if (!result) return;
    if (button.type === "view" && button.url) openInWechat(button.url);
    if (button.type === "scancode_push" && /^https?:\/\//.test(scanResult)) openInWechat(scanResult);
    if (button.type === "miniprogram") localNote(`打开小程序 ${button.appid} ${button.pagepath}`);
  }

  function askScan(title) {
    return new Promise((resolve) => {
      const dialog = $("scan-dialog");
      $("scan-dialog-title").textContent = `扫码：${title}`;
      $("scan-dialog-input").value = "";
      dialog.onclose = () => {
        const value = $("scan-dialog-input").value.trim() || $("scan-dialog-qr").value;
        resolve(dialog.returnValue === "ok" ? value : "");
      };
      dialog.showModal();
    });
  }

  async function scan(what) {
    if (!what) return;
    if (!personId) { localNote("请先选择一个模拟用户", true); return; }
    try {
      const result = await call("POST", "/act", { person: personId, appid, action: "scan", what });
      showDelivery(result.delivery);
      loadState().catch(() => {});
    } catch (err) {
      if (err.code === "not_a_qr" && /^https?:\/\//.test(what)) openInWechat(what);
      else localNote(err.message, true);
    }
  }

  async function popup(accept) {
    const choices = {};
    for (const box of $("subscribe-list").querySelectorAll("input[type=checkbox]")) {
      if (box.checked) choices[box.value] = accept;
    }
    if (Object.keys(choices).length) await act({ action: "popup", choices });
  }

  async function code(kind) {
    if (!personId || !appid) return;
    try {
      const data = await call("POST", "/codes", { kind, person: personId, appid });
      $("codes").textContent = `${kind === "phone" ? "手机号 code" : "wx.login code"}：${data.code}（5 分钟内有效，仅可使用一次）`;
    } catch (err) {
      $("codes").textContent = err.message;
    }
  }

  // wiring ----------------------------------------------------------------------------------
  $("app-select").addEventListener("change", (ev) => {
    appid = ev.target.value;
    localStorage.setItem("wxsim.app", appid);
    renderSelectors(); renderAppExtras(); pollConversation();
  });
  $("person-select").addEventListener("change", (ev) => {
    personId = ev.target.value;
    localStorage.setItem("wxsim.person", personId);
    closeWebview(); renderSelectors(); pollConversation();
  });
  $("person-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const person = await call("POST", "/persons", { name: $("person-name").value.trim(), role: $("person-role").value });
      $("person-name").value = "";
      personId = person.id;
      localStorage.setItem("wxsim.person", personId);
      await loadState();
      pollConversation();
    } catch (err) { localNote(err.message, true); }
  });
  $("follow-btn").addEventListener("click", () => act({ action: "follow" }));
  $("unfollow-btn").addEventListener("click", () => act({ action: "unfollow" }));
  $("composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("text-input");
    const text = input.value.trim();
    input.value = "";
    sendText(text);
  });
  $("to-keyboard").addEventListener("click", () => { $("menubar").hidden = true; $("composer").hidden = false; $("submenu").hidden = true; });
  $("to-menu").addEventListener("click", () => { $("menubar").hidden = false; $("composer").hidden = true; });
  $("scan-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    scan($("scan-input").value.trim() || $("qr-select").value);
    $("scan-input").value = "";
  });
  $("open-form").addEventListener("submit", (ev) => { ev.preventDefault(); openInWechat($("open-input").value.trim()); });
  $("webview-close").addEventListener("click", closeWebview);
  $("webview-reload").addEventListener("click", () => { try { $("webview-frame").contentWindow.location.reload(); } catch (err) { /* another origin */ } });
  $("webview-frame").addEventListener("load", () => {
    try { $("webview-title").textContent = $("webview-frame").contentDocument.title || "网页"; } catch (err) { $("webview-title").textContent = "网页"; }
  });
  $("sms-toast").addEventListener("click", () => { $("sms-toast").hidden = true; });
  $("login-code").addEventListener("click", () => code("jscode"));
  $("phone-code").addEventListener("click", () => code("phone"));

  const tick = () => { $("clock").textContent = new Date().toTimeString().slice(0, 5); };
  tick();
  setInterval(tick, 15000);
  setInterval(() => loadState().catch(() => {}), 10000);
  loadState().then(pollConversation).catch((err) => localNote(`无法连接模拟器：${err.message}`, true));
})();
