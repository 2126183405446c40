// Citation hover cards (tools/cite_cards): a Bootstrap popover with the full reference.
(function () {
  "use strict";
  function init() {
    if (!window.bootstrap || !window.bootstrap.Popover) { return; }
    var links = document.querySelectorAll(".bibtex-citation a.reference.internal");
    links.forEach(function (a) {
      var html = null;
      var href = a.getAttribute("href") || "";
      if (href.charAt(0) === "#") {
        var entry = document.getElementById(href.slice(1));
        var p = entry && entry.querySelector("p");
        if (p) { html = p.innerHTML; }
      }
      var text = a.getAttribute("title");
      if (!html && !text) { return; }
      a.removeAttribute("title");            // no second, plain tooltip
      a.setAttribute("data-cite-card", "");
      new window.bootstrap.Popover(a, {
        trigger: "hover focus",
        placement: "top",
        html: html !== null,
        content: html !== null ? html : text,
        title: "",
        customClass: "cite-card",
        delay: { show: 150, hide: 80 },
        container: "body"
      });
    });
  }
  // bootstrap.js is a deferred script at the end of the body: wait until every script has run
  if (document.readyState === "complete") {
    init();
  } else {
    window.addEventListener("load", init);
  }
})();
