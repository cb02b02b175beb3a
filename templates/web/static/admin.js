// Progressive enhancement for the console. Every page works without this file;
// it adds the CSRF header to fetch() calls made by pages that opt in.
(function () {
  "use strict";
  const meta = document.querySelector('meta[name="csrf-token"]');
  window.nurtureFetch = function (url, options) {
    const opts = Object.assign({ credentials: "same-origin" }, options || {});
    opts.headers = Object.assign({ "X-CSRF-Token": meta ? meta.content : "" }, opts.headers || {});
    return fetch(url, opts);
  };
  // Forms marked data-confirm ask before doing something that cannot be undone.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    const question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
})();
