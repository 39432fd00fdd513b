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
})();
