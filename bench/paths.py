"""Request paths for the HTTP benchmark, drawn like the data: centres are the benchmark's
random initiatives' positions (bench-centres.csv), so queries land where initiatives are."""
import csv
import math
import random
import sys

centres_file, kind, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
random.seed(7)
centres = [(float(r[1]), float(r[2])) for r in csv.reader(open(centres_file))]


def tile(lon, lat, z):
    n = 2 ** z
    lat = max(min(lat, 85.0511), -85.0511)
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
    return min(x, n - 1), min(y, n - 1)


for _ in range(count):
    lon, lat = random.choice(centres)
    if kind == "near":
        print(f"/near?lat={lat:.5f}&lon={lon:.5f}&radius_km=5&limit=100")
    elif kind == "items":
        print(f"/collections/initiatives/items?bbox={lon - 0.05:.4f},{lat - 0.05:.4f},{lon + 0.05:.4f},{lat + 0.05:.4f}&limit=100")
    elif kind == "tiles":
        z = random.randint(0, 16)
        x, y = tile(lon, lat, z)
        print(f"/tiles/{z}/{x}/{y}.geojson")
    else:
        print("/")
