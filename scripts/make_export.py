#!/usr/bin/env python3
"""Writes the Flask tutorial's collections the way `mongoexport` does (JSON lines, relaxed
Extended JSON) for the import benchmark: USERS users sharing one real flask-bcrypt hash (the
import copies hashes, so their cost does not matter here) and MOVIES movies spread over them,
each user's `movies` listing theirs.

    scripts/make_export.py DIR USERS MOVIES [--untidy]

--untidy: every movie lacks `casts` and has `genres` as a string, as careless data can: two
report notes per movie, for measuring that notes are not held in memory.
"""
import json
import os
import sys

# bcrypt.hashpw(b"tutorial-password", bcrypt.gensalt(12)), as flask-bcrypt stores it.
HASH = "$2b$12$OVhkJ90oZgNYBlOcXHTzX.XJP5EHjHOyLA3NlB5NtTd3iwvUPfINK"
GENRES = ["Action", "Comedy", "Crime", "Drama", "Fantasy", "Horror", "Romance", "Sci-Fi", "Thriller", "Western"]
START = 1_500_000_000


def oid(seconds, counter):
    return {"$oid": f"{seconds:08x}{counter:016x}"}


def movie_oid(users, m):
    return oid(START + 10 * users + m, 1_000_000_000 + m)


def main():
    directory, users, movies = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    untidy = "--untidy" in sys.argv[4:]
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "user.json"), "w") as out:
        for u in range(users):
            # As the tutorial keeps it: each user lists the movies they added.
            added = [movie_oid(users, m) for m in range(u, movies, users)]
            out.write(json.dumps({"_id": oid(START + u, u), "email": f"user{u}@example.com", "password": HASH, "movies": added}) + "\n")
    with open(os.path.join(directory, "movie.json"), "w") as out:
        for m in range(movies):
            owner = m % users
            movie = {
                "_id": movie_oid(users, m),
                "name": f"Movie number {m}",
                "casts": [f"Actor {m % 5000}", f"Actor {(m * 7 + 13) % 5000}"],
                "genres": [GENRES[m % 10], GENRES[(m // 10 + 3) % 10]],
                "added_by": oid(START + owner, owner),
            }
            if untidy:
                del movie["casts"]
                movie["genres"] = GENRES[m % 10]
            out.write(json.dumps(movie) + "\n")


if __name__ == "__main__":
    main()
