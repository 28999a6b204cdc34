// Each person's library: the panel on every movie page (your rating in half stars, "Want to
// watch", "Watched on <date>") and the Library page (watchlist, diary, ratings, Letterboxd
// import, download my data).

import * as api from "./api.js";
import { ApiError, SignInNeeded } from "./api.js";
import { signInFirst } from "./app.js";
import { movieCard } from "./cards.js";
import { explain, flash, formatDate, h, pagedList } from "./ui.js";

const entryPath = (movieId) => `/api/users/me/library/${encodeURIComponent(movieId)}`;

// A library of up to WHOLE_LIBRARY entries is read whole, in one page of the listing, to find a
// movie's entry. Asking `GET /api/users/me/library/{id}` instead answers 404 for every movie not
// in your library, which the browser logs as a console error on most movie pages (Lighthouse's
// Best Practices counts it) although nothing went wrong; the API has no filter by movie, and its
// contract stays as it is. A larger library asks for the entry itself, as before: after the
// listing said so once, the movie pages of this session skip the listing.
const WHOLE_LIBRARY = 100;
let libraryIsLarge = false;
api.onSessionChange(() => {
  libraryIsLarge = false;
});

/** Your entry for a movie, or null when it is not in your library. */
async function entryOf(movieId) {
  if (!libraryIsLarge) {
    const { body, headers } = await api.request("GET", `/api/users/me/library?limit=${WHOLE_LIBRARY}`, { auth: true });
    if (!api.nextLink(headers)) {
      return body.find((entry) => entry.movie_id === movieId) || null;
    }
    libraryIsLarge = true;
  }
  return entryAskedFor(movieId);
}

/** Your entry for a movie, asked for by itself: null when it is not in your library (a 404). */
async function entryAskedFor(movieId) {
  try {
    return (await api.request("GET", entryPath(movieId), { auth: true })).body;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      return null;
    }
    throw error;
  }
}

/** Writes the whole entry (or removes it, for null); resolves to the entry as stored. */
async function saveEntry(movieId, entry) {
  if (!entry) {
    await api.request("DELETE", entryPath(movieId), { auth: true });
    return null;
  }
  return (await api.request("PUT", entryPath(movieId), { auth: true, body: entry })).body;
}

/** "4½ stars", "1 star", "half a star": what a screen reader says for a rating. */
export function starsText(value) {
  const whole = Math.floor(value);
  const half = value - whole >= 0.5;
  if (whole === 0) {
    return "half a star";
  }
  return `${whole}${half ? "½" : ""} ${whole === 1 && !half ? "star" : "stars"}`;
}

/** The day today in the browser's time zone, as an `<input type=date>` value. */
function today() {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}-${String(now.getDate()).padStart(2, "0")}`;
}

const SVG = "http://www.w3.org/2000/svg";

/** A five-pointed star as SVG (built as elements: no markup from strings). */
function starShape() {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", "M12 1.8l3.1 6.6 7.2.9-5.3 5 1.4 7.1L12 17.9l-6.4 3.5 1.4-7.1-5.3-5 7.2-.9z");
  svg.append(path);
  return svg;
}

let groupIds = 0;

/**
 * Your rating as a radio group of ten half-star values: arrow keys move and choose, a screen
 * reader says "3½ stars, radio button, 7 of 10", and each half of a drawn star is a label to
 * click. `onChoose(value)` is called as the choice changes (arrow keys included: the caller
 * waits for the person to settle).
 */
export function starRating(current, onChoose) {
  const name = `rating-${++groupIds}`;
  const group = h("div", { class: "stars", role: "radiogroup", "aria-labelledby": `${name}-label` });
  const paint = (value) => {
    for (const input of group.querySelectorAll("input")) {
      input.nextElementSibling.classList.toggle("on", value !== null && Number(input.value) <= value);
    }
  };
  for (let step = 1; step <= 10; step++) {
    const value = step / 2;
    const id = `${name}-${step}`;
    const input = h("input", { type: "radio", name, id, value, class: "visually-hidden", "aria-label": starsText(value) });
    input.checked = current === value;
    input.addEventListener("change", () => {
      paint(value);
      onChoose(value);
    });
    const label = h("label", { for: id, class: step % 2 ? "half left" : "half right" }, starShape());
    group.append(input, label);
  }
  paint(current);
  return {
    element: h("div", { class: "stars-field" }, h("span", { id: `${name}-label`, class: "stars-label" }, "Your rating"), group),
    set(value) {
      for (const input of group.querySelectorAll("input")) {
        input.checked = Number(input.value) === value;
      }
      paint(value);
    },
  };
}

/** How long a rating waits for the next arrow key before it is saved. */
const SETTLE_MS = 500;

/**
 * The panel of a movie page for a signed-in person: your rating, want to watch, watched on.
 * Every change is saved at once and said in the panel's status line.
 */
export async function libraryPanel(movie) {
  let entry = await entryOf(movie.id);
  const status = h("p", { class: "hint", role: "status" });
  const watchlist = h("button", { type: "button", class: "secondary" }, "Want to watch");
  const day = h("input", { type: "date", id: "watched-on", max: today() });
  const markWatched = h("button", { type: "button", class: "secondary" }, "Mark as watched");
  const remove = h("button", { type: "button", class: "link" }, "Remove from my library");
  const watchedLine = h("p", {});
  let settle = null;
  const stars = starRating(entry ? entry.rating : null, (value) => {
    clearTimeout(settle);
    settle = setTimeout(() => change({ status: "watched", rating: value, watched_on: entry && entry.watched_on ? entry.watched_on : null }, `Rated ${starsText(value)}.`), SETTLE_MS);
  });
  const clearRating = h("button", { type: "button", class: "link" }, "Clear my rating");

  function show() {
    const watched = entry && entry.status === "watched";
    watchlist.setAttribute("aria-pressed", String(Boolean(entry && entry.status === "watchlist")));
    watchlist.hidden = watched;
    watchedLine.textContent = watched ? (entry.watched_on ? `Watched on ${formatDate(entry.watched_on)}` : "Watched") : "Not watched yet";
    day.value = (entry && entry.watched_on) || today();
    markWatched.textContent = watched && entry.watched_on ? "Change the day" : "Mark as watched";
    stars.set(entry ? entry.rating : null);
    clearRating.hidden = !(entry && entry.rating);
    remove.hidden = !entry;
  }

  async function change(next, said) {
    status.textContent = "Saving…";
    try {
      entry = await saveEntry(movie.id, next);
      status.textContent = said;
    } catch (error) {
      if (error instanceof SignInNeeded) {
        signInFirst();
        return;
      }
      status.textContent = "";
      flash(explain(error), true);
    }
    show();
  }

  watchlist.addEventListener("click", () => {
    const wanted = !(entry && entry.status === "watchlist");
    change(wanted ? { status: "watchlist" } : null, wanted ? "Added to your watchlist." : "Taken off your watchlist.");
  });
  markWatched.addEventListener("click", () => {
    if (!day.value) {
      status.textContent = "Choose the day you watched it.";
      day.focus();
      return;
    }
    change({ status: "watched", rating: entry ? entry.rating : null, watched_on: day.value }, `Watched on ${formatDate(day.value)}.`);
  });
  clearRating.addEventListener("click", () => change({ status: "watched", rating: null, watched_on: entry.watched_on }, "Your rating was cleared."));
  remove.addEventListener("click", () => change(null, "Removed from your library."));
  show();
  return h(
    "section",
    { class: "library-panel card", "aria-labelledby": "library-panel-heading" },
    h("h2", { id: "library-panel-heading" }, "In your library"),
    stars.element,
    h("div", { class: "actions" }, clearRating),
    watchedLine,
    h("div", { class: "actions" }, h("label", { for: "watched-on", class: "inline" }, "Day watched"), day, markWatched, watchlist),
    h("div", { class: "actions" }, remove, h("a", { href: "/library" }, "Your library")),
    status,
  );
}

// ---- The Library page ----

/** The page's three lists: what each asks the API and how each card says its entry. */
const VIEWS = {
  watchlist: { title: "Watchlist", query: "status=watchlist&sort=added", empty: "Nothing on your watchlist. Press “Want to watch” on a movie's page." },
  diary: { title: "Diary", query: "status=watched&sort=watched_on", empty: "No movies watched yet. Mark one as watched on its page." },
  ratings: { title: "Ratings", query: "sort=rating", empty: "You have not rated a movie yet." },
};
const PAGE_SIZE = 20;

function entryNote(entry) {
  const parts = [];
  if (entry.status === "watched") {
    parts.push(entry.watched_on ? `Watched on ${formatDate(entry.watched_on)}` : "Watched");
  } else {
    parts.push(`On your watchlist since ${formatDate(entry.created_at)}`);
  }
  if (entry.rating) {
    parts.push(`you rated it ${starsText(entry.rating)}`);
  }
  return h("p", { class: "entry-note" }, parts.join(" · "));
}

export async function libraryPage(_params, query) {
  if (!api.isSignedIn()) {
    signInFirst("Sign in to see your library.");
    return undefined;
  }
  const view = VIEWS[query.get("view")] ? query.get("view") : "watchlist";
  const { title, query: apiQuery, empty } = VIEWS[view];
  const tabs = h(
    "nav",
    { class: "tabs", "aria-label": "Library" },
    Object.entries(VIEWS).map(([key, { title: label }]) => h("a", { href: `/library?view=${key}`, "aria-current": key === view ? "page" : null }, label)),
  );
  // The ratings order puts unrated entries last: the list ends at the first of them.
  const keep = view === "ratings" ? (entry) => Boolean(entry.rating) : () => true;
  const paged = pagedList(title, `/api/users/me/library?${apiQuery}&limit=${PAGE_SIZE}`, (entry) => movieCard(entry.movie, entryNote(entry)), { auth: true, keep });
  const { kept } = await paged.load();
  return h(
    "section",
    {},
    h("h1", {}, "Your library"),
    tabs,
    h("h2", {}, title),
    kept.length ? paged.list : h("p", {}, empty, " ", h("a", { href: "/" }, "Browse the catalogue")),
    paged.controls,
    importSection(),
    exportSection(),
  );
}

/** The Letterboxd file's kind for the API, from its name (a zip, or one of its CSV files). */
function exportKind(file) {
  const name = file.name.toLowerCase();
  if (name.endsWith(".zip")) {
    return { type: "application/zip", query: "" };
  }
  if (name.endsWith(".csv")) {
    const lone = name.match(/(^|[^a-z])(watched|watchlist)\.csv$/);
    return { type: "text/csv", query: lone ? `?file=${lone[2]}` : "" };
  }
  return null;
}

function importSection() {
  const input = h("input", { type: "file", id: "letterboxd-file", name: "export", accept: ".zip,.csv,application/zip,text/csv", "aria-describedby": "letterboxd-hint" });
  const error = h("p", { class: "error", role: "alert" });
  const report = h("div", { "aria-live": "polite" });
  const button = h("button", { type: "submit" }, "Import");
  const element = h(
    "form",
    { class: "stack", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "letterboxd-file" }, "Letterboxd export"), h("span", { class: "hint", id: "letterboxd-hint" }, "The .zip from Letterboxd's Settings → Data → Export your data (or one of its CSV files)."), input),
    error,
    h("div", { class: "actions" }, button),
  );
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const file = input.files && input.files[0];
    const kind = file && exportKind(file);
    if (!kind) {
      error.textContent = file ? "Choose the .zip (or a .csv) file of a Letterboxd export." : "Choose the export file first.";
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      const body = new Blob([file], { type: kind.type });
      const { body: result } = await api.request("POST", `/api/users/me/library/import${kind.query}`, { auth: true, body });
      report.replaceChildren(importReport(result));
      input.value = "";
    } catch (error_) {
      if (error_ instanceof SignInNeeded) {
        signInFirst();
        return;
      }
      error.textContent = error_ instanceof ApiError && error_.status === 400 ? `This is not a Letterboxd export we can read: ${error_.message}` : explain(error_);
    } finally {
      button.disabled = false;
    }
  });
  return h("section", { "aria-labelledby": "import-heading" }, h("h2", { id: "import-heading" }, "Import from Letterboxd"), element, report);
}

/** What an import did: counts, then each skipped row with its reason. */
function importReport({ matched, created, skipped, entries }) {
  const summary = `Imported ${entries.toLocaleString()} ${entries === 1 ? "movie" : "movies"}: ${matched.toLocaleString()} found in the catalogue, ${created.toLocaleString()} added to it, ${skipped.length.toLocaleString()} ${skipped.length === 1 ? "row" : "rows"} skipped.`;
  const parts = [h("h3", {}, "Import report"), h("p", { class: "import-summary" }, summary)];
  if (skipped.length) {
    parts.push(
      h(
        "table",
        {},
        h("caption", {}, "Rows skipped"),
        h("thead", {}, h("tr", {}, ["File", "Line", "Name", "Why"].map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, skipped.map((row) => h("tr", {}, h("td", {}, row.file || ""), h("td", {}, String(row.line)), h("td", {}, row.name || "(no name)"), h("td", {}, row.reason)))),
      ),
    );
  }
  parts.push(h("p", { class: "actions" }, Object.entries(VIEWS).map(([key, { title }]) => h("a", { href: `/library?view=${key}` }, `See your ${title.toLowerCase()}`))));
  return h("div", { class: "card import-report" }, parts);
}

function exportSection() {
  const button = h("button", { type: "button", class: "secondary" }, "Download my data");
  const said = h("p", { class: "hint", role: "status" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    said.textContent = "";
    try {
      const { body } = await api.request("GET", "/api/users/me/export", { auth: true });
      const link = h("a", { href: URL.createObjectURL(new Blob([JSON.stringify(body, null, 2)], { type: "application/json" })), download: "movie-bag-export.json" });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      said.textContent = "Your data was downloaded as movie-bag-export.json.";
    } catch (error) {
      if (error instanceof SignInNeeded) {
        signInFirst();
        return;
      }
      said.textContent = explain(error);
    } finally {
      button.disabled = false;
    }
  });
  return h(
    "section",
    { "aria-labelledby": "export-heading" },
    h("h2", { id: "export-heading" }, "Download my data"),
    h("p", {}, "Your account, the movies you added and your whole library, as one JSON file."),
    h("div", { class: "actions" }, button),
    said,
  );
}
