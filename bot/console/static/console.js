// jiubot console: a few lines of progressive enhancement (the pages work without it).
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]');
  // fetch() calls from console scripts send the session's CSRF token as a header
  window.consoleFetch = function (url, options) {
    options = options || {};
    options.headers = Object.assign({ "X-CSRF-Token": csrf ? csrf.content : "" }, options.headers || {});
    options.credentials = "same-origin";
    return fetch(url, options);
  };
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-toggle-nav]");
    if (toggle) { document.body.classList.toggle("nav-open"); return; }
    if (document.body.classList.contains("nav-open") && !event.target.closest(".sider")) {
      document.body.classList.remove("nav-open");
    }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    if (form.hasAttribute("data-once")) {
      // one click, one request (the server is idempotent anyway: the form carries a token)
      form.querySelectorAll('button[type="submit"]').forEach(function (b) { b.disabled = true; });
    }
  });
  // QR pages: poll until the scan arrives, then submit the finishing form
  document.querySelectorAll("[data-poll]").forEach(function (el) {
    var timer = window.setInterval(function () {
      fetch(el.getAttribute("data-poll"), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (doc) {
          if (doc.state === "scanned") {
            window.clearInterval(timer);
            el.textContent = "已扫码，正在确认…";
            document.getElementById(el.getAttribute("data-poll-form")).submit();
          } else if (doc.state === "expired") {
            window.clearInterval(timer);
            document.getElementById(el.getAttribute("data-poll-expired")).hidden = false;
          }
        })
        .catch(function () { /* keep polling */ });
    }, 1500);
  });
  // long jobs (code generation): poll the job's JSON until it is done, then show the downloads
  document.querySelectorAll("[data-progress]").forEach(function (el) {
    var bar = el.querySelector("progress");
    var text = el.querySelector("[data-job-text]");
    var links = el.querySelector("[data-job-links]");
    function tick() {
      fetch(el.getAttribute("data-progress"), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (doc) {
          bar.value = doc.percent;
          if (doc.state === "done") {
            text.textContent = "已完成";
            links.hidden = false;
          } else if (doc.state === "failed") {
            text.textContent = "生成失败，请重试";
          } else {
            text.textContent = "生成中 " + doc.percent + "%";
            window.setTimeout(tick, 800);
          }
        })
        .catch(function () { window.setTimeout(tick, 2000); });
    }
    if (!links || links.hidden) { tick(); }
  });
})();
