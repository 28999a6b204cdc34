// The pages of movie-bag and the router between them. Every page has its own URL (bookmark it,
// share it, go back to it); links change the page without reloading.

import * as api from "./api.js";
import { ApiError, NetworkError, SignInNeeded } from "./api.js";
import { codeRefused, confirmDialog, explain, field, flash, form, formatDate, h, lines } from "./ui.js";
// The catalogue, genre and admin pages.
import { catalogue, genresPage } from "./catalogue.js";
import { usersPage } from "./admin.js";
// Posters, cards, the library and the account pages.
import { formatRuntime, posterImage, ratingBadge, tagLinks } from "./cards.js";
import { libraryPanel, libraryPage } from "./library.js";
import { posterPicker, savePoster } from "./posters.js";
import { accountMoviesPage, accountPage, checkRepeatedPassword, newPasswordFields, securityPage, showVerifyBanner } from "./account.js";

const main = document.getElementById("main");

// ---- Routing ----

// The pages, by path in the server's syntax (`{id}` is one path segment), first match wins. The
// server reads this table to serve the page shell at exactly these paths (`src/http/web.rs`), so
// a page is added here only: one `["/path", page],` entry a line.
const routes = [
  ["/", catalogue],
  ["/index.html", catalogue],
  ["/signin", signInPage],
  ["/signup", signUpPage],
  ["/forgot", forgotPage],
  ["/reset", resetPage],
  ["/verify", verifyPage],
  ["/account", accountPage],
  ["/account/movies", accountMoviesPage],
  ["/account/security", securityPage],
  ["/admin/users", usersPage],
  ["/movies/new", newMoviePage],
  ["/movies/{id}/edit", editMoviePage],
  ["/movies/{id}", moviePage],
  ["/genres", genresPage],
  ["/library", libraryPage],
].map(([path, page]) => [pathPattern(path), page]);

/** `/movies/{id}` as `^/movies/([^/]+)$`: each `{name}` captures one path segment. */
function pathPattern(path) {
  const literal = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${path.split(/\{[^/{}]+\}/).map(literal).join("([^/]+)")}$`);
}

// Back and forward put the page where it was: this app scrolls, once the page is drawn again.
// Where each page is scrolled to is kept in its history entry as the person scrolls, however
// they then leave it (a link, Back, Forward).
history.scrollRestoration = "manual";
let scrollSaver = null;
window.addEventListener("scroll", () => {
  clearTimeout(scrollSaver);
  scrollSaver = setTimeout(() => rememberInHistory({ scrollY: window.scrollY }), 150);
}, { passive: true });

/** Goes to `url` in this tab, as a link would; `message` shows in the status line there. */
export function navigate(url, { replace = false, message = null } = {}) {
  if (!replace) {
    // Where this page was scrolled to, for coming back to it.
    rememberInHistory({ scrollY: window.scrollY });
  }
  const method = replace ? "replaceState" : "pushState";
  history[method]({ message }, "", url);
  render();
}

/** Keeps `values` in this page's history entry (restored by Back, forward and reload). */
export function rememberInHistory(values) {
  history.replaceState({ ...history.state, ...values }, "");
}

let rendering = 0;
let firstRender = true;

/** Shows the progress bar (and marks the page busy) until the function it returns is called. */
function startProgress() {
  const bar = document.getElementById("progress");
  bar.hidden = false;
  main.setAttribute("aria-busy", "true");
  return () => {
    bar.hidden = true;
    main.removeAttribute("aria-busy");
  };
}

async function render() {
  const ticket = ++rendering;
  // A scroll of the page being left must not be kept as this entry's.
  clearTimeout(scrollSaver);
  const stopProgress = startProgress();
  const url = new URL(location.href);
  const scrollY = (history.state && history.state.scrollY) || 0;
  const message = history.state && history.state.message;
  flash(message);
  if (message) {
    // Shown once: back and forward do not repeat it.
    history.replaceState({ ...history.state, message: null }, "");
  }
  const match = routes.map(([pattern, page]) => [pattern.exec(url.pathname), page]).find(([found]) => found);
  const [params, page] = match ? [match[0].slice(1).map(decodeURIComponent), match[1]] : [[], notFoundPage];
  renderNav();
  let content;
  try {
    content = await page(params, url.searchParams);
  } catch (error) {
    content = failurePage(error);
  }
  if (ticket !== rendering || content === undefined) {
    return; // another navigation started meanwhile, or the page went elsewhere
  }
  stopProgress();
  main.replaceChildren(content);
  const heading = main.querySelector("h1");
  document.title = heading ? `${heading.textContent} · movie-bag` : "movie-bag";
  // After a page load the first Tab reaches the skip link; after a change of page within the
  // app, the focus moves to the new content (as a screen reader expects).
  if (!firstRender) {
    main.focus({ preventScroll: true });
  }
  firstRender = false;
  window.scrollTo(0, scrollY);
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (
    !link ||
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey ||
    event.altKey ||
    link.target ||
    link.hasAttribute("download")
  ) {
    return;
  }
  const url = new URL(link.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/api/") || url.pathname.startsWith("/docs")) {
    return;
  }
  event.preventDefault();
  if (url.hash && url.pathname === location.pathname && url.search === location.search) {
    document.getElementById(url.hash.slice(1))?.focus();
    return;
  }
  navigate(url.pathname + url.search);
});

window.addEventListener("popstate", render);
api.onSessionChange(renderNav);

/** Sends the person to sign in, and back here afterwards. */
export function signInFirst(message = "Please sign in to continue.") {
  const here = location.pathname + location.search;
  navigate(`/signin?next=${encodeURIComponent(here)}`, { replace: true, message });
}

/** The page for an error a page could not handle itself. */
function failurePage(error) {
  if (error instanceof SignInNeeded) {
    signInFirst("Your session has ended. Please sign in again.");
    return undefined;
  }
  if (error instanceof ApiError && error.status === 404) {
    return notFoundPage();
  }
  if (error instanceof ApiError && error.status === 403) {
    return h("section", {}, h("h1", {}, "Not allowed"), h("p", {}, "Your account may not see this page."));
  }
  const retry = h("p", {}, h("a", { href: location.pathname + location.search }, "Try again"));
  if (error instanceof NetworkError) {
    return h("section", {}, h("h1", {}, "Cannot reach movie-bag"), h("p", {}, "You may be offline, or the server may be down."), retry);
  }
  if (!(error instanceof ApiError)) {
    console.warn(error);
  }
  return h("section", {}, h("h1", {}, "Something went wrong"), h("p", {}, explain(error)), retry);
}

function notFoundPage() {
  return h("section", {}, h("h1", {}, "Page not found"), h("p", {}, "There is nothing here. ", h("a", { href: "/" }, "Back to the catalogue")));
}

// ---- Navigation bar ----

let navTicket = 0;

// The links are drawn at once, before the profile answers: drawing them after it made the bar
// grow by a line on phones once the page was already shown, pushing the whole page down (a layout
// shift Lighthouse counted, 0.2 on the library page). Only an admin's "Users" link waits for it.
async function renderNav() {
  const ticket = ++navTicket;
  const nav = document.getElementById("nav");
  const items = [h("a", { href: "/" }, "Catalogue"), h("a", { href: "/genres" }, "Genres")];
  const signedIn = api.isSignedIn();
  const signOut = h("button", { type: "button", class: "link", onclick: signOutHere }, "Sign out");
  if (signedIn) {
    items.push(h("a", { href: "/movies/new" }, "Add a movie"), h("a", { href: "/library" }, "Library"), h("a", { href: "/account" }, "Account"), signOut);
  } else {
    items.push(h("a", { href: "/signin" }, "Sign in"), h("a", { href: "/signup" }, "Sign up"));
  }
  nav.replaceChildren(...items);
  const me = signedIn ? await api.profile().catch(() => null) : null;
  if (ticket !== navTicket) {
    return;
  }
  if (me && me.role === "admin") {
    signOut.before(h("a", { href: "/admin/users" }, "Users"));
  }
  showVerifyBanner(me);
}

async function signOutHere() {
  await api.signOut();
  navigate("/", { message: "You are signed out." });
}

// ---- One movie ----

/** How wide the movie page draws its poster: a third of a phone, 16rem on wider screens. */
const PAGE_POSTER_WIDTH = 256;
const PAGE_POSTER_SIZES = "(max-width: 30rem) 40vw, 16rem";

/** Year, runtime, directors, genres, cast and dates of a movie page, as a definition list. */
function movieFacts(movie, me) {
  const facts = [
    ["Year", movie.year ? String(movie.year) : null],
    ["Runtime", movie.runtime ? formatRuntime(movie.runtime) : null],
    [movie.directors && movie.directors.length === 1 ? "Director" : "Directors", movie.directors && movie.directors.length ? tagLinks("Directors", "director", movie.directors) : null],
    ["Genres", movie.genres.length ? tagLinks("Genres", "genre", movie.genres) : null],
    ["Cast", movie.casts.length ? tagLinks("Cast", "cast", movie.casts) : null],
    ["Rating", ratingBadge(movie.rating, { long: true })],
    ["Added", [formatDate(movie.created_at), me && me.id === movie.added_by ? " by you" : ""]],
    ["Last changed", formatDate(movie.updated_at)],
  ];
  return h(
    "dl",
    { class: "facts" },
    facts.filter(([, value]) => value !== null).map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
  );
}

async function moviePage([id]) {
  const [{ body: movie }, me] = await Promise.all([api.request("GET", `/api/movies/${encodeURIComponent(id)}`), api.profile().catch(() => null)]);
  const mayChange = me && (me.role === "admin" || me.id === movie.added_by);
  const details = h(
    "div",
    { class: "movie-details" },
    h("h1", {}, movie.name),
    movie.overview ? h("p", { class: "overview" }, movie.overview) : null,
    movieFacts(movie, me),
  );
  const page = h(
    "article",
    { class: "movie" },
    h("div", { class: "movie-poster" }, posterImage(movie, { width: PAGE_POSTER_WIDTH, sizes: PAGE_POSTER_SIZES, eager: true, alt: `Poster of ${movie.name}` })),
    details,
  );
  if (me) {
    details.append(await libraryPanel(movie));
  } else {
    details.append(h("p", {}, h("a", { href: `/signin?next=${encodeURIComponent(location.pathname)}` }, "Sign in"), " to rate it and keep it in your library."));
  }
  if (mayChange) {
    const remove = h("button", { type: "button", class: "danger" }, "Delete");
    remove.addEventListener("click", async () => {
      if (!(await confirmDialog(`Delete “${movie.name}”? This cannot be undone.`, "Delete"))) {
        return;
      }
      try {
        await api.request("DELETE", `/api/movies/${encodeURIComponent(movie.id)}`, { auth: true });
        api.profileChanged();
        navigate("/", { replace: true, message: `“${movie.name}” was deleted.` });
      } catch (error) {
        if (error instanceof SignInNeeded) {
          signInFirst();
        } else {
          flash(explain(error), true);
        }
      }
    });
    details.append(h("div", { class: "actions" }, h("a", { class: "button", href: `/movies/${encodeURIComponent(movie.id)}/edit` }, "Edit"), remove));
  }
  details.append(h("p", {}, h("a", { href: "/" }, "Back to the catalogue")));
  return page;
}

/** The whole numbers of `values` named by `names` (null when blank), or a field error. */
function wholeNumbers(values, names) {
  const numbers = {};
  const fieldErrors = {};
  for (const [name, example] of names) {
    const text = String(values[name] || "").trim();
    if (text !== "" && !/^\d+$/.test(text)) {
      fieldErrors[name] = [`write it as a whole number, such as ${example}`];
    }
    numbers[name] = text === "" ? null : Number(text);
  }
  if (Object.keys(fieldErrors).length) {
    throw { fieldErrors };
  }
  return numbers;
}

/**
 * The add and edit form: the record's fields and the poster (chosen, previewed, replaced or
 * removed here; sent by `save(movie, posterChange)` after the movie itself).
 */
function movieForm(movie, submitLabel, save) {
  const poster = posterPicker(movie);
  const element = form(
    [
      field("Name", "name", { required: true, maxlength: 200, value: movie ? movie.name : "", autocomplete: "off" }),
      h(
        "div",
        { class: "field-row" },
        field("Year", "year", { inputmode: "numeric", maxlength: 4, value: movie && movie.year ? movie.year : "", autocomplete: "off" }, "Optional"),
        field("Runtime in minutes", "runtime", { inputmode: "numeric", maxlength: 4, value: movie && movie.runtime ? movie.runtime : "", autocomplete: "off" }, "Optional"),
      ),
      field("Directors", "directors", { rows: 2 }, "One name per line; optional", "textarea"),
      field("Cast", "casts", { required: true, rows: 4 }, "One name per line", "textarea"),
      field("Genres", "genres", { required: true, rows: 3 }, "One genre per line", "textarea"),
      field("Overview", "overview", { rows: 4, maxlength: 2000 }, "What it is about; optional", "textarea"),
      poster.element,
    ],
    submitLabel,
    (values) =>
      save(
        {
          name: values.name.trim(),
          ...wholeNumbers(values, [["year", 1995], ["runtime", 170]]),
          directors: lines(values.directors),
          casts: lines(values.casts),
          genres: lines(values.genres),
          overview: values.overview.trim() || null,
        },
        poster,
      ),
  );
  return element;
}

function fillLists(formElement, movie) {
  formElement.querySelector('[name="casts"]').value = movie.casts.join("\n");
  formElement.querySelector('[name="genres"]').value = movie.genres.join("\n");
  formElement.querySelector('[name="directors"]').value = (movie.directors || []).join("\n");
  formElement.querySelector('[name="overview"]').value = movie.overview || "";
}

/** The API's 409 on a name is about the name field. */
function nameTakenAsFieldError(error) {
  if (error instanceof ApiError && error.status === 409) {
    error.fieldErrors = { name: [error.message] };
  }
  return error;
}

/**
 * Sends the poster change of a saved movie. The movie is saved either way: when the poster is
 * refused, the person lands on the edit page with the reason, the rest of their work kept.
 */
async function savePosterOf(id, poster) {
  try {
    await savePoster(id, poster.pending());
    return null;
  } catch (error) {
    if (error instanceof SignInNeeded) {
      throw error;
    }
    return explain(error);
  }
}

async function newMoviePage() {
  if (!api.isSignedIn()) {
    signInFirst("Sign in to add a movie.");
    return undefined;
  }
  return h(
    "section",
    {},
    h("h1", {}, "Add a movie"),
    movieForm(null, "Add movie", async (movie, poster) => {
      try {
        const { body } = await api.request("POST", "/api/movies", { auth: true, body: movie });
        api.profileChanged();
        const posterProblem = await savePosterOf(body.id, poster);
        const where = `/movies/${encodeURIComponent(body.id)}`;
        if (posterProblem) {
          navigate(`${where}/edit`, { message: `“${movie.name}” was added, but its poster was not: ${posterProblem}` });
          return;
        }
        navigate(where, { message: `“${movie.name}” was added.` });
      } catch (error) {
        throw nameTakenAsFieldError(error);
      }
    }),
  );
}

async function editMoviePage([id]) {
  if (!api.isSignedIn()) {
    signInFirst("Sign in to edit a movie.");
    return undefined;
  }
  const path = `/api/movies/${encodeURIComponent(id)}`;
  const [{ body: movie, headers }, me] = await Promise.all([api.request("GET", path), api.profile()]);
  if (!me) {
    signInFirst("Sign in to edit a movie.");
    return undefined;
  }
  if (me.role !== "admin" && me.id !== movie.added_by) {
    // Said before anything is typed, not after the save is refused.
    return notYoursToEdit(movie);
  }
  const version = headers.get("ETag");
  const editor = movieForm(movie, "Save changes", async (changes, poster) => {
    try {
      // If-Match: someone else's change since this page opened is not overwritten.
      await api.request("PUT", path, { auth: true, body: changes, headers: version ? { "If-Match": version } : {} });
      const posterProblem = await savePosterOf(id, poster);
      if (posterProblem) {
        poster.showError(`Your changes were saved, but not the poster: ${posterProblem}`);
        return;
      }
      navigate(`/movies/${encodeURIComponent(id)}`, { message: "Your changes were saved." });
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) {
        error.message = "Someone changed this movie after you opened it. Reload the page to edit the current version.";
      }
      throw nameTakenAsFieldError(error);
    }
  });
  fillLists(editor, movie);
  return h("section", {}, h("h1", {}, `Edit “${movie.name}”`), editor, h("p", {}, h("a", { href: `/movies/${encodeURIComponent(id)}` }, "Cancel")));
}

/** The edit page of a movie someone else added. */
function notYoursToEdit(movie) {
  const moviePath = `/movies/${encodeURIComponent(movie.id)}`;
  return h(
    "section",
    {},
    h("h1", {}, `You cannot edit “${movie.name}”`),
    h("p", {}, "Only the person who added a movie, or an admin, can change it."),
    h("p", {}, h("a", { href: moviePath }, "Back to the movie")),
  );
}

// ---- Signing up, in and out ----

/** Where to go after signing in: the page that asked, if it is one of ours. */
function nextPage(query) {
  const next = query.get("next") || "/";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

/**
 * The sign-in and sign-up pages for someone signed in already: who they are, where to go on,
 * and how to switch accounts. Null when nobody is signed in (or the session has ended).
 */
async function alreadySignedIn(next) {
  const me = await api.profile().catch(() => null);
  if (!me) {
    return null;
  }
  const signOut = h("button", { type: "button", class: "secondary" }, "Sign out to use another account");
  signOut.addEventListener("click", async () => {
    await api.signOut();
    render();
  });
  return h(
    "section",
    {},
    h("h1", {}, "You are signed in"),
    h("p", {}, "You are signed in as ", h("strong", {}, me.email), "."),
    h("div", { class: "actions" }, h("a", { class: "button", href: next }, next === "/" ? "Go to the catalogue" : "Continue"), signOut),
  );
}

async function signInPage(_params, query) {
  const next = nextPage(query);
  const signedIn = await alreadySignedIn(next);
  if (signedIn) {
    return signedIn;
  }
  return h(
    "section",
    {},
    h("h1", {}, "Sign in"),
    form(
      [
        field("Email", "email", { type: "email", autocomplete: "username", required: true }),
        field("Password", "password", { type: "password", autocomplete: "current-password", required: true }),
      ],
      "Sign in",
      async ({ email, password }, element) => {
        const secondStep = await api.signIn(email, password);
        if (secondStep) {
          element.closest("section").replaceWith(codeStep(secondStep.mfaToken, next));
          return;
        }
        navigate(next, { replace: true, message: "You are signed in." });
      },
    ),
    h("p", {}, h("a", { href: "/forgot" }, "Forgot your password?")),
    h("p", {}, "New here? ", h("a", { href: `/signup${next !== "/" ? `?next=${encodeURIComponent(next)}` : ""}` }, "Create an account")),
  );
}

/** The second step of signing in, for an account with two-step sign-in on. */
function codeStep(mfaToken, next) {
  const section = h(
    "section",
    {},
    h("h1", {}, "Enter your code"),
    h("p", {}, "Open your authenticator app and enter the 6-digit code it shows for movie-bag. Lost your phone? Enter one of your recovery codes instead."),
    form(
      [field("Code", "code", { autocomplete: "one-time-code", required: true, inputmode: "text", spellcheck: "false" })],
      "Sign in",
      async ({ code }) => {
        await api.signInWithCode(mfaToken, code.trim()).catch((error) => {
          throw codeRefused(error);
        });
        navigate(next, { replace: true, message: "You are signed in." });
      },
    ),
    h("p", {}, h("a", { href: location.pathname + location.search }, "Start again")),
  );
  return section;
}

async function signUpPage(_params, query) {
  const next = nextPage(query);
  const signedIn = await alreadySignedIn(next);
  if (signedIn) {
    return signedIn;
  }
  return h(
    "section",
    {},
    h("h1", {}, "Create an account"),
    form(
      [
        field("Email", "email", { type: "email", autocomplete: "email", required: true }),
        ...newPasswordFields(),
      ],
      "Sign up",
      async ({ email, password, repeat }) => {
        checkRepeatedPassword({ password, repeat });
        try {
          await api.request("POST", "/api/auth/signup", { body: { email, password } });
        } catch (error) {
          if (error instanceof ApiError && error.status === 409) {
            error.fieldErrors = { email: [error.message] };
          }
          throw error;
        }
        await api.signIn(email, password);
        navigate(next, { replace: true, message: "Welcome! Your account is ready and you are signed in." });
      },
    ),
    h("p", {}, "Have an account? ", h("a", { href: "/signin" }, "Sign in")),
  );
}

async function forgotPage() {
  const done = h("p", { role: "status" });
  return h(
    "section",
    {},
    h("h1", {}, "Forgot your password?"),
    h("p", {}, "Give the email of your account and we will send you a link to choose a new password."),
    form([field("Email", "email", { type: "email", autocomplete: "email", required: true })], "Send reset link", async ({ email }) => {
      const { body } = await api.request("POST", "/api/auth/forgot", { body: { email } });
      done.textContent = `${body.message}. The link works for one hour.`;
    }),
    done,
  );
}

const RESET_TOKEN_KEY = "movie-bag.reset-token";

/**
 * The token of an emailed link (`?token=`) for the page at `path`. It leaves the address bar
 * (and history) at once; this tab keeps it under `key` for a reload.
 */
function tokenFromLink(query, key, path) {
  const fromLink = query.get("token");
  if (fromLink) {
    sessionStorage.setItem(key, fromLink);
    history.replaceState(history.state, "", path);
  }
  return sessionStorage.getItem(key);
}

async function resetPage(_params, query) {
  const token = tokenFromLink(query, RESET_TOKEN_KEY, "/reset");
  if (!token) {
    return h("section", {}, h("h1", {}, "Choose a new password"), h("p", {}, "This page needs the link from your reset email. ", h("a", { href: "/forgot" }, "Ask for a new link")));
  }
  const section = h("section", {}, h("h1", {}, "Choose a new password"));
  section.append(
    form(
      [
        field("New password", "password", { type: "password", autocomplete: "new-password", required: true }, "At least 8 characters"),
        field("Repeat the new password", "repeat", { type: "password", autocomplete: "new-password", required: true }),
      ],
      "Set new password",
      async ({ password, repeat }) => {
        if (password !== repeat) {
          throw { fieldErrors: { repeat: ["the two passwords differ"] } };
        }
        try {
          await api.request("POST", "/api/auth/reset", { body: { reset_token: token, password } });
        } catch (error) {
          if (error instanceof ApiError && error.status === 400 && !error.fieldErrors.password) {
            error.message = "This reset link is invalid, already used or expired. Ask for a new one on the “Forgot your password?” page.";
          }
          throw error;
        }
        sessionStorage.removeItem(RESET_TOKEN_KEY);
        api.forgetSession();
        navigate("/signin", { replace: true, message: "Your password was changed and every session signed out. Sign in with your new password." });
      },
    ),
    h("p", {}, h("a", { href: "/forgot" }, "Ask for a new link")),
  );
  return section;
}

const VERIFY_TOKEN_KEY = "movie-bag.verify-token";

/** The page a verification email links to. Confirming takes a click, not just opening the
 * page, so a mail scanner that follows links does not use the link up. */
async function verifyPage(_params, query) {
  const token = tokenFromLink(query, VERIFY_TOKEN_KEY, "/verify");
  const section = h("section", {}, h("h1", {}, "Confirm your email address"));
  if (!token) {
    section.append(h("p", {}, "This page needs the link from your email. Signed in, you can ask for a new one on ", h("a", { href: "/account" }, "your account page"), "."));
    return section;
  }
  section.append(
    h("p", {}, "Confirm that this email address is yours."),
    form([], "Confirm my email address", async () => {
      let body;
      try {
        ({ body } = await api.request("POST", "/api/auth/verify", { body: { token } }));
      } catch (error) {
        if (error instanceof ApiError && error.status === 400) {
          error.message = "This link is invalid, already used or expired. Sign in and ask for a new one on your account page.";
        }
        throw error;
      }
      sessionStorage.removeItem(VERIFY_TOKEN_KEY);
      api.profileChanged(); // verified, or a new address
      navigate(api.isSignedIn() ? "/account" : "/signin", { replace: true, message: `${body.message}.` });
    }),
  );
  return section;
}

// ---- Your account ----
// The account's pages are in web/account.js.

// ---- Users (admins): admin.js ----

render();
