"""Checks that a peer answers the same bbox queries as skillsmap: the same numberMatched and
numberReturned, the same ids whenever a whole answer fits in one page (peers need not order
pages alike), and the same property names. Prints one line; exits 1 on a marked difference
(counts apart by more than 1% or 1 feature, any other difference).
Usage: check-peer.py OURS_BASE PEER_BASE PATHS_FILE HOW_MANY"""
import json
import sys
import urllib.request

ours_base, peer_base, paths_file, how_many = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
paths = [line.strip() for line in open(paths_file)][:how_many]


def fetch(base, path):
    with urllib.request.urlopen(base + path, timeout=60) as response:
        return json.load(response)


problems, matched = [], []
for path in paths:
    ours, peer = fetch(ours_base, path), fetch(peer_base, path)
    a, b = ours["numberMatched"], peer["numberMatched"]
    matched.append(f"{a}/{b}")
    if abs(a - b) > max(1, 0.01 * max(a, b)):
        problems.append(f"{path}: numberMatched {a} here, {b} at the peer")
    if ours["numberReturned"] != peer["numberReturned"]:
        problems.append(f"{path}: numberReturned {ours['numberReturned']} here, {peer['numberReturned']} at the peer")
    if a == b and a == ours["numberReturned"]:
        ids = lambda answer: sorted(str(f["id"]) for f in answer["features"])
        if ids(ours) != ids(peer):
            problems.append(f"{path}: the same count but different ids")
    names = lambda answer: {k for f in answer["features"] for k, v in f["properties"].items() if v is not None}
    if ours["features"] and names(ours) != names(peer):
        problems.append(f"{path}: properties {sorted(names(ours) ^ names(peer))} differ")

print(f"{len(paths)} bboxes, numberMatched here/peer: {' '.join(matched)}")
for problem in problems:
    print(f"DIFFERENT: {problem}")
sys.exit(1 if problems else 0)
