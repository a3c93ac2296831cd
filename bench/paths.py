"""Request paths for the HTTP benchmark, drawn like the data: centres are the benchmark's
random initiatives' positions (bench-centres.csv), so queries land where initiatives are.
Kinds drawn from the same seed in the same way give the same queries line for line: `tiles`
and `mvt` the same tiles, `simple` and `cql2` (a skill area, a target group and a 1° box) and
`simple-nobox` and `cql2-nobox` (a skill area, a target group and a country, over all the
data) the same filters, as simple parameters and as a CQL2 `filter`."""
import csv
import math
import random
import sys
import urllib.parse

centres_file, kind, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
random.seed(7)
centres = [(float(r[1]), float(r[2])) for r in csv.reader(open(centres_file))]


def tile(lon, lat, z):
    n = 2 ** z
    lat = max(min(lat, 85.0511), -85.0511)
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
    return min(x, n - 1), min(y, n - 1)


SKILL_AREAS = ["basic_digital_skills", "digital_business", "data_ai", "iot", "cybersecurity",
               "cloud", "software_development", "advanced_manufacturing"]
TARGET_GROUPS = ["smes", "employees", "ict_professionals", "job_seekers", "young_people",
                 "educators", "women_in_tech", "general_public", "public_sector"]
COUNTRIES = ["DE", "FR", "IT", "ES", "PL", "NL", "BE", "AT", "SE", "PT"]


def filtered(lon, lat, cql2, box):
    area, group = random.choice(SKILL_AREAS), random.choice(TARGET_GROUPS)
    country = random.choice(COUNTRIES)
    w, s, e, n = lon - 0.5, lat - 0.5, lon + 0.5, lat + 0.5
    if cql2:
        text = f"A_OVERLAPS(skill_areas, ('{area}')) AND A_OVERLAPS(target_groups, ('{group}'))"
        text += f" AND S_INTERSECTS(geometry, BBOX({w:.4f}, {s:.4f}, {e:.4f}, {n:.4f}))" if box else f" AND country = '{country}'"
        query = "filter=" + urllib.parse.quote(text)
    else:
        query = f"skill_area={area}&target_group={group}"
        query += f"&bbox={w:.4f},{s:.4f},{e:.4f},{n:.4f}" if box else f"&country={country}"
    return f"/collections/initiatives/items?{query}&limit=100"


for _ in range(count):
    lon, lat = random.choice(centres)
    if kind == "near":
        print(f"/near?lat={lat:.5f}&lon={lon:.5f}&radius_km=5&limit=100")
    elif kind == "items":
        print(f"/collections/initiatives/items?bbox={lon - 0.05:.4f},{lat - 0.05:.4f},{lon + 0.05:.4f},{lat + 0.05:.4f}&limit=100")
    elif kind in ("tiles", "mvt"):
        z = random.randint(0, 16)
        x, y = tile(lon, lat, z)
        print(f"/tiles/{z}/{x}/{y}.{'geojson' if kind == 'tiles' else 'mvt'}")
    elif kind in ("simple", "cql2", "simple-nobox", "cql2-nobox"):
        print(filtered(lon, lat, kind.startswith("cql2"), not kind.endswith("nobox")))
    else:
        print("/")
