/* The simulator's stand-in for WeChat's JS-SDK (res.wx.qq.com/open/js/jweixin-1.6.0.js): wx.config
   asks the simulator whether the signature is right for this page's URL (as WeChat would), then
   runs the wx.ready or wx.error callbacks. Share-card calls are recorded on window.wx. */
(function () {
  var origin = new URL(document.currentScript.src).origin;
  var ready = [], failed = [], state = null;
  var wx = {
    config: function (cfg) {
      var body = JSON.stringify({ appId: cfg.appId, timestamp: String(cfg.timestamp), nonceStr: cfg.nonceStr,
                                  signature: cfg.signature, url: location.href.split("#")[0] });
      fetch(origin + "/_sim/api/jsapi/verify", { method: "POST", headers: { "Content-Type": "text/plain" }, body: body })
        .then(function (r) { return r.json(); })
        .then(function (d) {
          state = d.ok ? "ready" : "error";
          wx.configOk = !!d.ok;
          (d.ok ? ready : failed).forEach(function (f) { f(d.ok ? undefined : { errMsg: "config:invalid signature" }); });
        });
    },
    ready: function (f) { if (state === "ready") f(); else ready.push(f); },
    error: function (f) { if (state === "error") f({ errMsg: "config:invalid signature" }); else failed.push(f); },
    updateAppMessageShareData: function (card) { wx.shareCard = card; },
    updateTimelineShareData: function (card) { wx.timelineCard = card; }
  };
  window.wx = wx;
})();
