// The catalogue: search and filters (with suggestions from the catalogue's own entries), sort,
// counts, the active filters as removable chips, "More movies" that Back remembers; and the
// genre pages. A movie's card is cards.js's movieCard.

import * as api from "./api.js";
import { ApiError } from "./api.js";
import { countOf, explain, fieldName, h, showBusy } from "./ui.js";
import { navigate, rememberInHistory } from "./app.js";
import { movieCard } from "./cards.js";

const PAGE_SIZE = 20;
// The API's largest page: coming back to a list longer than this restores its first 1,000.
const MAX_PAGE = 1000;
const YEARS = { min: 1870, max: 2100 };

const SORTS = [
  ["newest", "Newest first"],
  ["oldest", "Oldest first"],
  ["title", "Title, A to Z"],
  ["year", "Year, latest first"],
  ["rating", "Highest rated"],
];

/** The text filters: query parameter, label, where suggestions come from, example. */
const TEXT_FILTERS = [
  { name: "q", label: "Search", placeholder: "Part of a name" },
  { name: "genre", label: "Genre", source: "/api/genres", placeholder: "e.g. Drama" },
  { name: "cast", label: "Cast", source: "/api/casts", placeholder: "e.g. Al Pacino" },
  { name: "director", label: "Director", source: "/api/directors", placeholder: "e.g. Agnès Varda" },
];

/** What an active filter's chip says. */
const CHIP_TEXT = {
  q: (value) => `Name contains “${value}”`,
  genre: (value) => `Genre: ${value}`,
  cast: (value) => `Cast: ${value}`,
  director: (value) => `Director: ${value}`,
  year_from: (value) => `From ${value}`,
  year_to: (value) => `Until ${value}`,
};

// ---- Reading the address ----

/**
 * The filters and sort of the address, as the API accepts them. What a hand-edited address
 * gets wrong is left out with a note rather than refused: blanks (`?genre=%20`), a year that
 * is not one, an unknown sort.
 */
export function readListing(query) {
  const filters = {};
  const notes = [];
  for (const { name } of TEXT_FILTERS) {
    const value = (query.get(name) || "").trim();
    if (value.length > 200) {
      notes.push(`${capitalizeFirst(fieldName(name))} was longer than 200 characters, so it was left out.`);
    } else if (value) {
      filters[name] = value;
    }
  }
  for (const name of ["year_from", "year_to"]) {
    const raw = (query.get(name) || "").trim();
    if (!raw) {
      continue;
    }
    const year = Number(raw);
    if (Number.isInteger(year) && year >= YEARS.min && year <= YEARS.max) {
      filters[name] = String(year);
    } else {
      notes.push(`“${raw}” is not a year between ${YEARS.min} and ${YEARS.max}, so it was left out.`);
    }
  }
  if (filters.year_from && filters.year_to && Number(filters.year_from) > Number(filters.year_to)) {
    [filters.year_from, filters.year_to] = [filters.year_to, filters.year_from];
  }
  let sort = (query.get("sort") || "newest").trim() || "newest";
  if (!SORTS.some(([value]) => value === sort)) {
    notes.push(`There is no order called “${sort}”: the newest movies come first.`);
    sort = "newest";
  }
  return { filters, sort, notes };
}

/** The catalogue address of `filters` in `sort` order. */
function listingAddress(filters, sort) {
  const params = new URLSearchParams(filters);
  if (sort !== "newest") {
    params.set("sort", sort);
  }
  const query = params.toString();
  return query ? `/?${query}` : "/";
}

function capitalizeFirst(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// ---- The page ----

export async function catalogue(_params, query) {
  const { filters, sort, notes } = readListing(query);
  const filtering = Object.keys(filters).length > 0;
  const page = h("section", {}, h("h1", {}, filtering ? "Search results" : "Catalogue"), searchForm(filters, sort));
  if (notes.length) {
    page.append(h("p", { class: "muted note" }, notes.join(" ")));
  }
  // Coming back (Back, reload) to a list that had more pages loaded: load them all again.
  const loadedBefore = Number(history.state && history.state.loaded) || 0;
  const limit = Math.min(Math.max(PAGE_SIZE, loadedBefore), MAX_PAGE);
  const apiQuery = new URLSearchParams({ ...filters, limit: String(limit), count: "true" });
  if (sort !== "newest") {
    apiQuery.set("sort", sort);
  }
  let response;
  try {
    response = await api.request("GET", `/api/movies?${apiQuery}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) {
      return filtersRefused(page, error);
    }
    throw error;
  }
  const movies = response.body;
  const total = Number.parseInt(response.headers.get("X-Total-Count") || "", 10);
  if (filtering) {
    page.append(chips(filters, sort));
  }
  if (movies.length === 0) {
    page.append(
      filtering
        ? h("p", {}, "No movies match. ", h("a", { href: "/" }, "Show all movies"))
        : h("p", {}, "No movies yet. ", api.isSignedIn() ? h("a", { href: "/movies/new" }, "Add the first one") : h("span", {}, h("a", { href: "/signin" }, "Sign in"), " to add the first one.")),
    );
    return page;
  }
  const list = h("ul", { class: "movies", "aria-label": "Movies" }, movies.map((movie) => movieCard(movie)));
  page.append(listingHead(Number.isFinite(total) ? total : null, filtering, filters, sort), list);
  page.append(moreMovies(list, api.nextLink(response.headers), movies.length));
  return page;
}

/** The page for filters the API refused anyway: what it said, in people's words. */
function filtersRefused(page, error) {
  const reasons = Object.entries(error.fieldErrors).map(([name, why]) => `${capitalizeFirst(fieldName(name))} ${why.join(", ")}.`);
  page.append(
    h("p", { role: "alert" }, "These filters could not be used. ", reasons.join(" ")),
    h("p", {}, h("a", { href: "/" }, "Show all movies")),
  );
  return page;
}

/** "178 movies" or "12 movies match", and the order to show them in. */
function listingHead(total, filtering, filters, sort) {
  const sortSelect = h(
    "select",
    { name: "sort" },
    SORTS.map(([value, label]) => h("option", { value, selected: value === sort }, label)),
  );
  sortSelect.addEventListener("change", () => navigate(listingAddress(filters, sortSelect.value)));
  let count = null;
  if (total !== null) {
    count = filtering ? (total === 1 ? "1 movie matches" : `${countOf(total, "movie", "movies")} match`) : countOf(total, "movie", "movies");
  }
  return h("div", { class: "listing-head" }, h("p", { class: "count" }, count), h("label", {}, "Sort", sortSelect));
}

/** The active filters, each with a button that takes it away. */
function chips(filters, sort) {
  const items = Object.entries(filters).map(([name, value]) => {
    const label = CHIP_TEXT[name](value);
    const remove = h("button", { type: "button", "aria-label": `Remove the filter ${label}` }, "×");
    remove.addEventListener("click", () => {
      const rest = { ...filters };
      delete rest[name];
      navigate(listingAddress(rest, sort));
    });
    return h("li", { class: "chip" }, h("span", {}, label), remove);
  });
  return h(
    "div",
    {},
    h("ul", { class: "chips", "aria-label": "Active filters" }, items, h("li", {}, h("a", { href: listingAddress({}, sort) }, "Clear all"))),
  );
}

/**
 * "More movies": appends the next page, remembers in the history entry how many are loaded (so
 * Back and reload bring them all back) and says next to the button when a page cannot load.
 */
function moreMovies(list, firstNext, firstCount) {
  let next = firstNext;
  let loaded = firstCount;
  const more = h("button", { type: "button", class: "secondary" }, "More movies");
  const problem = h("p", { class: "error", role: "alert" });
  const box = h("div", { class: "more" }, more, problem);
  let busy = false;
  more.addEventListener("click", async () => {
    if (busy) {
      return;
    }
    busy = true;
    problem.textContent = "";
    const done = showBusy(box, more);
    try {
      const response = await api.request("GET", withoutCount(next));
      const items = response.body.map((movie) => movieCard(movie));
      list.append(...items);
      loaded += items.length;
      rememberInHistory({ loaded });
      items[0]?.querySelector("a")?.focus();
      next = api.nextLink(response.headers);
      more.hidden = !next;
    } catch (error) {
      problem.textContent = `More movies could not be loaded. ${explain(error)} Press the button to try again.`;
    } finally {
      done();
      busy = false;
    }
  });
  more.hidden = !next;
  return box;
}

/** A next-page link without `count=true`: the total is known, no need to count every page. */
function withoutCount(link) {
  const address = new URL(link, location.origin);
  address.searchParams.delete("count");
  return address.pathname + address.search;
}

// ---- The search form ----

/** Filters (not the name search) that are set: the panel holding them starts open. */
const PANEL_FILTERS = ["genre", "cast", "director", "year_from", "year_to"];

/**
 * The name search with its button, then the other filters in a panel: open when one of them is
 * set, closed otherwise, so five fields do not push the movies below the fold (on a phone, and
 * on a desktop screen, where the cards start a row higher).
 */
function searchForm(filters, sort) {
  const [nameSearch, ...panelFields] = TEXT_FILTERS.map(({ name, label, source, placeholder }) =>
    source ? suggestingField(name, label, source, filters[name] || "", placeholder) : plainSearchField(name, label, filters[name] || "", placeholder),
  );
  const years = h(
    "fieldset",
    { class: "years" },
    h("legend", {}, "Years"),
    yearField("year_from", "from", filters.year_from),
    yearField("year_to", "to", filters.year_to),
  );
  const set = PANEL_FILTERS.filter((name) => filters[name]).length;
  const panel = h(
    "details",
    { class: "filters", open: set > 0 },
    h("summary", {}, set ? `Filters (${set} set)` : "Filters"),
    h("div", { class: "filter-fields" }, panelFields, years),
  );
  const search = h(
    "form",
    { class: "search", role: "search", "aria-label": "Movies" },
    h("div", { class: "name-search" }, nameSearch, h("button", { type: "submit" }, "Search")),
    panel,
  );
  search.addEventListener("submit", (event) => {
    event.preventDefault();
    const typed = {};
    for (const [name, value] of new FormData(search).entries()) {
      if (String(value).trim()) {
        typed[name] = String(value).trim();
      }
    }
    navigate(listingAddress(typed, sort));
  });
  return search;
}

function plainSearchField(name, label, value, placeholder) {
  return h("label", {}, label, h("input", { type: "search", name, value, placeholder }));
}

function yearField(name, label, value) {
  return h("label", {}, label, h("input", { type: "number", name, value: value || "", min: YEARS.min, max: YEARS.max, inputmode: "numeric", placeholder: name === "year_from" ? "1970" : "1999" }));
}

let comboboxes = 0;

/**
 * A text field that suggests entries of the catalogue as one types (the WAI-ARIA combobox
 * with a list popup): Down and Up move through the suggestions, Enter takes one, Escape closes
 * them; a click takes one too. Suggestions match the start of any word ("pac": Al Pacino).
 */
function suggestingField(name, label, source, value, placeholder) {
  const id = `filter-${name}-${++comboboxes}`;
  const listId = `${id}-suggestions`;
  const input = h("input", {
    id,
    name,
    value,
    placeholder,
    role: "combobox",
    autocomplete: "off",
    "aria-autocomplete": "list",
    "aria-expanded": "false",
    "aria-controls": listId,
  });
  const list = h("ul", { id: listId, role: "listbox", class: "suggestions", "aria-label": `${label} suggestions`, hidden: true });
  let entries = [];
  let active = -1;
  let asked = 0;
  let timer = null;

  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const highlight = (index) => {
    active = index;
    [...list.children].forEach((option, at) => option.setAttribute("aria-selected", String(at === index)));
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", `${listId}-${index}`);
      list.children[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  };
  const choose = (entry) => {
    input.value = entry.name;
    close();
  };
  const open = (found) => {
    entries = found;
    list.replaceChildren(
      ...found.map((entry, at) => {
        const option = h("li", { id: `${listId}-${at}`, role: "option", "aria-selected": "false" }, h("span", {}, entry.name), " ", h("span", { class: "muted" }, countOf(entry.count, "movie", "movies")));
        // mousedown, not click: the input keeps the focus (its blur would close the list first).
        option.addEventListener("mousedown", (event) => {
          event.preventDefault();
          choose(entry);
        });
        return option;
      }),
    );
    list.hidden = found.length === 0;
    input.setAttribute("aria-expanded", String(found.length > 0));
    highlight(-1);
  };
  const suggest = async () => {
    const text = input.value.trim();
    const ticket = ++asked;
    if (!text) {
      close();
      return;
    }
    try {
      const { body } = await api.request("GET", `${source}?${new URLSearchParams({ q: text, limit: "8" })}`);
      if (ticket === asked && document.activeElement === input) {
        open(body);
      }
    } catch {
      // Suggestions are a help, not the search: without them the field still works.
      close();
    }
  };

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(suggest, 150);
  });
  input.addEventListener("keydown", (event) => {
    const expanded = !list.hidden;
    if (event.key === "ArrowDown" && entries.length) {
      event.preventDefault();
      if (!expanded) {
        open(entries);
      }
      highlight((active + 1) % entries.length);
    } else if (event.key === "ArrowUp" && expanded) {
      event.preventDefault();
      highlight(active <= 0 ? entries.length - 1 : active - 1);
    } else if (event.key === "Enter" && expanded && active >= 0) {
      event.preventDefault();
      choose(entries[active]);
    } else if (event.key === "Escape" && expanded) {
      event.preventDefault();
      close();
    }
  });
  input.addEventListener("blur", close);
  return h("div", { class: "field combo" }, h("label", { for: id }, label), input, list);
}

// ---- Genres ----

export async function genresPage() {
  const { body: genres } = await api.request("GET", "/api/genres?limit=100");
  const page = h("section", {}, h("h1", {}, "Genres"));
  if (genres.length === 0) {
    page.append(h("p", {}, "No genres yet: they come with the movies. ", h("a", { href: "/" }, "Back to the catalogue")));
    return page;
  }
  page.append(
    h("p", { class: "muted" }, genres.length === 100 ? "The 100 most used genres, most used first." : "Every genre in the catalogue, most used first."),
    h(
      "ul",
      { class: "genres", "aria-label": "Genres" },
      genres.map((genre) =>
        h("li", {}, h("a", { href: listingAddress({ genre: genre.name }, "newest") }, h("span", {}, genre.name), " ", h("span", { class: "muted" }, countOf(genre.count, "movie", "movies")))),
      ),
    ),
  );
  return page;
}
