#!/usr/bin/env python3
"""Creates the benchmark's movies through the API over one keep-alive connection and prints
their ids, one a line, in creation order (scripts/bench.sh).

    scripts/bench-seed.py BASE_URL TOKEN COUNT
"""
import http.client
import json
import sys
import urllib.parse

base, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
url = urllib.parse.urlsplit(base)
connection = http.client.HTTPConnection(url.hostname, url.port)
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
for i in range(1, count + 1):
    movie = {
        "name": f"Movie {i}",
        "year": 1950 + i % 75,
        "runtime": 80 + i % 100,
        "casts": [f"Actor {i}", f"Actor {i + 1}"],
        "directors": [f"Director {i % 9}"],
        "genres": ["Drama", f"Genre {i % 7}"],
        "overview": f"Movie {i} of the benchmark: a one-line overview of the plot.",
    }
    connection.request("POST", "/api/movies", json.dumps(movie), headers)
    response = connection.getresponse()
    body = response.read()
    if response.status not in (200, 201):
        sys.exit(f"creating movie {i}: {response.status} {body[:200]!r}")
    print(json.loads(body)["id"])
