"""The ceiling's request paths for one HTTP case: for every path of the case, skillsmap's
answer is fetched once (uncompressed, as wrk asks) and the ceiling is asked for a body of the
same size (`/bytes/<n>`), so that both sides send the same bytes in the same mix.
Prints the paths; writes `mean_bytes median_bytes max_bytes` to SUMMARY.
Usage: sizes.py HOST:PORT PATHS_FILE SUMMARY"""
import http.client
import statistics
import sys

address, paths_file, summary = sys.argv[1], sys.argv[2], sys.argv[3]
host, port = address.rsplit(":", 1)
connection = http.client.HTTPConnection(host, int(port), timeout=60)
sizes = []
for path in (line.strip() for line in open(paths_file)):
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        sys.exit(f"sizes.py: {path} answered {response.status}: {body[:200]!r}")
    sizes.append(len(body))
    print(f"/bytes/{len(body)}")
with open(summary, "w") as out:
    out.write(f"{statistics.mean(sizes):.0f} {statistics.median(sizes):.0f} {max(sizes)}\n")
