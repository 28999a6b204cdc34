// Building pages: elements from data (always as text, never as markup), forms whose fields show
// the API's per-field errors, confirmations, and the status line.

import { ApiError, NetworkError, SignInNeeded, lastEmail, nextLink, request, signIn, signInWithCode } from "./api.js";

/**
 * An element: `h("a", {href: "/"}, "Home")`. Strings become text nodes, so whatever a user typed
 * (a movie named `<img onerror=...>`) shows as those characters and never runs.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) {
      continue;
    }
    if (name.startsWith("on")) {
      element.addEventListener(name.slice(2), value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let fieldIds = 0;

/**
 * A labelled field with a place for its errors: `field("Email", "email", {type: "email"})`.
 * `control` is "input" (default) or "textarea".
 */
export function field(label, name, attributes = {}, hint = null, control = "input") {
  const id = `field-${name}-${++fieldIds}`;
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  const input = h(control, { id, name, "aria-describedby": [hintId, errorId].filter(Boolean).join(" "), ...attributes });
  // The label names the control; the hint and the errors describe it (aria-describedby).
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    hint ? h("span", { class: "hint", id: hintId }, hint) : null,
    input,
    h("p", { class: "error", id: errorId, "data-error-for": name }),
  );
}

/**
 * A form that calls `submit(values)` with its fields' values, shows what the API refused next
 * to the field it names (`errors.password`), and anything else above the button. `submit` may
 * return nothing; while it runs the button says it is busy and a second submit is ignored.
 * `danger`: the button says the action destroys something; `actions`: more buttons beside it.
 *
 * Whatever goes wrong, what was typed stays in the fields: a request that got no answer (offline,
 * server down) says so with a "Try again" button, and a session that ended meanwhile (signed out
 * everywhere from another device) asks for the password in a dialog and then sends the form.
 */
export function form(children, submitLabel, submit, { danger = false, actions = [] } = {}) {
  const general = h("p", { class: "error", role: "alert" });
  const button = h("button", { type: "submit", class: danger ? "danger" : null }, submitLabel);
  const retry = h("button", { type: "button", class: "secondary", hidden: true }, "Try again");
  const element = h("form", { class: "stack", novalidate: true }, children, general, h("div", { class: "actions" }, button, retry, actions));
  retry.addEventListener("click", () => element.requestSubmit(button));
  let busy = false;
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) {
      return;
    }
    clearErrors(element, general);
    retry.hidden = true;
    const values = Object.fromEntries(new FormData(element).entries());
    busy = true;
    const done = showBusy(element, button);
    let sessionEnded = false;
    try {
      await submit(values, element);
    } catch (error) {
      sessionEnded = error instanceof SignInNeeded;
      if (!sessionEnded) {
        showError(element, general, error);
        if (error instanceof NetworkError) {
          general.textContent += " What you typed is kept: try again once you are back online.";
          retry.hidden = false;
        }
      }
    } finally {
      done();
      busy = false;
    }
    if (sessionEnded) {
      general.textContent = "Your session has ended. Sign in again to send this form; what you typed is kept.";
      if (await signInAgain()) {
        general.textContent = "";
        element.requestSubmit(button);
      }
    }
  });
  return element;
}

/**
 * Marks `button` (and its form) busy: a spinner and aria-busy at once, so even a slow answer
 * shows the click was taken. The button stays focusable (a disabled one would drop the focus to
 * the page). Returns the function that ends it.
 */
export function showBusy(container, button) {
  container.setAttribute("aria-busy", "true");
  button.classList.add("busy");
  button.setAttribute("aria-disabled", "true");
  return () => {
    container.removeAttribute("aria-busy");
    button.classList.remove("busy");
    button.removeAttribute("aria-disabled");
  };
}

/**
 * The second step of a sign-in refused the code (401): says so next to the code field, in the
 * same words on the sign-in page and in the "Sign in again" dialog. Returns the error to rethrow.
 */
export function codeRefused(error) {
  if (error instanceof ApiError && error.status === 401) {
    error.fieldErrors = { code: ["That code did not work. Check it and try again; after several tries, or after five minutes, sign in again from the start."] };
  }
  return error;
}

/**
 * Asks for the email and password again in a dialog, for a session that ended under an open
 * page. Resolves to true once signed in (with the second step's code if the account has one),
 * false when the person closes the dialog.
 */
export function signInAgain() {
  return new Promise((resolve) => {
    let signedIn = false;
    const title = h("h2", { id: "sign-in-again-title" }, "Sign in again");
    const dialog = h("dialog", { "aria-labelledby": "sign-in-again-title", class: "sign-in-again" }, title);
    const finish = () => {
      signedIn = true;
      dialog.close();
    };
    const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
    cancel.addEventListener("click", () => dialog.close());
    const email = lastEmail();
    const passwordStep = form(
      [
        h("p", {}, "Your session ended (perhaps you signed out everywhere from another device). Sign in to carry on; the page stays as it is."),
        field("Email", "email", { type: "email", autocomplete: "username", required: true, value: email, autofocus: !email }),
        field("Password", "password", { type: "password", autocomplete: "current-password", required: true, autofocus: Boolean(email) }),
      ],
      "Sign in and continue",
      async ({ email, password }) => {
        const secondStep = await signIn(email, password);
        if (!secondStep) {
          finish();
          return;
        }
        passwordStep.replaceWith(
          form(
            [
              h("p", {}, "Your account has two-step sign-in: enter the code your authenticator app shows for movie-bag, or one of your recovery codes."),
              field("Code from your authenticator app, or a recovery code", "code", { autocomplete: "one-time-code", required: true }),
            ],
            "Sign in and continue",
            async ({ code }) => {
              await signInWithCode(secondStep.mfaToken, code.trim()).catch((error) => {
                throw codeRefused(error);
              });
              finish();
            },
            { actions: [cancel] },
          ),
        );
      },
      { actions: [cancel] },
    );
    dialog.append(passwordStep);
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(signedIn);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

function clearErrors(formElement, general) {
  general.textContent = "";
  for (const slot of formElement.querySelectorAll("[data-error-for]")) {
    slot.textContent = "";
  }
  for (const input of formElement.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
  }
}

/** Puts an error where it belongs: field errors by their fields, the rest in `general`. */
export function showError(formElement, general, error) {
  if (!(error instanceof ApiError)) {
    if (error && error.fieldErrors) {
      // A check made here before sending, shaped like the API's.
      placeFieldErrors(formElement, general, error.fieldErrors);
      return;
    }
    if (!(error instanceof NetworkError)) {
      console.warn(error);
    }
    general.textContent = explain(error);
    return;
  }
  const unplaced = placeFieldErrors(formElement, general, error.fieldErrors);
  if (error.status === 429) {
    general.textContent = `Too many attempts. Try again in ${describeWait(error.retryAfter)}.`;
  } else if (unplaced || Object.keys(error.fieldErrors).length === 0) {
    general.textContent = `${explain(error)} ${general.textContent}`.trim();
  }
}

/** Shows each field's reasons next to it; returns whether some named no field of this form. */
function placeFieldErrors(formElement, general, fieldErrors) {
  let unplaced = false;
  let first = null;
  const elsewhere = [];
  for (const [name, reasons] of Object.entries(fieldErrors)) {
    const slot = formElement.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    const input = formElement.querySelector(`[name="${CSS.escape(name)}"]`);
    if (slot && input) {
      slot.textContent = reasons.map(capitalize).join(". ");
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    } else {
      unplaced = true;
      elsewhere.push(`${capitalize(fieldName(name))} ${reasons.join(", ")}.`);
    }
  }
  general.textContent = elsewhere.join(" ");
  if (first) {
    first.focus();
  }
  return unplaced;
}

/** A field of the API as people call it: `year_from` is "the first year". */
export function fieldName(name) {
  const names = {
    q: "the search text",
    year_from: "the first year",
    year_to: "the last year",
    after: "the page",
    limit: "the page size",
    current_password: "the current password",
    new_password: "the new password",
  };
  return names[name] || `the ${name.replaceAll("_", " ")}`;
}

/** What people should read for an API's message that was written for programs. */
const PLAIN_WORDS = new Map([
  ["Invalid username or password", "Incorrect email or password."],
  ["Request has invalid fields", "Some of what was sent is not valid:"],
]);

/** A sentence for an error a person can act on. */
export function explain(error) {
  if (error instanceof NetworkError) {
    return "movie-bag could not be reached: you may be offline, or the server may be down.";
  }
  if (!(error instanceof ApiError)) {
    return "Something went wrong. Check your connection and try again.";
  }
  if (error.status === 429) {
    return `Too many attempts. Try again in ${describeWait(error.retryAfter)}.`;
  }
  if (error.status === 503) {
    return `The server is busy. Try again in ${describeWait(error.retryAfter)}.`;
  }
  if (error.code === "email_unverified") {
    return "Confirm your email address first: open the link we emailed you, or ask for a new one on your account page.";
  }
  if (error.status >= 500) {
    return "Something went wrong on our side. Try again in a moment.";
  }
  const plain = PLAIN_WORDS.get(error.message);
  if (plain) {
    return plain;
  }
  // A message that names an endpoint is for programs: say it in people's words instead.
  if (/\b(GET|POST|PUT|PATCH|DELETE) \/api\//.test(error.message)) {
    return error.status === 403 ? "You are not allowed to do that here." : "That did not work. Reload the page and try again.";
  }
  return error.message;
}

export function describeWait(seconds) {
  if (!seconds || seconds < 1) {
    return "a moment";
  }
  if (seconds < 90) {
    return `${seconds} second${seconds === 1 ? "" : "s"}`;
  }
  return `${Math.ceil(seconds / 60)} minutes`;
}

function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Asks before something that cannot be undone; resolves to true when confirmed. */
export function confirmDialog(question, confirmLabel) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { "aria-labelledby": "confirm-question" },
      h("p", { id: "confirm-question" }, question),
      h(
        "form",
        { method: "dialog", class: "actions" },
        h("button", { value: "confirm", class: "danger" }, confirmLabel),
        h("button", { value: "cancel", class: "secondary", autofocus: true }, "Cancel"),
      ),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "confirm");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** The status line under the header: what just happened, or a problem. */
export function flash(message, problem = false) {
  const line = document.getElementById("flash");
  line.textContent = message || "";
  line.classList.toggle("problem", Boolean(problem));
}

const numbers = new Intl.NumberFormat();

/** A number as the browser's locale writes it (1,234 or 1.234 or 1 234). */
export function formatNumber(value) {
  return numbers.format(value);
}

/** "1 movie", "1,234 movies": a count with its noun, in the browser's locale. */
export function countOf(value, one, many) {
  return `${formatNumber(value)} ${value === 1 ? one : many}`;
}

/**
 * An email address that may wrap after its "@" and dots, never inside a word: text with <wbr>
 * where a line may break.
 */
export function breakableEmail(email) {
  const parts = String(email).split(/(?<=[@.])/);
  return h("span", { class: "email" }, parts.flatMap((part, at) => (at === 0 ? [part] : [h("wbr"), part])));
}

export function formatDate(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

/** Lines of a textarea as a list: trimmed, blanks dropped. */
export function lines(text) {
  return String(text || "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

/**
 * A list of movies that grows by the API's `Link` pages: `{ list, load, controls }`. `load`
 * appends the next page and throws when it fails (the page shows that error); "More" in
 * `controls` shows its own failure beside itself. `keep` drops items the list should not show;
 * since a listing's order puts those last (unrated entries in the ratings order), the list ends
 * at the first page that drops one.
 */
export function pagedList(label, firstUrl, item, { auth, keep = () => true }) {
  const list = h("ul", { class: "movies", "aria-label": label });
  const more = h("button", { type: "button", class: "secondary" }, "More");
  const problem = h("p", { class: "error", role: "alert" });
  let next = firstUrl;
  async function load() {
    const response = await request("GET", next, { auth });
    const kept = response.body.filter(keep);
    list.append(...kept.map((value) => item(value)));
    next = kept.length === response.body.length ? nextLink(response.headers) : null;
    more.hidden = !next;
    return { headers: response.headers, kept };
  }
  more.addEventListener("click", async () => {
    more.disabled = true;
    problem.textContent = "";
    const firstNew = list.children.length;
    try {
      await load();
      list.children[firstNew]?.querySelector("a, button")?.focus();
    } catch (error) {
      problem.textContent = explain(error);
    } finally {
      more.disabled = false;
    }
  });
  return { list, load, controls: h("div", { class: "actions" }, more, problem) };
}
