// Quick exit: leave without a Back-button trail (replace this history entry), also on Esc on
// public pages. Staff pages get no Esc binding: Esc must not throw a moderator's draft away.
(function () {
  "use strict";
  var link = document.getElementById("quick-exit");
  var staff = /^\/staff(\/|$)/.test(location.pathname) || !!document.querySelector("meta[name=staff-page]");

  // What she typed, gone (the values and what a reset would bring back): in the forms that
  // hold her own words (autocomplete="off": the report, the receipt, her answer), or in all.
  function wipe(all) {
    Array.prototype.forEach.call(document.forms, function (f) {
      if (!all && f.getAttribute("autocomplete") !== "off") return;
      Array.prototype.forEach.call(f.elements, function (el) {
        if (el.type === "hidden" || el.type === "submit" || el.type === "button") return;
        if (el.type === "checkbox" || el.type === "radio") el.checked = el.defaultChecked;
        else if (el.tagName === "SELECT") el.selectedIndex = 0;
        else if (el.type === "file") el.value = "";
        else { el.value = ""; el.defaultValue = ""; }
      });
    });
  }
  // Back (or Android's tab restore) from the back-forward cache: never show her words again.
  if (!staff) window.addEventListener("pageshow", function (ev) { if (ev.persisted) wipe(); });
  if (!link) return;

  function leave(ev) {
    if (ev) ev.preventDefault();
    wipe(true);
    document.title = "";
    document.body.innerHTML = "";
    window.location.replace(link.getAttribute("href"));
  }
  link.addEventListener("click", leave);
  if (staff) return;
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" || ev.key === "Esc") leave(ev);
  });
  // A second, big way out at the bottom of a phone's screen, where her thumb already is.
  var bottom = link.cloneNode(true);
  bottom.id = "quick-exit-bottom";
  bottom.className = "exit exit-bottom";
  bottom.addEventListener("click", leave);
  document.body.appendChild(bottom);
  document.documentElement.classList.add("has-exit-bottom");

  // The receipt: a copy button (the number is still shown to be written down).
  var receipt = document.getElementById("receipt");
  if (receipt && receipt.tagName !== "INPUT" && receipt.dataset.copy) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.id = "copy-receipt";
    button.textContent = receipt.dataset.copy;
    button.addEventListener("click", function () {
      var text = receipt.textContent.trim();
      function copied() { button.textContent = receipt.dataset.copied; }
      function fallback() {
        var range = document.createRange();
        range.selectNodeContents(receipt);
        var sel = window.getSelection();
        sel.removeAllRanges(); sel.addRange(range);
        try { if (document.execCommand("copy")) copied(); } catch (e) { /* selected: she can copy it */ }
      }
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(copied, fallback);
      else fallback();
    });
    receipt.parentNode.insertBefore(button, receipt.nextSibling);
  }
})();
