// The step editor's live preview. Without this file the Preview button re-renders the
// page; with it the preview follows the typing (debounced) through the JSON endpoint.
// Everything it writes goes in via textContent or srcdoc of a sandboxed iframe.
(function () {
  "use strict";
  const form = document.getElementById("step-form");
  if (!form || !window.nurtureFetch) { return; }
  const url = form.getAttribute("data-preview-url");
  const FIELDS = ["delay", "channel", "condition", "window", "subject", "preheader", "body", "campaign"];
  const byId = function (id) { return document.getElementById(id); };
  let timer = null;
  let latest = 0;

  function fields() {
    const data = new FormData(form);
    return {
      delay: data.get("delay") || "",
      channel: data.get("channel") || "",
      condition: data.get("condition") || "",
      window_start: data.get("window_start") || "",
      window_end: data.get("window_end") || "",
      window_days: data.getAll("window_days"),
      subject: data.get("subject") || "",
      preheader: data.get("preheader") || "",
      body: data.get("body") || ""
    };
  }

  function show(id, text) {
    const element = byId(id);
    if (!element) { return; }
    element.textContent = text || "";
    element.hidden = !text;
  }

  function list(id, items) {
    const element = byId(id);
    if (!element) { return; }
    element.replaceChildren.apply(element, items.map(function (text) {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }));
  }

  function channelShown(channel) {
    const email = channel !== "sms";
    byId("preview-email").hidden = !email;
    byId("preview-sms-part").hidden = email;
    const extra = byId("email-fields");
    if (email) { extra.removeAttribute("data-hidden"); } else { extra.setAttribute("data-hidden", ""); }
  }

  function apply(result) {
    channelShown(result.channel);
    byId("preview-subject").textContent = result.subject;
    byId("preview-html").srcdoc = result.html;
    byId("preview-text").textContent = result.text;
    byId("preview-sms").textContent = result.sms;
    byId("segment-count").textContent = result.segments ? result.segments.summary : "";
    show("unicode-warning", result.unicode_warning);
    show("segment-warning", result.length_warning);
    const problems = result.problems || [];
    FIELDS.forEach(function (name) {
      show("error-" + name, problems.filter(function (p) { return p.field === name; })
        .map(function (p) { return p.message; }).join(" · "));
    });
    list("preview-problems", problems.map(function (p) { return p.field + ": " + p.message; }));
    byId("preview-error").hidden = problems.length === 0;
    if (result.impact) { list("impact", result.impact); }
  }

  function refresh() {
    const ticket = ++latest;
    const pane = byId("preview");
    pane.classList.add("updating");
    window.nurtureFetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(fields())
    }).then(function (response) {
      if (!response.ok) { throw new Error("preview failed: " + response.status); }
      return response.json();
    }).then(function (result) {
      if (ticket === latest) { apply(result); }  // an older, slower answer must not win
    }).catch(function () {
      show("error-campaign", "The preview could not be refreshed. Use the Preview button.");
    }).finally(function () {
      if (ticket === latest) { pane.classList.remove("updating"); }
    });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 300);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
