// Quick exit: leave without a Back-button trail (replace this history entry), also on Esc.
(function () {
  "use strict";
  var link = document.getElementById("quick-exit");
  if (!link) return;
  function leave(ev) {
    if (ev) ev.preventDefault();
    document.body.innerHTML = "";
    window.location.replace(link.getAttribute("href"));
  }
  link.addEventListener("click", leave);
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") leave(ev);
  });
})();
