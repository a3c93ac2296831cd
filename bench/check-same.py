"""Checks that two path lists ask one server the same questions: for the first N lines of
each, the answers hold the same numberMatched and the same feature ids in the same order
(the simple filters and their CQL2 `filter`). Exits non-zero on the first difference.
Usage: check-same.py HOST:PORT PATHS_A PATHS_B N"""
import http.client
import json
import sys

address, paths_a, paths_b, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
host, port = address.rsplit(":", 1)
connection = http.client.HTTPConnection(host, int(port), timeout=60)


def answer(path):
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        sys.exit(f"check-same.py: {path} answered {response.status}: {body[:300]!r}")
    page = json.loads(body)
    return page.get("numberMatched"), [f["id"] for f in page["features"]]


matched = 0
for a, b in list(zip(open(paths_a), open(paths_b)))[:n]:
    first, second = answer(a.strip()), answer(b.strip())
    if first != second:
        sys.exit(f"check-same.py: {a.strip()} and {b.strip()} differ: {first[0]} vs {second[0]} matched")
    matched += first[0] or 0
print(f"same answers for {n} pairs ({matched} matches in all)")
