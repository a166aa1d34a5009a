// Nothing saved twice after the back button. Pages are never cached, so going back fetches the form again
// with a new one-time key while the browser restores what was typed: submitted again, it would look like a
// new form. The key a form was submitted with is kept for the tab (sessionStorage, per page address) and put
// back when the page is reached through the back or forward button, so the server answers "already saved".
(function () {
  "use strict";
  var FIELD = "submission_key";
  function storeKey(form) {
    var input = form.querySelector("input[name='" + FIELD + "']");
    if (input && input.value) {
      sessionStorage.setItem("isotrack-key:" + location.pathname + location.search, input.value);
    }
  }
  function restoreKey() {
    var entry = performance.getEntriesByType("navigation")[0];
    if (!entry || entry.type !== "back_forward") return;
    var key = sessionStorage.getItem("isotrack-key:" + location.pathname + location.search);
    if (!key) return;
    document.querySelectorAll("form input[name='" + FIELD + "']").forEach(function (input) {
      input.value = key;
    });
  }
  document.addEventListener("submit", function (event) { storeKey(event.target); }, true);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", restoreKey);
  } else {
    restoreKey();
  }
})();
