#!/usr/bin/env python3
"""Drives Debian's chromium (headless) over the DevTools protocol through
the otad dashboard, for tests/integration/test_ui.sh.

usage: ui_browser.py BASE_URL CERT_PEM WORKDIR ROLLOUT_ID SCREENSHOT
       environment: UI_TOKEN_RELEASE, UI_TOKEN_VIEWER (the API tokens),
       UI_AFTER_LOAD (a shell command run once the rollout page shows its
       figures: it reports more events, which the page must show by
       itself), UI_REASON (the pause reason typed in the dialog),
       UI_DEVICE (a device whose update completed), UI_BUNDLE_ROLLOUT
       (a draft rollout of bundle UI_BUNDLE).  Device d-200 has
       components.

Prints one JSON object: what the pages showed, what was asked of the
server (every URL), CSP violations and console errors.  The shell script
checks it; this program only fails (exit 1) when the browser cannot be
driven at all.  Every wait is bounded; chromium is killed on exit.
"""
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import websocket

WAIT_S = 20


class Browser:
    def __init__(self, workdir, spki):
        self.dir = os.path.join(workdir, "chromium")
        os.makedirs(self.dir, exist_ok=True)
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if exe is None:
            raise SystemExit("ui_browser: chromium not installed")
        self.log = open(os.path.join(workdir, "chromium.log"), "wb")
        self.proc = subprocess.Popen([
            exe, "--headless=new", "--no-sandbox", "--disable-gpu",
            "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking",
            "--disable-sync", "--disable-component-update",
            "--user-data-dir=" + self.dir, "--remote-debugging-port=0",
            # Trust exactly the test server's generated certificate.
            "--ignore-certificate-errors-spki-list=" + spki,
            "--window-size=1280,1600", "about:blank"],
            stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        port = self._port()
        targets = json.load(urllib.request.urlopen(
            "http://127.0.0.1:%d/json/list" % port, timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=WAIT_S,
            suppress_origin=True)
        self.seq = 0
        self.events = []

    def _port(self):
        f = os.path.join(self.dir, "DevToolsActivePort")
        end = time.time() + WAIT_S
        while time.time() < end:
            if self.proc.poll() is not None:
                raise SystemExit("ui_browser: chromium exited")
            try:
                with open(f) as fh:
                    return int(fh.readline())
            except (OSError, ValueError):
                time.sleep(0.1)
        raise SystemExit("ui_browser: no DevTools port")

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait(timeout=10)
        self.log.close()

    def send(self, method, **params):
        self.seq += 1
        my = self.seq
        self.ws.send(json.dumps({"id": my, "method": method,
                                 "params": params}))
        end = time.time() + WAIT_S
        while time.time() < end:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        raise RuntimeError("%s: no answer" % method)

    def js(self, expr):
        r = self.send("Runtime.evaluate", expression=expr,
                      returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError("js %r: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def wait(self, expr, what):
        """Waits (bounded) until expr is truthy; returns its value."""
        end = time.time() + WAIT_S
        while time.time() < end:
            v = self.js("(() => { const v = (%s); return v instanceof Node "
                        "? true : v; })()" % expr)
            if v:
                return v
            time.sleep(0.1)
        shown = self.js("document.getElementById('error') ? "
                        "document.getElementById('error').textContent : ''")
        page = self.js("document.getElementById('page') ? document"
                       ".getElementById('page').innerText.slice(0, 300) : ''")
        raise RuntimeError("timed out waiting for %s (page error: %s; "
                           "page: %s)" % (what, shown, page))


# Watches CSP violations from the first script of every document.
CSP_HOOK = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""

FUNNEL_JS = """(() => {
  const out = {};
  for (const el of document.querySelectorAll('#funnel [data-field]')) {
    const k = el.dataset.stage;
    (out[k] = out[k] || {})[el.dataset.field] = el.textContent;
  }
  return Object.keys(out).length ? out : null;
})()"""


def sign_in(b, token, base):
    b.send("Page.navigate", url=base + "/ui/")
    b.wait("document.readyState === 'complete' && "
           "document.getElementById('signin') && "
           "!document.getElementById('signin').hidden", "the sign-in form")
    b.js("document.getElementById('token').value = %s; "
         "document.getElementById('signin-button').click(); 1"
         % json.dumps(token))
    return b.wait("document.body.dataset.role", "signed in")


def rollout_page(b, rid):
    b.js("location.hash = '#/rollouts/%d'; 1" % rid)
    b.wait("document.querySelector('#funnel [data-stage=total]') && "
           "document.getElementById('rollout-state')", "the rollout page")
    return b.js(FUNNEL_JS)


def rows_js(sel):
    return ("[...document.querySelectorAll(%s)].map(r => [...r.cells]"
            ".map(c => c.textContent).join(' '))" % json.dumps(sel))


def save_policy(b):
    """Submits the open policy form and confirms; returns the dialog."""
    b.js("document.getElementById('policy-save').click(); 1")
    b.wait("document.getElementById('confirm').open", "the policy dialog")
    seen = [b.js("document.getElementById('confirm-title').textContent"),
            b.js("document.getElementById('confirm-reason-field').hidden")]
    b.js("document.getElementById('confirm-ok').click(); 1")
    return seen


def policy(b, out):
    """Reads the paused rollout's policy, then edits it from the page:
    first a value the API refuses, then min_reports 120."""
    out["policy"] = b.js(
        "Object.fromEntries([...document.querySelectorAll('[data-policy]')]"
        ".map(e => [e.dataset.policy, e.textContent]))")
    out["edit_form"] = b.js("!!document.getElementById('edit-policy')")
    b.js("document.getElementById('edit-policy').click(); 1")
    b.wait("document.getElementById('policy-form')", "the policy form")
    b.js("document.getElementById('policy-min_reports').value = '0'; 1")
    out["policy_dialog"] = save_policy(b)
    out["policy_error"] = b.wait(
        "!document.getElementById('error').hidden && "
        "document.getElementById('error').textContent", "the refusal")
    b.js("document.getElementById('policy-min_reports').value = '120'; 1")
    save_policy(b)
    out["policy_after"] = b.wait(
        "(() => { const e = document.querySelector("
        "'[data-policy=min_reports]'); return e && e.textContent === '120'"
        " ? e.textContent : null; })()", "the edited policy")


def bundles(b, out):
    """The bundle rollout's page, the bundles list and the bundle's page,
    a device's components."""
    br, bun = os.environ["UI_BUNDLE_ROLLOUT"], os.environ["UI_BUNDLE"]
    b.js("location.hash = '#/rollouts/%s'; 1" % br)
    b.wait("document.querySelector('#rollout-parts tbody tr') && "
           "document.querySelector('#funnel [data-stage=total]')",
           "the bundle rollout's page")
    out["bundle_ships"] = b.js(
        "document.getElementById('rollout-ships').textContent")
    out["bundle_parts"] = b.js(rows_js("#rollout-parts tbody tr"))
    b.js("location.hash = '#/rollouts'; 1")
    b.wait("document.querySelector('#rollouts tr[data-rollout=\"%s\"]')"
           % br, "the bundle rollout's row")
    out["list_bundle_row"] = b.js(
        "[...document.querySelector('#rollouts tr[data-rollout=\"%s\"]')"
        ".cells].map(c => c.textContent)" % br)
    b.js("location.hash = '#/bundles'; 1")
    b.wait("document.querySelector('#bundles tbody tr a')", "bundles")
    out["bundles_list"] = b.js(
        "[...document.querySelectorAll('#bundles tbody tr')].map(r => "
        "[...r.cells].map(c => c.textContent))")
    b.js("document.querySelector('#bundles tbody tr a').click(); 1")
    out["bundle_signers"] = b.wait(
        "document.querySelector('#bundle-signatures tbody td') && "
        "document.querySelector('#bundle-signatures tbody td').textContent",
        "a bundle's signers")
    out["bundle_part_rows"] = b.js(
        "document.querySelectorAll('#bundle-parts tbody tr').length")
    out["bundle_rollouts"] = b.js(
        "[...document.querySelectorAll('#bundle-rollouts tbody tr')]"
        ".map(r => r.cells[0].textContent)")
    out["bundle_descriptor_name"] = b.js(
        "JSON.parse(document.querySelector('pre.json').textContent).name")
    out["bundle_id_shown"] = bun
    b.js("location.hash = '#/devices/d-200'; 1")
    b.wait("document.querySelector('#device-components tbody tr')",
           "a device's components")
    out["device_components"] = b.js(rows_js("#device-components tbody tr"))


def scenario(b, base, rid, shot, out):
    b.send("Page.enable")
    b.send("Runtime.enable")
    b.send("Network.enable")
    b.send("Log.enable")
    b.send("Page.addScriptToEvaluateOnNewDocument", source=CSP_HOOK)
    out["role"] = sign_in(b, os.environ["UI_TOKEN_RELEASE"], base)
    out["who"] = b.js("document.getElementById('who').textContent")
    b.js("location.hash = '#/fleet'; 1")
    out["fleet_devices"] = b.wait(
        "document.getElementById('fleet-devices') && "
        "document.getElementById('fleet-devices').textContent", "fleet")
    out["fleet_last_seen"] = b.js(
        "Object.fromEntries([...document.querySelectorAll('[data-seen]')]"
        ".map(e => [e.dataset.seen, e.textContent]))")
    out["fleet_versions"] = b.js(
        "[...document.querySelectorAll('#by-version tbody tr')]"
        ".map(r => [...r.cells].map(c => c.textContent).join(' '))")
    out["funnel"] = rollout_page(b, rid)
    out["state"] = b.js(
        "document.getElementById('rollout-state').textContent")
    out["buttons"] = b.js("[...document.querySelectorAll('#actions button')]"
                          ".map(x => x.id)")
    # The page must follow new reports by itself, without a reload.
    b.js("window.__same_page = 1")
    before = out["funnel"]["total"]["completed"]
    subprocess.run(os.environ["UI_AFTER_LOAD"], shell=True, check=True)
    b.wait("(() => { const e = document.querySelector("
           "'#funnel [data-stage=total][data-field=completed]');"
           " return e && e.textContent !== %s; })()" % json.dumps(before),
           "the page's own refresh")
    out["refreshed_funnel"] = b.js(FUNNEL_JS)
    out["same_page"] = b.js("window.__same_page === 1")
    out["chart_points"] = b.js(
        "document.querySelectorAll('#series circle.rate').length")
    out["audit_rows"] = b.js(
        "document.querySelectorAll('#audit-table tbody tr').length")
    b.send("Emulation.setDeviceMetricsOverride", width=1280, height=1500,
           deviceScaleFactor=1, mobile=False)
    time.sleep(0.3)
    png = b.send("Page.captureScreenshot", format="png")["data"]
    with open(shot, "wb") as f:
        f.write(base64.b64decode(png))
    # Nothing writes without a confirmation: abort, then cancel.
    b.js("document.getElementById('action-abort').click(); 1")
    b.wait("document.getElementById('confirm').open", "the abort dialog")
    b.js("document.getElementById('confirm-reason').value = 'no'; "
         "document.getElementById('confirm-cancel').click(); 1")
    b.wait("!document.getElementById('confirm').open", "the dialog closed")
    time.sleep(0.5)
    out["state_after_cancel"] = b.js(
        "document.getElementById('rollout-state').textContent")
    # Pause from the page: the dialog asks for a reason and a confirmation.
    b.js("document.getElementById('action-pause').click(); 1")
    b.wait("document.getElementById('confirm').open", "the dialog")
    out["dialog_title"] = b.js(
        "document.getElementById('confirm-title').textContent")
    b.js("document.getElementById('confirm-reason').value = %s; "
         "document.getElementById('confirm-ok').click(); 1"
         % json.dumps(os.environ["UI_REASON"]))
    out["state_after"] = b.wait(
        "(() => { const t = document.getElementById('rollout-state')"
        ".textContent; return t === 'paused' ? t : null; })()", "paused")
    out["reason_shown"] = b.js(
        "document.getElementById('rollout-reason').textContent")
    out["buttons_after"] = b.js(
        "[...document.querySelectorAll('#actions button')].map(x => x.id)")
    policy(b, out)
    # An error answer is shown with its error and detail.
    b.js("location.hash = '#/rollouts/999999'; 1")
    out["error_shown"] = b.wait(
        "!document.getElementById('error').hidden && "
        "document.getElementById('error').textContent", "an error")
    # An id from the address that is not a number is refused, not put
    # into an API path (..%2Fkeys would fetch /api/v1/keys).
    b.js("location.hash = '#/images/..%2Fkeys'; 1")
    out["bad_id_shown"] = b.wait(
        "!document.getElementById('error').hidden && "
        "document.getElementById('error').textContent.includes('bad_address') "
        "&& document.getElementById('error').textContent", "a bad id refused")
    out["csp_release"] = b.js("window.__csp")
    # A viewer sees the same page without any action.
    b.js("document.getElementById('signout').click(); 1")
    out["viewer_role"] = sign_in(b, os.environ["UI_TOKEN_VIEWER"], base)
    out["viewer_funnel"] = rollout_page(b, rid)
    time.sleep(0.5)
    out["viewer_buttons"] = b.js(
        "document.querySelectorAll('#actions button').length")
    out["viewer_any_action"] = b.js(
        "document.querySelectorAll('button.action').length")
    out["viewer_edit"] = b.js(
        "document.querySelectorAll('#edit-policy, #policy-form').length")
    b.js("location.hash = '#/rollouts'; 1")
    out["list_health"] = b.wait(
        "(() => { const e = document.querySelector("
        "'#rollouts tbody tr td.health'); return e && "
        "e.textContent.includes('%') ? e.textContent : null; })()",
        "the rollouts list's health")
    out["list_row"] = b.js(
        "[...document.querySelector('#rollouts tbody tr').cells]"
        ".map(c => c.textContent)")
    out["list_bars"] = b.js(
        "document.querySelectorAll('#rollouts tbody tr:first-child svg.bar').length")
    b.js("location.hash = '#/images'; 1")
    b.wait("document.querySelector('#images tbody tr a')", "images")
    b.js("document.querySelector('#images tbody tr a').click(); 1")
    out["image_signers"] = b.wait(
        "document.querySelector('#signatures tbody td') && "
        "document.querySelector('#signatures tbody td').textContent",
        "an image's signers")
    out["image_rollouts"] = b.wait(
        "document.querySelectorAll('#image-rollouts tbody tr').length",
        "the image's rollouts")
    b.js("location.hash = '#/devices/' + %s; 1"
         % json.dumps(os.environ["UI_DEVICE"]))
    out["device_updates"] = b.wait(
        "[...document.querySelectorAll('#device-updates tbody tr')]"
        ".map(r => r.cells.length > 3 ? r.cells[3].textContent : '')"
        ".join(',')", "a device's updates")
    bundles(b, out)
    out["csp_viewer"] = b.js("window.__csp")
    out["token_in_storage"] = b.js(
        "sessionStorage.getItem('otad.token') === %s"
        % json.dumps(os.environ["UI_TOKEN_VIEWER"]))


def collect(b, out):
    # Drain what the browser reported meanwhile.
    b.send("Runtime.evaluate", expression="1")
    urls, logs = [], []
    for ev in b.events:
        m, p = ev["method"], ev.get("params", {})
        if m == "Network.requestWillBeSent":
            urls.append(p["request"]["url"])
        elif m == "Log.entryAdded":
            logs.append(p["entry"].get("text", ""))
        elif m == "Runtime.consoleAPICalled" and p.get("type") == "error":
            logs.append(" ".join(str(a.get("value", "")) for a in
                                 p.get("args", [])))
        elif m == "Runtime.exceptionThrown":
            logs.append(json.dumps(p.get("exceptionDetails", {}))[:300])
    out["urls"] = urls
    out["console"] = logs
    out["csp_console"] = [x for x in logs if "Content Security Policy" in x]


def main():
    base, cert, workdir, rid, shot = sys.argv[1:6]
    spki = subprocess.run(
        "openssl x509 -in %s -pubkey -noout | openssl pkey -pubin "
        "-outform der | openssl dgst -sha256 -binary | base64" % cert,
        shell=True, check=True, capture_output=True, text=True).stdout.strip()
    b = Browser(workdir, spki)
    out = {}
    try:
        try:
            scenario(b, base, int(rid), shot, out)
        except Exception as e:  # reported, and the checks fail on it
            out["failure"] = str(e)[:500]
        collect(b, out)
    finally:
        b.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
