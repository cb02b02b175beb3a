// The import page: refresh the progress bar from the job's JSON until it is done,
// then reload to show the counts and the skipped rows. Without this the page has a link.
(function () {
  "use strict";
  const box = document.getElementById("import-status");
  if (!box || box.dataset.done === "yes") { return; }
  const bar = document.getElementById("import-progress");
  const text = document.getElementById("import-progress-text");
  function poll() {
    window.nurtureFetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job) { return; }
        bar.max = Math.max(job.total, 1);
        bar.value = job.processed;
        bar.textContent = job.processed + " of " + job.total;
        text.textContent = job.processed + " of " + job.total + " rows";
        if (job.done) { window.location.reload(); } else { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
