// How a movie looks wherever it appears: its poster (or a placeholder of the same size), and the
// compact card of the catalogue, the library and the account's list.

import { h } from "./ui.js";

/** How wide a card's thumbnail is drawn, in CSS pixels (app.css `.card-poster`). */
export const THUMBNAIL_WIDTH = 64;
/** Names of the cast a card shows before "and N more". */
const CAST_SHOWN = 3;

/**
 * The poster of `movie` drawn `width` CSS pixels wide: an `<img>` whose `srcset` lists every
 * rendition, so the browser fetches the narrowest one that is sharp at this width and density;
 * `width` and `height` are set from the poster's own ratio, so nothing moves when it arrives.
 * `sizes` says how wide it is drawn when that depends on the viewport. Without a poster, a
 * placeholder box of the same size (not an image: nothing to fetch).
 */
export function posterImage(movie, { width, sizes = `${width}px`, eager = false, alt = "" }) {
  const poster = movie.poster;
  if (!poster || !poster.sources || poster.sources.length === 0) {
    return posterPlaceholder(movie.name);
  }
  const height = Math.round((width * poster.height) / poster.width);
  const fallback = poster.sources.find((source) => source.width >= width) || poster.sources[poster.sources.length - 1];
  return h("img", {
    class: "poster",
    src: fallback.url,
    srcset: poster.sources.map((source) => `${source.url} ${source.width}w`).join(", "),
    sizes,
    width,
    height,
    alt,
    loading: eager ? "eager" : "lazy",
    fetchpriority: eager ? "high" : null,
    decoding: "async",
  });
}

/**
 * A box with the name's initials, for a movie without a poster; its size comes from where it
 * stands (app.css), like the poster it replaces.
 */
export function posterPlaceholder(name) {
  const initials = String(name)
    .split(/\s+/)
    .filter((word) => /\p{L}|\p{N}/u.test(word))
    .slice(0, 2)
    .map((word) => [...word.replace(/^[^\p{L}\p{N}]+/u, "")][0] || "")
    .join("")
    .toUpperCase();
  return h(
    "span",
    { class: "poster placeholder", "aria-hidden": "true" },
    h("span", {}, initials),
  );
}

/** "2 h 50 min", "45 min". */
export function formatRuntime(minutes) {
  if (!minutes) {
    return "";
  }
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return [hours ? `${hours} h` : "", rest ? `${rest} min` : ""].filter(Boolean).join(" ");
}

/** "Al Pacino, Robert De Niro, Val Kilmer and 37 more": a card never prints a long cast whole. */
export function castSummary(casts) {
  if (casts.length <= CAST_SHOWN + 1) {
    return casts.join(", ");
  }
  return `${casts.slice(0, CAST_SHOWN).join(", ")} and ${casts.length - CAST_SHOWN} more`;
}

/** "★ 4.2 (12)" for a movie people rated; nothing for one nobody did. */
export function ratingBadge(rating, { long = false } = {}) {
  if (!rating || rating.average === null || rating.average === undefined || !rating.count) {
    return long ? h("span", { class: "muted" }, "Not rated yet") : null;
  }
  const average = rating.average.toLocaleString(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const count = rating.count.toLocaleString();
  const people = `${count} ${rating.count === 1 ? "rating" : "ratings"}`;
  if (long) {
    return h("span", { class: "rating" }, h("span", { "aria-hidden": "true" }, "★ "), `${average} out of 5 from ${people}`);
  }
  return h("span", { class: "rating", title: `Average ${average} out of 5 from ${people}` }, h("span", { "aria-hidden": "true" }, "★ "), average, h("span", { class: "visually-hidden" }, ` out of 5 from ${people}`), h("span", { "aria-hidden": "true" }, ` (${count})`));
}

/** Links to the catalogue filtered by each value: `tagLinks("Genres", "genre", ["Crime"])`. */
export function tagLinks(label, filter, values) {
  return h(
    "ul",
    { class: "tags", "aria-label": label },
    values.map((value) => h("li", {}, h("a", { href: `/?${filter}=${encodeURIComponent(value)}` }, value))),
  );
}

/** The year, runtime and directors of a card, as one muted line. */
function factsLine(movie) {
  const parts = [movie.year ? String(movie.year) : "", formatRuntime(movie.runtime), movie.directors && movie.directors.length ? `by ${movie.directors.join(", ")}` : ""].filter(Boolean);
  return parts.length ? h("p", { class: "card-facts muted" }, parts.join(" · ")) : null;
}

/**
 * A movie as a compact card: thumbnail, name (the link to its page), year, runtime, directors,
 * rating, genres and the first names of the cast. `extra` goes at the end (a library card's
 * rating and day).
 */
export function movieCard(movie, extra = null) {
  return h(
    "li",
    { class: "card" },
    h("div", { class: "card-poster" }, posterImage(movie, { width: THUMBNAIL_WIDTH })),
    h(
      "div",
      { class: "card-body" },
      h("h2", {}, h("a", { href: `/movies/${encodeURIComponent(movie.id)}` }, movie.name)),
      factsLine(movie),
      ratingBadge(movie.rating),
      movie.genres.length ? tagLinks("Genres", "genre", movie.genres) : null,
      movie.casts.length ? h("p", { class: "card-cast muted" }, castSummary(movie.casts)) : null,
      extra,
    ),
  );
}
