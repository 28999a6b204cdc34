// Building pages: elements from data (always as text, never as markup), forms whose fields show
// the API's per-field errors, confirmations, and the status line.

import { ApiError } from "./api.js";

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
 * return nothing; while it runs the button is disabled. `danger`: the button says the action
 * destroys something.
 */
export function form(children, submitLabel, submit, { danger = false } = {}) {
  const general = h("p", { class: "error", role: "alert" });
  const button = h("button", { type: "submit", class: danger ? "danger" : null }, submitLabel);
  const element = h("form", { class: "stack", novalidate: true }, children, general, h("div", { class: "actions" }, button));
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(element, general);
    const values = Object.fromEntries(new FormData(element).entries());
    button.disabled = true;
    try {
      await submit(values, element);
    } catch (error) {
      showError(element, general, error);
    } finally {
      button.disabled = false;
    }
  });
  return element;
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
    throw error;
  }
  const unplaced = placeFieldErrors(formElement, general, error.fieldErrors);
  if (error.status === 429) {
    general.textContent = `Too many attempts. Try again in ${describeWait(error.retryAfter)}.`;
  } else if (unplaced || Object.keys(error.fieldErrors).length === 0) {
    general.textContent = explain(error);
  }
}

/** Shows each field's reasons next to it; returns whether some named no field of this form. */
function placeFieldErrors(formElement, general, fieldErrors) {
  let unplaced = false;
  let first = null;
  for (const [name, reasons] of Object.entries(fieldErrors)) {
    const slot = formElement.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    const input = formElement.querySelector(`[name="${CSS.escape(name)}"]`);
    if (slot && input) {
      slot.textContent = reasons.map(capitalize).join(". ");
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    } else {
      unplaced = true;
      general.textContent = `${general.textContent} ${name}: ${reasons.join(", ")}.`.trim();
    }
  }
  if (first) {
    first.focus();
  }
  return unplaced;
}

/** A sentence for an API error a person can act on. */
export function explain(error) {
  if (!(error instanceof ApiError)) {
    return "Something went wrong. Check your connection and try again.";
  }
  if (error.status === 429) {
    return `Too many attempts. Try again in ${describeWait(error.retryAfter)}.`;
  }
  if (error.status === 503) {
    return `The server is busy. Try again in ${describeWait(error.retryAfter)}.`;
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
