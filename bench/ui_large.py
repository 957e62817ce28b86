#!/usr/bin/env python3
"""The dashboard against a large store, in Debian's chromium (headless),
for bench/health.sh: how long each page takes to show its figures, and
whether the rollout page keeps refreshing by itself.

usage: ui_large.py BASE_URL CERT_PEM WORKDIR ROLLOUT_ID DEVICES
       environment: UI_TOKEN (a viewer token), UI_AFTER_LOAD (a shell
       command run once the rollout page shows its figures: one more
       report, which the page must show through its own refresh).

Prints one line per page ("fleet 1234 ms: 1,000,000 devices") and exits 1
when a page did not show what the store holds (the fleet's device count,
the rollout's targeted devices) or the refresh never came.  The browser
is driven with tests/ui_browser.py's Browser; every wait is bounded.
"""
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests"))
import ui_browser  # noqa: E402  (tests/ui_browser.py)

ui_browser.WAIT_S = 60  # a cold scan of 1,000,000 devices takes seconds


def timed(b, hash_, expr, what):
    """Opens #hash_ and waits for expr; returns (ms, its value)."""
    t0 = time.monotonic()
    b.js("location.hash = %s; 1" % json.dumps(hash_))
    v = b.wait(expr, what)
    return (time.monotonic() - t0) * 1000, v


def digits(text):
    return int("".join(c for c in str(text) if c.isdigit()) or -1)


def main():
    base, cert, workdir, rid, ndev = sys.argv[1:6]
    ndev = int(ndev)
    spki = subprocess.run(
        "openssl x509 -in %s -pubkey -noout | openssl pkey -pubin "
        "-outform der | openssl dgst -sha256 -binary | base64" % cert,
        shell=True, check=True, capture_output=True, text=True).stdout.strip()
    b = ui_browser.Browser(workdir, spki)
    bad = []
    try:
        b.send("Page.enable")
        b.send("Runtime.enable")
        # Signing in lands on the fleet page (its first scan: cold).
        t0 = time.monotonic()
        ui_browser.sign_in(b, os.environ["UI_TOKEN"], base)
        v = b.wait("document.getElementById('fleet-devices') && "
                   "document.getElementById('fleet-devices').textContent",
                   "the fleet page")
        print("  sign-in to the fleet page %.0f ms: %s devices"
              % ((time.monotonic() - t0) * 1000, v))
        if digits(v) != ndev:
            bad.append("fleet page shows %s devices, not %d" % (v, ndev))
        ms, v = timed(b, "#/devices",
                      "document.querySelectorAll('tbody tr').length",
                      "the devices page")
        print("  devices page %.0f ms: %s rows (first page)" % (ms, v))
        ms, v = timed(b, "#/rollouts",
                      "(() => { const c = document.querySelector("
                      "'#rollouts td.health'); return c && "
                      "c.textContent !== '…' && c.textContent; })()",
                      "the rollouts list with its health")
        print("  rollouts list %.0f ms: health %s" % (ms, v))
        ms, v = timed(b, "#/rollouts/%s" % rid,
                      "(() => { const e = document.querySelector("
                      "'#funnel [data-stage=total][data-field=targeted]');"
                      " return e && e.textContent; })()", "the rollout page")
        print("  rollout page %.0f ms: %s targeted" % (ms, v))
        if digits(v) != ndev:
            bad.append("rollout page shows %s targeted, not %d" % (v, ndev))
        sel = "'#funnel [data-stage=total][data-field=completed]'"
        before = b.js("document.querySelector(%s).textContent" % sel)
        b.js("performance.clearResourceTimings(); 1")
        subprocess.run(os.environ["UI_AFTER_LOAD"], shell=True, check=True)
        t0 = time.monotonic()
        b.wait("document.querySelector(%s).textContent !== %s"
               % (sel, json.dumps(before)), "the page's own refresh")
        print("  a new report shown by the page's refresh after %.0f ms"
              " (completed %s -> %s)" % ((time.monotonic() - t0) * 1000,
                                        before, b.js(
                                            "document.querySelector(%s)"
                                            ".textContent" % sel)))
        time.sleep(12)  # four more refreshes
        hs = b.js("performance.getEntriesByType('resource').filter(e => "
                  "e.name.includes('/health')).map(e => e.duration)")
        if not hs:
            bad.append("no health request in 12 s of the rollout page")
        else:
            print("  the page's health requests: %d, median %.0f ms, max "
                  "%.0f ms" % (len(hs), statistics.median(hs), max(hs)))
        aged = b.js("document.getElementById('targeted-at') ? document"
                    ".getElementById('targeted-at').textContent : ''")
        if aged:
            print("  the page says: %s" % aged)
    except Exception as e:  # a page that never showed is the failure
        bad.append(str(e)[:300])
    finally:
        b.close()
    for m in bad:
        print("  FAIL %s" % m)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
