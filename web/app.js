// The pages of movie-bag and the router between them. Every page has its own URL (bookmark it,
// share it, go back to it); links change the page without reloading.

import * as api from "./api.js";
import { ApiError, NetworkError, SignInNeeded } from "./api.js";
import { confirmDialog, explain, field, flash, form, formatDate, h, lines } from "./ui.js";
// The catalogue, genre and admin pages (web-core's part).
import { catalogue, genresPage } from "./catalogue.js";
import { usersPage } from "./admin.js";

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
  ["/admin/users", usersPage],
  ["/movies/new", newMoviePage],
  ["/movies/{id}/edit", editMoviePage],
  ["/movies/{id}", moviePage],
  ["/genres", genresPage],
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

async function renderNav() {
  const ticket = ++navTicket;
  const nav = document.getElementById("nav");
  const items = [h("a", { href: "/" }, "Catalogue"), h("a", { href: "/genres" }, "Genres")];
  if (api.isSignedIn()) {
    let me = null;
    try {
      me = await api.profile();
    } catch {
      me = null;
    }
    if (ticket !== navTicket) {
      return;
    }
    items.push(h("a", { href: "/movies/new" }, "Add a movie"), h("a", { href: "/account" }, "Account"));
    if (me && me.role === "admin") {
      items.push(h("a", { href: "/admin/users" }, "Users"));
    }
    items.push(
      h("button", { type: "button", class: "link", onclick: signOutHere }, "Sign out"),
    );
  } else {
    items.push(h("a", { href: "/signin" }, "Sign in"), h("a", { href: "/signup" }, "Sign up"));
  }
  if (ticket === navTicket) {
    nav.replaceChildren(...items);
  }
}

async function signOutHere() {
  await api.signOut();
  navigate("/", { message: "You are signed out." });
}

// ---- The catalogue ----
// The listing, its filters and the genre pages are in catalogue.js; a movie's card is here.

function movieItem(movie) {
  return h(
    "li",
    {},
    h("h2", {}, h("a", { href: `/movies/${encodeURIComponent(movie.id)}` }, movie.name)),
    tagLinks("Genres", "genre", movie.genres),
    h("p", { class: "muted" }, movie.casts.join(", ")),
  );
}

function tagLinks(label, filter, values) {
  return h(
    "ul",
    { class: "tags", "aria-label": label },
    values.map((value) => h("li", {}, h("a", { href: `/?${filter}=${encodeURIComponent(value)}` }, value))),
  );
}

// ---- One movie ----

async function moviePage([id]) {
  const [{ body: movie }, me] = await Promise.all([api.request("GET", `/api/movies/${encodeURIComponent(id)}`), api.profile().catch(() => null)]);
  const mayChange = me && (me.role === "admin" || me.id === movie.added_by);
  const page = h(
    "article",
    {},
    h("h1", {}, movie.name),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Genres"),
      h("dd", {}, tagLinks("Genres", "genre", movie.genres)),
      h("dt", {}, "Cast"),
      h("dd", {}, tagLinks("Cast", "cast", movie.casts)),
      h("dt", {}, "Added"),
      h("dd", {}, formatDate(movie.created_at), me && me.id === movie.added_by ? " by you" : ""),
      h("dt", {}, "Last changed"),
      h("dd", {}, formatDate(movie.updated_at)),
    ),
  );
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
    page.append(h("div", { class: "actions" }, h("a", { class: "button", href: `/movies/${encodeURIComponent(movie.id)}/edit` }, "Edit"), remove));
  }
  page.append(h("p", {}, h("a", { href: "/" }, "Back to the catalogue")));
  return page;
}

function movieForm(movie, submitLabel, save) {
  return form(
    [
      field("Name", "name", { required: true, maxlength: 200, value: movie ? movie.name : "", autocomplete: "off" }),
      field("Cast", "casts", { required: true, rows: 4 }, "One name per line", "textarea"),
      field("Genres", "genres", { required: true, rows: 3 }, "One genre per line", "textarea"),
    ],
    submitLabel,
    (values) => save({ name: values.name.trim(), casts: lines(values.casts), genres: lines(values.genres) }),
  );
}

function fillLists(formElement, movie) {
  formElement.querySelector('[name="casts"]').value = movie.casts.join("\n");
  formElement.querySelector('[name="genres"]').value = movie.genres.join("\n");
}

/** The API's 409 on a name is about the name field. */
function nameTakenAsFieldError(error) {
  if (error instanceof ApiError && error.status === 409) {
    error.fieldErrors = { name: [error.message] };
  }
  return error;
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
    movieForm(null, "Add movie", async (movie) => {
      try {
        const { body } = await api.request("POST", "/api/movies", { auth: true, body: movie });
        api.profileChanged();
        navigate(`/movies/${encodeURIComponent(body.id)}`, { message: `“${movie.name}” was added.` });
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
  const editor = movieForm(movie, "Save changes", async (changes) => {
    try {
      // If-Match: someone else's change since this page opened is not overwritten.
      await api.request("PUT", path, { auth: true, body: changes, headers: version ? { "If-Match": version } : {} });
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
        try {
          await api.signInWithCode(mfaToken, code.trim());
        } catch (error) {
          if (error instanceof ApiError && error.status === 401) {
            error.fieldErrors = { code: ["That code did not work. Check it and try again; after several tries, or after five minutes, sign in again from the start."] };
          }
          throw error;
        }
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
        field("Password", "password", { type: "password", autocomplete: "new-password", required: true }, "At least 8 characters"),
      ],
      "Sign up",
      async ({ email, password }) => {
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
      navigate(api.isSignedIn() ? "/account" : "/signin", { replace: true, message: `${body.message}.` });
    }),
  );
  return section;
}

// ---- Your account ----

async function accountPage() {
  if (!api.isSignedIn()) {
    signInFirst();
    return undefined;
  }
  const me = await api.profile();
  if (!me) {
    signInFirst();
    return undefined;
  }
  const { body: mine } = await api.request("GET", `/api/movies?added_by=${encodeURIComponent(me.id)}&limit=100`);
  const everywhere = h("button", { type: "button", class: "secondary" }, "Sign out everywhere");
  everywhere.addEventListener("click", async () => {
    try {
      await api.signOutEverywhere();
      navigate("/signin", { message: "You are signed out on every device, this one included." });
    } catch (error) {
      flash(explain(error), true);
    }
  });
  return h(
    "section",
    {},
    h("h1", {}, "Your account"),
    h("dl", { class: "facts" }, h("dt", {}, "Email"), h("dd", {}, me.email), h("dt", {}, "Role"), h("dd", {}, me.role), h("dt", {}, "Member since"), h("dd", {}, formatDate(me.created_at))),
    me.email_verified === false ? unverifiedNotice() : null,
    h("h2", {}, "Your movies"),
    mine.length ? h("ul", { class: "movies", "aria-label": "Your movies" }, mine.map(movieItem)) : h("p", {}, "You have not added a movie yet. ", h("a", { href: "/movies/new" }, "Add one")),
    h("h2", {}, "Change password"),
    form(
      [
        field("Current password", "current_password", { type: "password", autocomplete: "current-password", required: true }),
        field("New password", "new_password", { type: "password", autocomplete: "new-password", required: true }, "At least 8 characters"),
      ],
      "Change password",
      async (values) => {
        await api.request("PUT", "/api/auth/password", { auth: true, body: values });
        // The server ended every session, this one included.
        api.forgetSession();
        navigate("/signin", { message: "Your password was changed. Sign in with the new one." });
      },
    ),
    h("h2", {}, "Sessions"),
    h("p", {}, "Signed in on a computer you no longer use? Sign out on every device at once."),
    h("div", { class: "actions" }, everywhere),
    h("h2", {}, "Delete account"),
    h("p", {}, "Deletes your account and every movie you added. This cannot be undone."),
    form([field("Password", "password", { type: "password", autocomplete: "current-password", required: true })], "Delete my account", async ({ password }) => {
      if (!(await confirmDialog("Delete your account and all your movies?", "Delete account"))) {
        return;
      }
      await api.request("DELETE", "/api/users/me", { auth: true, body: { password } });
      api.forgetSession();
      navigate("/", { message: "Your account was deleted." });
    }, { danger: true }),
  );
}

/** Says the address is not verified yet, with a button for a new link. */
function unverifiedNotice() {
  return h(
    "div",
    {},
    h("p", {}, "Your email address is not confirmed yet: open the link we emailed you. Until then you may not be able to add movies or keep a library."),
    form([], "Email me a new link", async () => {
      await api.request("POST", "/api/auth/verify/resend", { auth: true });
      flash("A new link is on its way. Earlier links no longer work.");
    }),
  );
}

// ---- Users (admins): admin.js ----

// For the page modules (catalogue.js).
export { movieItem };

render();
