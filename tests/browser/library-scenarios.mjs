// Posters, cards, ratings and the library, as a person uses them. These run on a server of their
// own (20 seeded movies with drawn posters, verified email not required), so the shared one's
// scenarios keep the catalogue they expect.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { pngPoster, zipOf } from "./files.mjs";

/**
 * Adds the scenarios through `scenario`, with run.mjs's helpers: `person()`, `heading(page, name)`,
 * `check(page, kind)`, `startServer(settings)`, and the test password. Returns the server's
 * `base()` address, `api()`, `signedIn(email)` for other scenarios on it, and `stop()`.
 */
export function registerLibraryScenarios({ scenario, person, heading, check, startServer, password }) {
  let server = null;
  const base = async () => {
    if (!server) {
      server = await startServer({ REQUIRE_VERIFIED_EMAIL: "false" });
      server.cli("seed", "--movies", "20");
    }
    return server.base;
  };
  const accounts = new Map();

  async function api(method, path, { token, body, type } = {}) {
    const headers = {};
    if (token) {
      headers.Authorization = `Bearer ${token}`;
    }
    if (body !== undefined) {
      headers["Content-Type"] = type || "application/json";
    }
    const response = await fetch(`${await base()}${path}`, { method, headers, body: type || body === undefined ? body : JSON.stringify(body) });
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
    return response.status === 204 ? null : response.json();
  }

  /** An account made through the API, signed in on a fresh browser profile through the page. */
  async function signedIn(email) {
    if (!accounts.has(email)) {
      await api("POST", "/api/auth/signup", { body: { email, password } });
      accounts.set(email, true);
    }
    const { token } = await api("POST", "/api/auth/login", { body: { email, password } });
    const who = await person();
    await who.page.goto(`${await base()}/signin`);
    await heading(who.page, "Sign in");
    await who.page.getByLabel("Email").fill(email);
    await who.page.getByLabel("Password").fill(password);
    await who.page.getByRole("button", { name: "Sign in", exact: true }).click();
    await who.page.getByText("You are signed in").waitFor();
    return { ...who, token };
  }

  scenario("the catalogue's first load with 20 posters is under 150 KB before any poster and under 400 KB with the thumbnails in view", async () => {
    const address = await base();
    const { context, page } = await person();
    const requests = [];
    page.on("requestfinished", (request) => requests.push(request));
    await page.goto(`${address}/`, { waitUntil: "load" });
    await heading(page, "Catalogue");
    await page.locator("ul.movies img.poster").first().waitFor();
    await page.waitForLoadState("networkidle");
    let beforePosters = 0;
    let withPosters = 0;
    let posterCount = 0;
    for (const request of requests) {
      const sizes = await request.sizes();
      const bytes = sizes.responseBodySize + sizes.responseHeadersSize;
      withPosters += bytes;
      if (request.resourceType() === "image" && new URL(request.url()).pathname.startsWith("/api/posters/")) {
        posterCount += 1;
      } else {
        beforePosters += bytes;
      }
    }
    console.log(`    first load of / with posters: ${beforePosters} bytes before any poster, ${withPosters} bytes with ${posterCount} posters`);
    assert.ok(beforePosters < 150 * 1024, `before posters: ${beforePosters} bytes`);
    assert.ok(withPosters < 400 * 1024, `with posters: ${withPosters} bytes`);
    assert.ok(posterCount >= 9, `only ${posterCount} posters loaded with the first screen`);

    // Each thumbnail is sized before it loads, lazy, and fetched at the narrowest rendition.
    const movies = await (await fetch(`${address}/api/movies?limit=20`)).json();
    const thumbnails = await page.locator("ul.movies img.poster").evaluateAll((images) =>
      images.map((image) => ({ width: image.getAttribute("width"), height: image.getAttribute("height"), loading: image.loading, srcset: image.srcset, current: image.currentSrc, complete: image.complete })),
    );
    assert.equal(thumbnails.length, movies.filter((movie) => movie.poster).length);
    for (const [index, thumbnail] of thumbnails.entries()) {
      const poster = movies[index].poster;
      assert.equal(thumbnail.width, "64");
      assert.equal(thumbnail.height, String(Math.round((64 * poster.height) / poster.width)));
      assert.equal(thumbnail.loading, "lazy");
      assert.equal(thumbnail.srcset.split(",").length, poster.sources.length);
      if (thumbnail.complete && thumbnail.current) {
        assert.equal(new URL(thumbnail.current).pathname, poster.sources[0].url, "the 160 px rendition");
      }
    }
    // Compact cards: a desktop screen shows many more than four or five.
    const inFirstScreen = await page.locator("ul.movies > li").evaluateAll((cards) => cards.filter((card) => card.getBoundingClientRect().bottom <= window.innerHeight).length);
    await check(page, "catalogue-posters");
    assert.ok(inFirstScreen >= 9, `${inFirstScreen} cards fit the first 1280 x 800 screen`);
    await context.close();
  });

  scenario("a card shortens a 40-name cast to three names and how many more", async () => {
    const { context, page, token } = await signedIn("cast@example.com");
    const casts = Array.from({ length: 40 }, (_, i) => `Actor Number ${i + 1}`);
    const { id } = await api("POST", "/api/movies", { token, body: { name: "Crowded", year: 2001, casts, genres: ["Drama"] } });
    await page.goto(`${await base()}/?q=Crowded`);
    const card = page.locator("ul.movies > li", { has: page.getByRole("link", { name: "Crowded" }) });
    await card.getByText("Actor Number 1, Actor Number 2, Actor Number 3 and 37 more").waitFor();
    assert.ok(!(await card.textContent()).includes("Actor Number 40"), "the 40th name is not printed in the card");
    // The movie page has them all, each a link to the movies with that actor.
    await card.getByRole("link", { name: "Crowded" }).click();
    await heading(page, "Crowded");
    assert.equal(await page.getByRole("list", { name: "Cast" }).getByRole("link").count(), 40);
    await page.getByRole("link", { name: "Actor Number 40" }).click();
    assert.equal(new URL(page.url()).searchParams.get("cast"), "Actor Number 40");
    await page.getByRole("link", { name: "Crowded" }).waitFor();
    assert.ok(id);
    await context.close();
  });

  scenario("add a movie with its poster previewed before saving, then replace the poster and remove it", async () => {
    const { context, page } = await signedIn("poster@example.com");
    await page.getByRole("link", { name: "Add a movie" }).click();
    await heading(page, "Add a movie");
    await page.getByLabel("Name").fill("Night Train");
    await page.getByLabel("Year").fill("1959");
    await page.getByLabel("Runtime in minutes").fill("107");
    await page.getByLabel("Directors").fill("Jerzy Kawalerowicz");
    await page.getByLabel("Cast").fill("Lucyna Winnicka\nLeon Niemczyk");
    await page.getByLabel("Genres").fill("Thriller");
    await page.getByLabel("Overview").fill("Strangers share a sleeper compartment on the way to the coast.");
    // A file that only claims to be an image is refused before anything is sent.
    await page.locator("#poster-file").setInputFiles({ name: "not-really.png", mimeType: "image/png", buffer: Buffer.from("not an image at all") });
    await page.getByText("This file could not be read as an image").waitFor();
    await page.locator("#poster-file").setInputFiles({ name: "night-train.png", mimeType: "image/png", buffer: pngPoster(400, 600, [20, 40, 90], [200, 120, 40]) });
    await page.getByRole("img", { name: "Preview of night-train.png" }).waitFor();
    await page.getByText("night-train.png will be the poster when you save").waitFor();
    await check(page, "movie-new-poster-preview");
    await page.getByRole("button", { name: "Add movie" }).click();
    await heading(page, "Night Train");
    const poster = page.getByRole("img", { name: "Poster of Night Train" });
    await poster.waitFor();
    await page.waitForFunction(() => document.querySelector("img.poster")?.complete && document.querySelector("img.poster").naturalWidth > 0);
    const first = await poster.evaluate((image) => ({ src: image.currentSrc, width: image.getAttribute("width"), height: image.getAttribute("height") }));
    assert.deepEqual([first.width, first.height], ["256", "384"]);
    // The record's fields, the directors and genres as links to filtered lists.
    for (const text of ["1959", "1 h 47 min", "Strangers share a sleeper compartment", "Not rated yet"]) {
      await page.getByText(text).first().waitFor();
    }
    assert.equal(await page.getByRole("link", { name: "Jerzy Kawalerowicz" }).getAttribute("href"), "/?director=Jerzy%20Kawalerowicz");
    assert.equal(await page.getByRole("link", { name: "Thriller" }).getAttribute("href"), "/?genre=Thriller");
    await check(page, "movie-with-poster");

    await page.getByRole("link", { name: "Edit" }).click();
    await heading(page, "Edit “Night Train”");
    await page.getByRole("img", { name: "Current poster of Night Train" }).waitFor();
    await page.locator("#poster-file").setInputFiles({ name: "other.png", mimeType: "image/png", buffer: pngPoster(300, 450, [90, 10, 10], [10, 90, 10]) });
    await page.getByRole("img", { name: "Preview of other.png" }).waitFor();
    await check(page, "movie-edit-poster");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("Your changes were saved").waitFor();
    await page.waitForFunction((old) => document.querySelector("img.poster")?.currentSrc && document.querySelector("img.poster").currentSrc !== old, first.src);

    await page.getByRole("link", { name: "Edit" }).click();
    await heading(page, "Edit “Night Train”");
    await page.getByRole("button", { name: "Remove poster" }).click();
    await page.getByText("The poster will be removed when you save").waitFor();
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("Your changes were saved").waitFor();
    await heading(page, "Night Train");
    assert.equal(await page.locator("main img").count(), 0, "no poster: the placeholder, not an image");
    await page.locator(".movie-poster .placeholder").waitFor();
    await context.close();
  });

  scenario("rate a movie in half stars by keyboard, want to watch another, mark one watched on a day, and find them in the library", async () => {
    const address = await base();
    const { context, page, token } = await signedIn("rater@example.com");
    const movies = await (await fetch(`${address}/api/movies?limit=3`)).json();
    const [rated, wanted] = movies;
    await page.goto(`${address}/movies/${rated.id}`);
    await heading(page, rated.name);
    await page.getByRole("radiogroup", { name: "Your rating" }).waitFor();
    // A screen reader hears each value; arrow keys move through the ten of them.
    await page.getByRole("radio", { name: "half a star" }).focus();
    await page.keyboard.press("Space");
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press("ArrowRight");
    }
    await page.getByText("Rated 3½ stars.").waitFor();
    assert.ok(await page.getByRole("radio", { name: "3½ stars" }).isChecked());
    assert.equal((await api("GET", `/api/users/me/library/${rated.id}`, { token })).rating, 3.5);
    await page.getByLabel("Day watched").fill("2024-05-17");
    await page.getByRole("button", { name: "Mark as watched" }).click();
    await page.getByText("Watched on May 17, 2024").first().waitFor();
    await check(page, "movie-rated");
    await page.reload();
    await heading(page, rated.name);
    await page.getByText("3.5 out of 5 from 1 rating").waitFor();
    assert.ok(await page.getByRole("radio", { name: "3½ stars" }).isChecked(), "the rating is there after a reload");

    await page.goto(`${address}/movies/${wanted.id}`);
    await heading(page, wanted.name);
    const want = page.getByRole("button", { name: "Want to watch" });
    assert.equal(await want.getAttribute("aria-pressed"), "false");
    await want.click();
    await page.getByText("Added to your watchlist.").waitFor();
    assert.equal(await want.getAttribute("aria-pressed"), "true");

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Library" }).click();
    await heading(page, "Your library");
    await page.getByRole("list", { name: "Watchlist" }).getByRole("link", { name: wanted.name }).waitFor();
    await check(page, "library");
    await page.getByRole("link", { name: "Diary" }).click();
    const diary = page.getByRole("list", { name: "Diary" });
    await diary.getByRole("link", { name: rated.name }).waitFor();
    await diary.getByText("Watched on May 17, 2024 · you rated it 3½ stars").waitFor();
    await page.getByRole("link", { name: "Ratings" }).click();
    await page.getByRole("list", { name: "Ratings" }).getByRole("link", { name: rated.name }).waitFor();
    assert.equal(await page.getByRole("list", { name: "Ratings" }).locator(":scope > li").count(), 1, "only rated movies");
    await check(page, "library-ratings");
    await context.close();
  });

  scenario("a movie page not in your library says “Not watched yet” and asks nothing that answers 404; one in it shows your rating", async () => {
    const address = await base();
    const { context, page, token } = await signedIn("browser@example.com");
    const [kept, other] = (await (await fetch(`${address}/api/movies?limit=5`)).json()).slice(3);
    await api("PUT", `/api/users/me/library/${kept.id}`, { token, body: { status: "watched", rating: 4 } });
    const refused = [];
    page.on("response", (response) => {
      if (response.status() >= 400) {
        refused.push(`${response.request().method()} ${new URL(response.url()).pathname} ${response.status()}`);
      }
    });
    await page.goto(`${address}/movies/${other.id}`);
    await heading(page, other.name);
    await page.getByText("Not watched yet").waitFor();
    assert.equal(await page.getByRole("button", { name: "Want to watch" }).getAttribute("aria-pressed"), "false");
    assert.equal(await page.getByRole("radio", { checked: true }).count(), 0, "no rating is shown");
    await page.goto(`${address}/movies/${kept.id}`);
    await heading(page, kept.name);
    await page.getByText("Watched", { exact: true }).waitFor();
    assert.ok(await page.getByRole("radio", { name: "4 stars" }).isChecked(), "your rating is shown");
    assert.deepEqual(refused, [], "no request was answered with an error");
    await context.close();
  });

  scenario("on a phone the signed-in navigation is drawn before the profile answers, so the page does not jump when it does", async () => {
    const address = await base();
    const { context, page } = await signedIn("jumper@example.com");
    await page.setViewportSize({ width: 375, height: 800 });
    let release;
    const held = new Promise((resolve) => {
      release = resolve;
    });
    let asked = false;
    await page.route(/\/api\/users\/me$/, async (route) => {
      asked = true;
      await held;
      await route.continue();
    });
    await page.goto(`${address}/library`);
    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "Library" }).waitFor();
    await nav.getByRole("button", { name: "Sign out" }).waitFor();
    assert.ok(asked, "the profile was asked for and is still unanswered");
    const barBefore = await page.locator("header.bar").boundingBox();
    release();
    await heading(page, "Your library");
    await page.waitForLoadState("networkidle");
    const barAfter = await page.locator("header.bar").boundingBox();
    assert.equal(barAfter.height, barBefore.height, "the bar kept its height when the profile came");
    await context.close();
  });

  scenario("import a Letterboxd export zip, read the report of matched, created and skipped rows, and download my data", async () => {
    const address = await base();
    const { context, page } = await signedIn("letterboxd@example.com");
    const [known] = await (await fetch(`${address}/api/movies?limit=1`)).json();
    const year = known.year === null ? "" : String(known.year);
    const quoted = `"${known.name.replace(/"/g, '""')}"`;
    const zip = zipOf({
      "profile.csv": "Date Joined,Username\n2020-01-01,someone\n",
      "watchlist.csv": `Date,Name,Year,Letterboxd URI\n2024-01-02,A Film Nobody Has Added,1999,https://boxd.it/a\n`,
      "ratings.csv": `Date,Name,Year,Letterboxd URI,Rating\n2024-02-03,${quoted},${year},https://boxd.it/b,4.5\n`,
      "diary.csv": `Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n2024-02-03,${quoted},${year},https://boxd.it/b,4.5,,,2024-02-01\n2024-02-04,,2000,https://boxd.it/c,3,,,2024-02-04\n`,
      "watched.csv": `Date,Name,Year,Letterboxd URI\n2024-02-03,${quoted},${year},https://boxd.it/b\n`,
    });
    await page.goto(`${address}/library`);
    await heading(page, "Your library");
    await page.getByLabel("Letterboxd export").setInputFiles({ name: "letterboxd-someone-2024.zip", mimeType: "application/zip", buffer: zip });
    await page.getByRole("button", { name: "Import" }).click();
    await page.getByText("Imported 2 movies: 1 found in the catalogue, 1 added to it, 1 row skipped.").waitFor();
    const skipped = page.getByRole("table", { name: "Rows skipped" });
    await skipped.getByRole("cell", { name: "diary.csv" }).waitFor();
    await skipped.getByRole("cell", { name: "(no name)" }).waitFor();
    await check(page, "library-import-report");
    await page.getByRole("link", { name: "See your diary" }).click();
    await page.getByRole("list", { name: "Diary" }).getByRole("link", { name: known.name }).waitFor();

    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "Download my data" }).click();
    const file = await download;
    assert.equal(file.suggestedFilename(), "movie-bag-export.json");
    const data = JSON.parse(readFileSync(await file.path(), "utf8"));
    assert.equal(data.account.email, "letterboxd@example.com");
    assert.equal(data.library.length, 2);
    await page.getByText("Your data was downloaded").waitFor();
    await context.close();
  });

  return {
    base,
    api,
    signedIn,
    async stop() {
      if (server) {
        await server.stop();
      }
    },
  };
}
