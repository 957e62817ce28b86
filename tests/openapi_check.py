#!/usr/bin/python3
"""openapi_check.py: checks docs/openapi.json (test_openapi.sh).

  openapi_check.py doc DOC SCHEMAS_DIR
      DOC is valid against the OpenAPI 3.1 meta-schema (SCHEMAS_DIR/v3.1/
      schema.json), and every schema in it is a valid JSON Schema 2020-12.
  openapi_check.py routes DOC ROUTES_TSV
      the operations of DOC are exactly the routes `otad --routes` printed
      (method, pattern with {} for each parameter) and each operation's
      x-otad-role is its route's role, and documents 431 (answered
      before routing).
  openapi_check.py answers DOC RECORDS
      every answer recorded by tests/lib.sh (RECORDS) is documented: its
      status is one of its operation's responses, its content type one of
      that response's, and its JSON body valid against that schema; and
      a JSON request body otad accepted (2xx) is valid against the
      operation's requestBody schema.

Prints what is wrong, one line each, and exits 1 when anything is; on
success prints one line saying what was checked.  Uses Debian's
python3-jsonschema (Draft 2020-12, as OpenAPI 3.1's schemas are).
"""
import json
import re
import sys

from jsonschema import Draft202012Validator, RefResolver

METHODS = ("get", "put", "post", "delete", "options", "head", "patch",
           "trace")
# The answers validated at most for one operation and status: enough to
# see every shape the suite produces, few enough to stay fast.
SAMPLES_MAX = 40


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def operations(doc):
    """(METHOD, path template, operation) for each operation of doc."""
    for path, item in doc.get("paths", {}).items():
        for m in METHODS:
            if m in item:
                yield m.upper(), path, item[m]


def schemas_in(node, where="#"):
    """(pointer, schema) for each Schema Object under node (the places
    OpenAPI 3.1 puts them: components.schemas, content, parameters)."""
    if isinstance(node, dict):
        for k, v in node.items():
            p = where + "/" + k.replace("~", "~0").replace("/", "~1")
            if k == "schema" and isinstance(v, dict):
                yield p, v
            elif k == "schemas" and where == "#/components":
                for name, s in v.items():
                    yield p + "/" + name, s
            else:
                yield from schemas_in(v, p)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from schemas_in(v, "%s/%d" % (where, i))


def cmd_doc(doc_path, schemas_dir):
    doc = load(doc_path)
    meta = load(schemas_dir + "/v3.1/schema.json")
    bad = 0
    for e in Draft202012Validator(meta).iter_errors(doc):
        print("meta-schema: at /%s: %s" % (
            "/".join(str(x) for x in e.absolute_path), e.message[:300]))
        bad += 1
    n = 0
    for where, s in schemas_in(doc):
        n += 1
        try:
            Draft202012Validator.check_schema(s)
        except Exception as e:  # SchemaError: its message says why
            print("schema %s: %s" % (where, str(e).splitlines()[0]))
            bad += 1
    # Every $ref must resolve within the document.
    resolver = RefResolver.from_schema(doc)
    for ref in set(re.findall(r'"\$ref": "(#[^"]*)"', json.dumps(doc))):
        try:
            resolver.resolve(ref)
        except Exception:
            print("unresolved $ref %s" % ref)
            bad += 1
    if bad:
        return 1
    print("valid OpenAPI %s; %d schemas valid JSON Schema 2020-12" % (
        doc.get("openapi"), n))
    return 0


def cmd_routes(doc_path, tsv_path):
    doc = load(doc_path)
    ops = {}
    bad = 0
    for m, path, op in operations(doc):
        ops[(m, re.sub(r"\{[^}/]+\}", "{}", path))] = op.get("x-otad-role")
        # otad answers 431 before routing, whatever the route.
        if "431" not in op.get("responses", {}):
            print("%s %s: 431 (headers over max_header_bytes) not "
                  "documented" % (m, path))
            bad += 1
    routes = {}
    with open(tsv_path, encoding="utf-8") as f:
        for line in f:
            m, pattern, role = line.rstrip("\n").split("\t")
            routes[(m, pattern)] = role
    for k in sorted(set(routes) - set(ops)):
        print("route %s %s: not in the document" % k)
        bad += 1
    for k in sorted(set(ops) - set(routes)):
        print("operation %s %s: no such route" % k)
        bad += 1
    for k in sorted(set(ops) & set(routes)):
        if ops[k] != routes[k]:
            print("%s %s: x-otad-role %s, the route's role %s" % (
                k + (ops[k], routes[k])))
            bad += 1
    if bad:
        return 1
    print("%d routes, each an operation with its role" % len(routes))
    return 0


def read_records(path):
    """(method, path, status, content type, body text, request body text)
    of each answer: three lines each (tests/lib.sh's record_answer)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    i = 0
    while i + 2 < len(lines):
        head = lines[i].split(" ")
        if len(head) != 5 or head[0] != "REC":
            raise ValueError("record file line %d: %r" % (i + 1, lines[i]))
        yield (head[1], head[4], int(head[2]), head[3], lines[i + 2],
               lines[i + 1])
        i += 3


def template_re(path):
    return re.compile("^" + re.sub(r"\\\{[^}/]+\\\}", "[^/]+",
                                   re.escape(path)) + "$")


def find_operation(doc, table, method, path):
    """The operation answering METHOD path (the most literal template
    that matches, as otad's router prefers), and its template."""
    best = None
    for m, tmpl, rx, op in table:
        if m == method and rx.match(path):
            lit = len(re.sub(r"\{[^}]+\}", "", tmpl))
            if best is None or lit > best[0]:
                best = (lit, tmpl, op)
    return (best[2], best[1]) if best else (None, None)


def deref(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        node = RefResolver.from_schema(doc).resolve(node["$ref"])[1]
    return node


def check_request(doc, resolver, op, rec):
    """What is wrong with the JSON body of a request otad accepted (a 2xx):
    the document must allow what the server takes (None: nothing)."""
    status, request = rec[2], rec[5]
    media = deref(doc, op.get("requestBody", {})).get("content", {}).get(
        "application/json")
    if not request.strip() or not 200 <= status < 300 or media is None:
        return None
    try:
        value = json.loads(request)
    except ValueError:
        return None  # a test of a malformed body that otad let pass?
    v = Draft202012Validator(media["schema"], resolver=resolver)
    errs = sorted(v.iter_errors(value), key=lambda e: list(e.absolute_path))
    if errs:
        e = errs[0]
        return "request accepted with %d, off the requestBody schema: " \
            "at /%s: %s" % (status, "/".join(
                str(x) for x in e.absolute_path), e.message[:240])
    return None


def check_answer(doc, resolver, op, rec):
    """What is wrong with one recorded answer to op (None: nothing)."""
    method, path, status, ctype, body = rec[:5]
    responses = op.get("responses", {})
    resp = responses.get(str(status)) or responses.get(
        "%dXX" % (status // 100)) or responses.get("default")
    if resp is None:
        return "status %d is not documented" % status
    resp = deref(doc, resp)
    content = resp.get("content", {})
    if ctype == "-" or not content:
        if content and status not in (204, 304) and ctype == "-":
            return "status %d: no Content-Type, documented %s" % (
                status, sorted(content))
        return None
    media = content.get(ctype)
    if media is None:
        return "status %d: Content-Type %s, documented %s" % (
            status, ctype, sorted(content))
    if ctype != "application/json" or "schema" not in media:
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return "status %d: the body is not JSON" % status
    v = Draft202012Validator(media["schema"], resolver=resolver)
    errs = sorted(v.iter_errors(value), key=lambda e: list(e.absolute_path))
    if errs:
        e = errs[0]
        return "status %d: at /%s: %s (%d errors)" % (
            status, "/".join(str(x) for x in e.absolute_path),
            e.message[:240], len(errs))
    return None


def cmd_answers(doc_path, rec_path):
    doc = load(doc_path)
    resolver = RefResolver.from_schema(doc)
    table = [(m, p, template_re(p), op) for m, p, op in operations(doc)]
    seen = {}
    checked = unrouted = unanswered = 0
    bad = []
    for rec in read_records(rec_path):
        method, path, status, ctype, body, request = rec
        op, tmpl = find_operation(doc, table, method,
                                  path.split("?", 1)[0])
        if op is None:
            unrouted += 1  # the router's own 404/405: no operation
            continue
        if status < 200:
            unanswered += 1  # otad killed mid-request (crash tests)
            continue
        key = (method, tmpl, status)
        got = seen.setdefault(key, set())
        if (body, request) in got or len(got) >= SAMPLES_MAX:
            continue
        got.add((body, request))
        checked += 1
        why = check_answer(doc, resolver, op, rec) or \
            check_request(doc, resolver, op, rec)
        if why is not None:
            bad.append("%s %s (%s): %s" % (method, tmpl, path[:120], why))
    for line in sorted(set(bad)):
        print(line)
    ops = {(m, p) for m, p, _ in ((k[0], k[1], 0) for k in seen)}
    print("%d answers checked, %d distinct operation/status pairs, "
          "%d operations answered, %d unrouted, %d unanswered requests, "
          "%d wrong" % (checked, len(seen), len(ops), unrouted, unanswered,
                        len(set(bad))))
    return 1 if bad else 0


def main(argv):
    cmds = {"doc": cmd_doc, "routes": cmd_routes, "answers": cmd_answers}
    if len(argv) != 4 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    return cmds[argv[1]](argv[2], argv[3])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
