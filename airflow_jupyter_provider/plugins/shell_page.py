"""The page the Notebook tab opens: a small trusted page of this provider's own that says how the
run goes and shows the rendered notebook in an inner sandboxed frame.

The notebook's own scripts never run in this page: it holds no notebook content, only the state
line, which it sets as text. Its script asks the status route (``.../status``, same query) every
``POLL_MS`` while the task instance has not finished, and when the notebook's version changes
loads ``.../view?...&v=<version>`` into a hidden second frame and swaps the two once it has
loaded, so the page does not flash. Both URLs are this page's own URL with a suffix: the page
names no task instance and no file.

Once there is a notebook, **Download notebook** links to ``.../download`` (same query): the
``.ipynb`` file itself, to open in Jupyter.

The new version opens where the reader was: at the bottom for a reader who was at the bottom
(they follow the cells as they run), else at the same scroll offset. The frames are sandboxed
without ``allow-same-origin``, so the page can neither read nor set their scrolling: the front
frame's page tells it by ``postMessage`` where the reader scrolled to (a number and a boolean,
taken from the front frame only), and the new frame's URL carries that place in its fragment
(``#top=<px>`` or ``#top=<px>&bottom``), which the page applies as it loads, before the swap, so
the reader never sees it at the top (the page's half is ``rendered.SCROLL_SCRIPT``).
"""

from __future__ import annotations

import base64
import hashlib

POLL_MS = 2000

_SCRIPT = """
(function () {
  "use strict";
  var here = window.location.pathname.replace(/\\/+$/, "");
  var query = window.location.search;
  var line = document.getElementById("state");
  var download = document.getElementById("download");
  download.href = here + "/download" + query;
  var frames = [document.getElementById("front"), document.getElementById("back")];
  var version = null;
  var place = {top: 0, atBottom: false};
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.source === frames[0].contentWindow && data
        && typeof data.top === "number" && typeof data.atBottom === "boolean") {
      place = {top: data.top, atBottom: data.atBottom};
    }
  });
  function show(next) {
    var back = frames[1];
    back.onload = function () {
      back.onload = null;
      back.className = "front";
      frames[0].className = "back";
      frames.reverse();
    };
    var at = "#top=" + Math.round(place.top) + (place.atBottom ? "&bottom" : "");
    back.src = here + "/view" + query + (query ? "&" : "?") + "v=" + encodeURIComponent(next) + at;
  }
  function poll() {
    fetch(here + "/status" + query, {credentials: "same-origin", cache: "no-store"})
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (status) {
        line.textContent = status.line;
        line.dataset.finished = status.finished;
        if (status.version && status.version !== version) {
          version = status.version;
          download.hidden = false;
          show(version);
        }
        if (!status.finished) { window.setTimeout(poll, POLL_MS); }
      })
      .catch(function (error) {
        line.textContent = "Cannot reach the API server (" + error.message + "), trying again";
        window.setTimeout(poll, POLL_MS);
      });
  }
  poll();
})();
""".replace("POLL_MS", str(POLL_MS))

_STYLE = """
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; font-family: system-ui, sans-serif; }
header { display: flex; align-items: center; gap: 1rem; padding: 0.4rem 0.8rem;
  border-bottom: 1px solid #ddd; }
#state { flex: 1; margin: 0; color: #444; }
#download { padding: 0.2rem 0.7rem; border: 1px solid #bbb; border-radius: 4px; color: #222;
  text-decoration: none; font-size: 0.9rem; white-space: nowrap; }
#download:hover { background: #f2f2f2; }
#download[hidden] { display: none; }
#frames { position: relative; flex: 1; }
iframe { position: absolute; inset: 0; width: 100%; height: 100%; border: 0; }
iframe.back { visibility: hidden; }
"""

#: The frames' own sandbox, as the view's Content-Security-Policy sets it too.
_SANDBOX = "allow-scripts allow-popups allow-popups-to-escape-sandbox"

PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Notebook</title>
<style>{_STYLE}</style></head>
<body><header><p id="state" role="status">Loading the notebook</p>
<a id="download" hidden download>Download notebook</a></header>
<div id="frames">
<iframe id="front" class="front" title="Executed notebook" sandbox="{_SANDBOX}"></iframe>
<iframe id="back" class="back" title="Executed notebook" sandbox="{_SANDBOX}"></iframe>
</div>
<script>{_SCRIPT}</script></body></html>
"""


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


#: Only this page's own script and style run; it may call this app (status) and frame it (view).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        f"script-src {_hash(_SCRIPT)}",
        f"style-src {_hash(_STYLE)}",
        "connect-src 'self'",
        "frame-src 'self'",
        "frame-ancestors 'self'",
        "base-uri 'none'",
        "form-action 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-cache",
}
