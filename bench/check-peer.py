"""Checks that a peer answers the same bbox queries as skillsmap, on what both serve.

For each query: the same numberMatched (within 1% or 1 feature: the sides may treat points on
the box's edge differently) and numberReturned; the same ids whenever a whole answer fits in
one page (peers need not order pages alike). Then every feature either side returned is
compared with the other side's version of it (from its page, or fetched by id when the pages
differ): the same geometry and the same value of every property both serve. Properties only
skillsmap serves (such as the NUTS regions it places each initiative in) are listed, not
compared; a property only the peer serves is a difference. Prints a summary; exits 1 on any
difference.
Usage: check-peer.py OURS_BASE PEER_BASE PATHS_FILE HOW_MANY"""
import datetime
import json
import re
import sys
import urllib.parse
import urllib.request

ours_base, peer_base, paths_file, how_many = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
paths = [line.strip() for line in open(paths_file)][:how_many]
COLLECTION = "/collections/initiatives/items"
# Coordinates are doubles on both sides; anything below this is formatting, not a place.
DEGREES = 1e-9
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T")


def fetch(base, path):
    with urllib.request.urlopen(base + path, timeout=60) as response:
        return json.load(response)


def item(base, feature_id):
    return fetch(base, f"{COLLECTION}/{urllib.parse.quote(feature_id, safe='')}")


def served(feature):
    """The property names a feature carries a value for."""
    return {k for k, v in feature["properties"].items() if v is not None}


def same_value(a, b):
    if isinstance(a, str) and isinstance(b, str) and INSTANT.match(a) and INSTANT.match(b):
        # The same instant may be written `...Z` or `...+00:00`.
        try:
            return datetime.datetime.fromisoformat(a) == datetime.datetime.fromisoformat(b)
        except ValueError:
            return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return a == b


def same_geometry(a, b):
    if a is None or b is None or a.get("type") != b.get("type"):
        return a == b
    x, y = a.get("coordinates"), b.get("coordinates")
    return len(x) == len(y) and all(abs(p - q) <= DEGREES for p, q in zip(x, y))


def differences(ours, peer, common):
    """What differs between two versions of one feature, on what both serve."""
    found = []
    if not same_geometry(ours.get("geometry"), peer.get("geometry")):
        found.append(f"geometry {ours.get('geometry')} here, {peer.get('geometry')} at the peer")
    for name in sorted(common):
        a, b = ours["properties"].get(name), peer["properties"].get(name)
        if not same_value(a, b):
            found.append(f"{name} {a!r} here, {b!r} at the peer")
    return found


problems, matched = [], []
only_ours, common_seen, compared = set(), set(), 0
for path in paths:
    ours, peer = fetch(ours_base, path), fetch(peer_base, path)
    a, b = ours["numberMatched"], peer["numberMatched"]
    matched.append(f"{a}/{b}")
    if abs(a - b) > max(1, 0.01 * max(a, b)):
        problems.append(f"{path}: numberMatched {a} here, {b} at the peer")
    if ours["numberReturned"] != peer["numberReturned"]:
        problems.append(f"{path}: numberReturned {ours['numberReturned']} here, {peer['numberReturned']} at the peer")
    ours_by_id = {str(f["id"]): f for f in ours["features"]}
    peer_by_id = {str(f["id"]): f for f in peer["features"]}
    if a == b and a == ours["numberReturned"] and set(ours_by_id) != set(peer_by_id):
        problems.append(f"{path}: the same count but different ids")
    for feature_id in sorted(set(ours_by_id) | set(peer_by_id)):
        mine = ours_by_id.get(feature_id) or item(ours_base, feature_id)
        theirs = peer_by_id.get(feature_id) or item(peer_base, feature_id)
        peer_only = served(theirs) - served(mine)
        if peer_only:
            problems.append(f"{path}: {feature_id}: only the peer serves {sorted(peer_only)}")
        common = served(mine) & served(theirs)
        only_ours |= served(mine) - served(theirs)
        common_seen |= common
        compared += 1
        problems += [f"{path}: {feature_id}: {d}" for d in differences(mine, theirs, common)]
if compared and not common_seen:
    problems.append("no property is served by both sides: nothing was compared but the geometry")

print(f"{len(paths)} bboxes, numberMatched here/peer: {' '.join(matched)}")
print(f"{compared} features compared on their geometry and {len(common_seen)} properties "
      f"({', '.join(sorted(common_seen))}); served only here, not compared: {', '.join(sorted(only_ours)) or 'none'}")
for problem in problems[:50]:
    print(f"DIFFERENT: {problem}")
if len(problems) > 50:
    print(f"DIFFERENT: ... and {len(problems) - 50} more")
sys.exit(1 if problems else 0)
