// Starts ReDoc on the page `warden::openapi::Docs` serves. It is a file, not an inline
// script, so the page's Content-Security-Policy can refuse every inline script. The
// document's URL comes from the container's `data-spec-url`; the nonce of this script tag
// (readable as a property only) goes to ReDoc, which puts it on the <style> elements it
// creates, the only inline styles the policy accepts.
(function () {
  'use strict';
  var container = document.getElementById('redoc');
  var script = document.currentScript;
  Redoc.init(container.getAttribute('data-spec-url'), { nonce: script ? script.nonce : undefined }, container);
})();
