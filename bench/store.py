"""The store side of bench/run: skillsmap used as a partner would, on a store of N initiatives.

1. `skillsmap import DATA --db STORE --name bench` (timed).
2. `skillsmap serve --db STORE` without a saved read model (it builds and saves one), then
   again with it: launch to first 200 from /healthz, VmRSS and VmHWM then; the first
   /items and tile answers after it.
3. A re-import of the unchanged file: the store's revision, /healthz's `version`, the ETag
   of /collections/initiatives and the ETag and Last-Modified of an items page must not
   change (watched for a few of the server's store-check periods after the import).
4. WRITES curator PATCHes, one after another, each timed from request to answer (the server
   answers once the change is published) and then checked with a GET of the item; VmRSS
   before and after.
5. HARVESTS harvests, each changing CHANGED records (the same file and feed, CHANGED names
   changed): the time from the import's commit (the store's revision moving, polled every
   millisecond) until the server's /collections/initiatives/items/{id} shows the change,
   polled; then a sample of changed and unchanged records checked.
Appends `key value` lines to FIGURES; progress goes to stderr. Exits 1 when something did
not work (a start, an import, a change not visible, a version that moved on a no-op).
Usage: store.py SKILLSMAP_BIN DATA COUNT WORK_DIR HOST:PORT FIGURES"""
import http.client
import json
import os
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time

binary, data, count, work, address, figures_file = sys.argv[1:7]
count = int(count)
host, port = address.rsplit(":", 1)
WRITES = 1000
HARVESTS = 3
CHANGED = min(10_000, count // 2)
STEP = count // CHANGED  # generated record i is changed by the harvest when i % STEP == 0
FEED = "bench"
TOKEN = "bench-curator-token-0123456789"
STORE_CHECK_PERIOD_S = 2  # src/server.rs: how often the server looks at its store
STARTUP_DEADLINE_S = 900
VISIBLE_DEADLINE_S = 120
WRITES_BUDGET_S = 900
store = os.path.join(work, f"store-{count}.db")
failures = []


def say(text):
    print(f"== store: {text}", file=sys.stderr, flush=True)


def figure(key, value):
    with open(figures_file, "a") as out:
        out.write(f"{key} {value}\n")


def fail(text):
    say(f"FAILED: {text}")
    failures.append(text)


def status_mb(pid, key):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(int(p * len(ordered)), len(ordered) - 1)]


class Client:
    """One keep-alive connection to the server, reopened when the server closes it."""

    def __init__(self):
        self.connection = None

    def request(self, method, path, body=None, headers=None):
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(host, int(port), timeout=120)
            try:
                self.connection.request(method, path, body=body, headers=headers or {})
                response = self.connection.getresponse()
                return response.status, dict(response.getheaders()), response.read()
            except (ConnectionError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if attempt:
                    raise

    def json(self, path):
        status, _, body = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body[:200]!r}")
        return json.loads(body)


def import_file(path, log):
    """Runs `skillsmap import`; returns (summary line, seconds to commit, seconds to exit,
    seconds at start, peak resident memory in MB)."""
    started = time.monotonic()
    process = subprocess.Popen(
        [binary, "import", path, "--db", store, "--name", FEED, "--max-bytes", str(4 * os.path.getsize(path))],
        stdout=subprocess.PIPE, stderr=open(log, "w"), text=True,
        env={**os.environ, "SKILLSMAP_LOG": "warn"})
    committed, lines = [], []

    def drain():  # everything import prints on stdout comes after its commit
        for line in process.stdout:
            if not committed:
                committed.append(time.monotonic())
            lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=drain)
    reader.start()
    # wait4 reaps the child with its resource usage: ru_maxrss is its peak resident set (KiB).
    _, status, usage = os.wait4(process.pid, 0)
    code = process.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    exited = time.monotonic()
    if code != 0 or not lines:
        raise RuntimeError(f"import {path} exited {code}: {lines[-3:]} (log {log})")
    return lines[-1], committed[0], exited, started, usage.ru_maxrss / 1024


def summary_counts(line):
    counts = dict((word, int(n)) for n, word in re.findall(r"(\d+) (added|updated|unchanged|rejected|retired)", line))
    if len(counts) != 5:
        raise RuntimeError(f"unexpected import summary: {line}")
    return counts


def revision():
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        return db.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()[0]


def harvest(round_, left_out, client, rng):
    """Imports the feed with CHANGED names changed (marked with the round); returns the ms
    from the import's commit (seen as the store's revision moving) until the server shows it."""
    say(f"harvest {round_}: changing {CHANGED} of the records")
    mark = f"Harvested {round_} "
    changed_file = os.path.join(work, f"store-harvest-{count}.geojson")
    feature_id = re.compile(r'"id":"(gen-(\d+))"')
    changed_ids = []
    with open(data) as source, open(changed_file, "w") as out:
        for line in source:
            found = feature_id.search(line)
            if found and found.group(1) in left_out:
                continue
            if found and int(found.group(2)) % STEP == 0:
                line = line.replace('"name":"', f'"name":"{mark}', 1)
                changed_ids.append(f"{FEED}-{found.group(1)}")
            out.write(line)
    # The feed's last record ends without a comma; a left-out one before it leaves one behind.
    with open(changed_file, "rb+") as out:
        text = out.read()
        fixed = re.sub(rb",\s*\]\}\s*$", b"\n]}\n", text)
        if fixed != text:
            out.seek(0)
            out.write(fixed)
            out.truncate()
    if len(changed_ids) != CHANGED:
        raise RuntimeError(f"changed {len(changed_ids)} records, not {CHANGED}")
    probe = f"/collections/initiatives/items/{changed_ids[-1]}"
    before = revision()
    outcome = []
    importer = threading.Thread(target=lambda: outcome.append(
        import_file(changed_file, os.path.join(work, f"store-harvest-{count}-{round_}.log"))))
    importer.start()
    store_db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    while store_db.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()[0] == before:
        if not importer.is_alive():
            raise RuntimeError(f"harvest {round_} ended without committing anything")
        time.sleep(0.001)
    committed = time.monotonic()
    store_db.close()
    polls = 0
    while not client.json(probe)["properties"]["name"].startswith(mark):
        polls += 1
        if time.monotonic() > committed + VISIBLE_DEADLINE_S:
            raise RuntimeError(f"harvest {round_} was not visible {VISIBLE_DEADLINE_S} s after its commit")
        time.sleep(0.002)
    visible = time.monotonic()
    importer.join()
    if not outcome:
        raise RuntimeError(f"harvest {round_} failed (see its log)")
    line, last_commit, exited, began, _ = outcome[0]
    # The harvest commits in batches: the probe (the feed's last changed record) is in one of
    # the last, so the change is timed from the run's end (its summary line follows its last
    # commit); the server may show it a little before.
    committed = min(last_commit, visible)
    say(f"harvest {round_}: {line} ({exited - began:.1f} s); visible {(visible - committed) * 1000:.0f} ms after its commit ({polls} polls)")
    counts = summary_counts(line)
    if counts["updated"] != CHANGED or counts["added"] or counts["retired"] or counts["rejected"]:
        fail(f"harvest {round_} was to update {CHANGED} records: {line}")
    for feature in rng.sample(changed_ids, min(50, len(changed_ids))):
        if not client.json(f"/collections/initiatives/items/{feature}")["properties"]["name"].startswith(mark):
            fail(f"{feature}: harvest {round_}'s change is not visible though {changed_ids[-1]}'s is")
    untouched = [i for i in range(count) if i % STEP not in (0, STEP // 2)]
    for i in rng.sample(untouched, min(50, len(untouched))):
        if client.json(f"/collections/initiatives/items/{FEED}-gen-{i}")["properties"]["name"].startswith("Harvested "):
            fail(f"{FEED}-gen-{i} was not changed by the harvests but shows a change")
    figure(f"harvest{round_}_import_s", f"{exited - began:.1f}")
    return (visible - committed) * 1000


servers = []


class Server:
    """`skillsmap serve --db STORE`, timed from launch to its first 200 on /healthz."""

    def __init__(self, label):
        self.log = os.path.join(work, f"store-serve-{count}-{label}.log")
        env = {**os.environ, "SKILLSMAP_LOG": "info", "SKILLSMAP_CURATOR_TOKENS": f"bench:{TOKEN}"}
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [binary, "serve", "--db", store, "--listen", address],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "w"), env=env)
        self.pid = self.process.pid
        servers.append(self.process)
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited during start-up ({self.log})")
            if time.monotonic() - self.started > STARTUP_DEADLINE_S:
                raise RuntimeError(f"the server did not answer within {STARTUP_DEADLINE_S} s")
            try:
                probe = http.client.HTTPConnection(host, int(port), timeout=5)
                probe.request("GET", "/healthz")
                if probe.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.005)
        self.startup_ms = (time.monotonic() - self.started) * 1000
        self.rss_mb = status_mb(self.pid, "VmRSS")
        self.hwm_mb = status_mb(self.pid, "VmHWM")

    def logged(self, text):
        """How many log lines hold `text`."""
        with open(self.log) as log:
            return sum(text in line for line in log)

    def wait_for_log(self, text, deadline_s, more_than=0):
        started = time.monotonic()
        while self.logged(text) <= more_than:
            if time.monotonic() - started > deadline_s or self.process.poll() is not None:
                return False
            time.sleep(0.05)
        return True

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=120)
        if code != 0:
            fail(f"the server exited with {code} on SIGTERM ({self.log})")


def start(label, client):
    server = Server(label)
    say(f"{label} start: first answer after {server.startup_ms:.0f} ms, VmRSS {server.rss_mb:.0f} MB, VmHWM {server.hwm_mb:.0f} MB")
    figure(f"store_{label}_ms", f"{server.startup_ms:.1f}")
    figure(f"store_{label}_rss_mb", f"{server.rss_mb:.1f}")
    figure(f"store_{label}_hwm_mb", f"{server.hwm_mb:.1f}")
    for key, path in [("items", "/collections/initiatives/items?limit=100"), ("tile", "/tiles/4/8/5.geojson")]:
        began = time.monotonic()
        status, _, _ = client.request("GET", path)
        if status != 200:
            fail(f"{path} answered {status} after the {label} start")
        figure(f"store_{label}_first_{key}_ms", f"{(time.monotonic() - began) * 1000:.1f}")
    return server


def versions(client):
    """Everything that tells a client the data changed."""
    health = client.json("/healthz")
    _, collection, _ = client.request("GET", "/collections/initiatives")
    _, items, _ = client.request("GET", "/collections/initiatives/items?limit=1")
    return {
        "revision": revision(),
        "version": health["version"],
        "collection ETag": collection.get("ETag") or collection.get("etag"),
        "items ETag": items.get("ETag") or items.get("etag"),
        "items Last-Modified": items.get("Last-Modified") or items.get("last-modified"),
    }, health["initiatives"]


def run():
    for suffix in ["", "-wal", "-shm", ".readmodel"]:
        if os.path.exists(store + suffix):
            os.remove(store + suffix)
    client = Client()

    say(f"importing {count} initiatives into {store}")
    line, committed, exited, began, peak_mb = import_file(data, os.path.join(work, f"store-import-{count}.log"))
    say(f"import: {line} ({exited - began:.1f} s, peak resident memory {peak_mb:.0f} MB)")
    figure("store_import_peak_mb", f"{peak_mb:.0f}")
    if summary_counts(line)["added"] != count:
        raise RuntimeError(f"the import did not add {count} initiatives: {line}")
    figure("store_import_s", f"{exited - began:.1f}")
    figure("store_db_mb", f"{os.path.getsize(store) / 1e6:.0f}")

    first = start("first", client)
    if not first.wait_for_log("read model saved", STARTUP_DEADLINE_S):
        fail(f"the first start never saved its read model ({first.log})")
    figure("store_first_hwm_after_save_mb", f"{status_mb(first.pid, 'VmHWM'):.1f}")
    first.stop()
    figure("store_readmodel_mb", f"{os.path.getsize(store + '.readmodel') / 1e6:.0f}")

    server = start("second", client)
    if not server.logged("read model loaded"):
        fail(f"the second start did not use the saved read model ({server.log})")
    before, served = versions(client)
    figure("store_initiatives", served)

    say("re-importing the unchanged file")
    line, committed, exited, began, _ = import_file(data, os.path.join(work, f"store-reimport-{count}.log"))
    counts = summary_counts(line)
    say(f"re-import: {line} ({exited - began:.1f} s)")
    figure("store_reimport_s", f"{exited - began:.1f}")
    # Nothing can prove a change will never show; the server looks at its store every
    # STORE_CHECK_PERIOD_S, so three periods after the import it would have.
    watched_until = time.monotonic() + 3 * STORE_CHECK_PERIOD_S
    after = before
    while after == before and time.monotonic() < watched_until:
        after, _ = versions(client)
        time.sleep(0.1)
    moved = [f"{k} {before[k]} -> {after[k]}" for k in before if before[k] != after[k]]
    figure("store_reimport_unchanged", counts["unchanged"])
    figure("store_reimport_version_kept", "yes" if not moved else "NO")
    if counts["added"] or counts["updated"] or counts["retired"]:
        fail(f"re-importing the unchanged file changed records: {line}")
    if moved:
        fail(f"re-importing the unchanged file changed {'; '.join(moved)}")

    rss_before = status_mb(server.pid, "VmRSS")
    figure("store_rss_before_writes_mb", f"{rss_before:.1f}")
    say(f"{WRITES} curator PATCHes (VmRSS before: {rss_before:.0f} MB)")
    rng = random.Random(3)
    # Records the harvest below leaves alone (i % STEP != 0): a curator's edit wins over the
    # feed for the fields it changed, and the harvest is to change exactly CHANGED records.
    patched = rng.sample([i for i in range(count) if i % STEP == STEP // 2], WRITES)
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/merge-patch+json"}
    latencies, budget_end = [], time.monotonic() + WRITES_BUDGET_S
    for k, i in enumerate(patched):
        if time.monotonic() > budget_end:
            fail(f"only {k} of {WRITES} PATCHes within {WRITES_BUDGET_S} s")
            break
        item = f"/collections/initiatives/items/{FEED}-gen-{i}"
        patch = {"properties": {"name": f"Curated name {k}"}}
        if k % 2:  # every other edit also moves the point (about 100 m)
            current = client.json(item)["geometry"]["coordinates"]
            patch["geometry"] = {"type": "Point", "coordinates": [round(current[0] + 0.001, 6), current[1]]}
        body = json.dumps(patch).encode()
        began = time.monotonic()
        status, _, answer = client.request("PATCH", item, body, auth)
        latencies.append((time.monotonic() - began) * 1000)
        if status != 200:
            raise RuntimeError(f"PATCH {item}: {status} {answer[:300]!r}")
        seen = client.json(item)
        if seen["properties"]["name"] != patch["properties"]["name"] or (
                "geometry" in patch and seen["geometry"]["coordinates"] != patch["geometry"]["coordinates"]):
            fail(f"PATCH {item} answered 200 but a GET then showed {seen['properties']['name']!r} {seen['geometry']}")
    rss_after = status_mb(server.pid, "VmRSS")
    say(f"PATCH ms: p50 {percentile(latencies, 0.5):.1f}, p99 {percentile(latencies, 0.99):.1f}, max {max(latencies):.1f}; VmRSS after: {rss_after:.0f} MB")
    figure("store_writes", len(latencies))
    figure("patch_p50_ms", f"{percentile(latencies, 0.5):.2f}")
    figure("patch_p90_ms", f"{percentile(latencies, 0.9):.2f}")
    figure("patch_p99_ms", f"{percentile(latencies, 0.99):.2f}")
    figure("patch_max_ms", f"{max(latencies):.2f}")
    figure("patch_first100_p50_ms", f"{statistics.median(latencies[:100]):.2f}")
    figure("patch_last100_p50_ms", f"{statistics.median(latencies[-100:]):.2f}")
    figure("store_rss_after_writes_mb", f"{rss_after:.1f}")
    # Once the writes stop, the server merges their delta into a new base: what is left of
    # the old one afterwards tells old snapshots kept alive from the allocator's slack.
    merges = server.logged("read model merged")
    if server.wait_for_log("read model merged", 120, merges):
        figure("store_rss_after_writes_merged_mb", f"{status_mb(server.pid, 'VmRSS'):.1f}")
    with open(os.path.join(work, f"store-patch-ms-{count}.txt"), "w") as out:
        out.write("\n".join(f"{v:.3f}" for v in latencies) + "\n")

    # The feed still lists the records curators edited: their edits win for the fields they
    # changed (checked after the harvests), so nothing is left out of it.
    left_out = set()
    visible_ms = []
    for round_ in range(1, HARVESTS + 1):
        merges = server.logged("read model merged")
        visible_ms.append(harvest(round_, left_out, client, rng))
        figure(f"store_rss_after_harvest{round_}_mb", f"{status_mb(server.pid, 'VmRSS'):.1f}")
        # A harvest of this size is merged into a new base at once; let it finish before
        # the next, as a scheduled harvest would.
        if server.wait_for_log("read model merged", 300, merges):
            figure(f"store_rss_after_harvest{round_}_merged_mb", f"{status_mb(server.pid, 'VmRSS'):.1f}")
    for k, i in rng.sample(list(enumerate(patched)), min(50, len(patched))):
        name = client.json(f"/collections/initiatives/items/{FEED}-gen-{i}")["properties"]["name"]
        if name != f"Curated name {k}":
            fail(f"{FEED}-gen-{i}: the curator's name did not survive the harvests: {name!r}")
    figure("harvest_changed", CHANGED)
    figure("harvest_rounds", len(visible_ms))
    figure("harvest_visible_ms", f"{statistics.median(visible_ms):.1f}")
    figure("harvest_visible_max_ms", f"{max(visible_ms):.1f}")
    figure("store_hwm_end_mb", f"{status_mb(server.pid, 'VmHWM'):.1f}")
    server.stop()


try:
    run()
except Exception as error:  # reported, so that bench/run still prints what was measured
    fail(str(error))
finally:
    for process in servers:
        if process.poll() is None:
            process.kill()
            process.wait()
sys.exit(1 if failures else 0)
