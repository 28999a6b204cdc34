// Your account: the settings page (email, password, sign out everywhere, delete), the movies you
// added (a page of their own, paged and counted) and the security page (two-step sign-in with a
// QR code, sessions, personal access tokens, recent activity).

import * as api from "./api.js";
import { ApiError, SignInNeeded } from "./api.js";
import { navigate, signInFirst } from "./app.js";
import { movieCard } from "./cards.js";
import { confirmDialog, countOf, explain, field, flash, form, formatDate, h, pagedList } from "./ui.js";

/** The signed-in person's profile, or undefined after sending them to sign in. */
async function signedInProfile() {
  const me = api.isSignedIn() ? await api.profile() : null;
  if (!me) {
    signInFirst();
    return undefined;
  }
  return me;
}

/** The hidden username field password managers need beside a password on a form. */
function usernameForManagers(email) {
  return h("input", { type: "email", autocomplete: "username", value: email, hidden: true, tabindex: "-1", "aria-hidden": "true" });
}

// ---- The settings page ----

export async function accountPage() {
  const me = await signedInProfile();
  if (!me) {
    return undefined;
  }
  const everywhere = h("button", { type: "button", class: "secondary" }, "Sign out everywhere");
  everywhere.addEventListener("click", async () => {
    try {
      await api.signOutEverywhere();
      navigate("/signin", { message: "You are signed out on every device, this one included." });
    } catch (error) {
      flash(explain(error), true);
    }
  });
  const movies = me.movies ? me.movies.length : 0;
  return h(
    "section",
    {},
    h("h1", {}, "Your account"),
    h("dl", { class: "facts" }, h("dt", {}, "Email"), h("dd", { class: "email" }, me.email), h("dt", {}, "Role"), h("dd", {}, me.role), h("dt", {}, "Member since"), h("dd", {}, formatDate(me.created_at))),
    h(
      "ul",
      { class: "account-links", "aria-label": "More of your account" },
      h("li", {}, h("a", { href: "/account/movies" }, `Movies you added (${movies.toLocaleString()})`)),
      h("li", {}, h("a", { href: "/library" }, "Your library: watchlist, diary, ratings")),
      h("li", {}, h("a", { href: "/account/security" }, "Security: two-step sign-in, sessions, access tokens, recent activity")),
    ),
    h(
      "nav",
      { class: "in-page", "aria-label": "Settings on this page" },
      SETTINGS.map(([id, title]) => h("a", { href: `#${id}` }, title)),
    ),
    settingHeading("change-email"),
    changeEmailForm(me),
    settingHeading("change-password"),
    changePasswordForm(me),
    settingHeading("sessions-here"),
    h("p", {}, "Signed in on a computer you no longer use? Sign out on every device at once, or one by one on the ", h("a", { href: "/account/security" }, "security page"), "."),
    h("div", { class: "actions" }, everywhere),
    settingHeading("delete-account"),
    h("p", {}, "Deletes your account and every movie you added. This cannot be undone."),
    deleteAccountForm(me),
  );
}

/** The settings of the account page, by the id of their heading. */
const SETTINGS = [
  ["change-email", "Change email"],
  ["change-password", "Change password"],
  ["sessions-here", "Sessions"],
  ["delete-account", "Delete account"],
];

/** A setting's heading, the target of its link at the top of the page. */
function settingHeading(id) {
  const [, title] = SETTINGS.find(([key]) => key === id);
  return h("h2", { id, tabindex: "-1" }, title);
}

/**
 * The banner under the navigation on every page while the signed-in person's address is not
 * confirmed (`me.email_verified === false`), with a button for a new link; gone once it is.
 */
export function showVerifyBanner(me) {
  const shown = document.getElementById("verify-banner");
  const wanted = Boolean(me && me.email_verified === false && location.pathname !== "/verify");
  if (!wanted || (shown && shown.dataset.email !== me.email)) {
    shown?.remove();
  }
  if (!wanted || document.getElementById("verify-banner")) {
    return;
  }
  const said = h("p", { role: "status", class: "hint" });
  const resend = h("button", { type: "button", class: "secondary" }, "Email me a new link");
  resend.addEventListener("click", async () => {
    resend.disabled = true;
    try {
      await api.request("POST", "/api/auth/verify/resend", { auth: true });
      said.textContent = "A new link is on its way. Earlier links no longer work.";
    } catch (error) {
      said.textContent = explain(error);
    } finally {
      resend.disabled = false;
    }
  });
  const banner = h(
    "div",
    { id: "verify-banner", class: "verify-banner", role: "region", "aria-label": "Confirm your email address", "data-email": me.email },
    h("p", {}, "Confirm your email address: open the link we sent to ", h("strong", {}, me.email), ". Until then you may not be able to add movies or keep a library."),
    resend,
    said,
  );
  document.getElementById("flash").before(banner);
}

function changeEmailForm(me) {
  const done = h("p", { role: "status" });
  const element = form(
    [
      usernameForManagers(me.email),
      field("New email", "new_email", { type: "email", autocomplete: "email", required: true }),
      field("Password", "password", { type: "password", autocomplete: "current-password", required: true }, "To prove it is you"),
    ],
    "Change email",
    async ({ new_email: newEmail, password }) => {
      if (newEmail.trim().toLowerCase() === me.email.toLowerCase()) {
        throw { fieldErrors: { new_email: ["this is your address already"] } };
      }
      try {
        await api.request("PUT", "/api/auth/email", { auth: true, body: { new_email: newEmail.trim(), password } });
      } catch (error) {
        if (error instanceof ApiError && error.status === 409) {
          error.fieldErrors = { new_email: [error.message] };
        }
        throw error;
      }
      element.reset();
      done.textContent = `We emailed a link to ${newEmail.trim()}. Your address changes when you open it; until then you keep signing in with ${me.email}.`;
    },
  );
  return h("div", {}, element, done);
}

/** Checks of a new password made before sending: typed the same twice, not the current one. */
function checkNewPassword(password, repeat, current = null) {
  const fieldErrors = {};
  if (current !== null && password === current) {
    fieldErrors.new_password = ["choose a password different from your current one"];
  }
  if (password !== repeat) {
    fieldErrors.repeat = ["the two passwords differ"];
  }
  if (Object.keys(fieldErrors).length) {
    throw { fieldErrors };
  }
}

function changePasswordForm(me) {
  return form(
    [
      usernameForManagers(me.email),
      field("Current password", "current_password", { type: "password", autocomplete: "current-password", required: true }),
      field("New password", "new_password", { type: "password", autocomplete: "new-password", required: true }, "At least 8 characters"),
      field("Repeat the new password", "repeat", { type: "password", autocomplete: "new-password", required: true }),
    ],
    "Change password",
    async ({ current_password: current, new_password: password, repeat }) => {
      checkNewPassword(password, repeat, current);
      await api.request("PUT", "/api/auth/password", { auth: true, body: { current_password: current, new_password: password } });
      // The server ended every session, this one included.
      api.forgetSession();
      navigate("/signin", { message: "Your password was changed. Sign in with the new one." });
    },
  );
}

function deleteAccountForm(me) {
  return form(
    [usernameForManagers(me.email), field("Password", "password", { type: "password", autocomplete: "current-password", required: true })],
    "Delete my account",
    async ({ password }) => {
      if (!(await confirmDialog("Delete your account and all your movies?", "Delete account"))) {
        return;
      }
      await api.request("DELETE", "/api/users/me", { auth: true, body: { password } });
      api.forgetSession();
      navigate("/", { message: "Your account was deleted." });
    },
    { danger: true },
  );
}

/** The sign-up form's fields after the email: the password, typed twice (web/app.js). */
export function newPasswordFields() {
  return [
    field("Password", "password", { type: "password", autocomplete: "new-password", required: true }, "At least 8 characters"),
    field("Repeat the password", "repeat", { type: "password", autocomplete: "new-password", required: true }),
  ];
}

/** Throws the field error of a sign-up whose two passwords differ. */
export function checkRepeatedPassword({ password, repeat }) {
  checkNewPassword(password, repeat);
}

// ---- The movies you added ----

const MOVIES_PAGE = 20;

export async function accountMoviesPage() {
  const me = await signedInProfile();
  if (!me) {
    return undefined;
  }
  const paged = pagedList("Movies you added", `/api/movies?added_by=${encodeURIComponent(me.id)}&limit=${MOVIES_PAGE}&count=true`, (movie) => movieCard(movie), { auth: false });
  const { headers } = await paged.load();
  const total = Number.parseInt(headers.get("X-Total-Count") || "0", 10);
  return h(
    "section",
    {},
    h("h1", {}, "Movies you added"),
    h("p", { class: "count" }, total ? countOf(total, "movie", "movies") : "You have not added a movie yet. ", total ? null : h("a", { href: "/movies/new" }, "Add one")),
    total ? paged.list : null,
    paged.controls,
    h("p", {}, h("a", { href: "/account" }, "Back to your account")),
  );
}

// ---- Security ----

export async function securityPage() {
  const me = await signedInProfile();
  if (!me) {
    return undefined;
  }
  const [sessions, tokens, events] = await Promise.all([sessionsSection(), tokensSection(), eventsSection()]);
  return h(
    "section",
    {},
    h("h1", {}, "Security"),
    h("p", {}, h("a", { href: "/account" }, "Back to your account")),
    twoStepSection(me),
    sessions,
    tokens,
    events,
  );
}

function twoStepSection(me) {
  const section = h("section", { "aria-labelledby": "two-step-heading" });
  const heading = h("h2", { id: "two-step-heading" }, "Two-step sign-in");
  if (me.mfa && me.mfa.totp) {
    section.append(
      heading,
      h("p", {}, `Two-step sign-in is on: signing in asks for a code from your authenticator app. ${countOf(me.mfa.recovery_codes_left, "recovery code", "recovery codes")} left.`),
      form(
        [
          usernameForManagers(me.email),
          field("Password", "password", { type: "password", autocomplete: "current-password", required: true }),
          field("Code from your app, or a recovery code", "code", { autocomplete: "one-time-code", required: true, spellcheck: "false" }),
        ],
        "Turn off two-step sign-in",
        async ({ password, code }) => {
          await api.request("DELETE", "/api/auth/mfa/totp", { auth: true, body: { password, code: code.trim() } });
          api.profileChanged();
          navigate("/account/security", { replace: true, message: "Two-step sign-in is off." });
        },
        { danger: true },
      ),
    );
    return section;
  }
  section.append(
    heading,
    h("p", {}, "Protect your account with a code from an authenticator app on your phone, asked after your password."),
    form([usernameForManagers(me.email), field("Password", "password", { type: "password", autocomplete: "current-password", required: true }, "To prove it is you")], "Set up two-step sign-in", async ({ password }) => {
      const { body } = await api.request("POST", "/api/auth/mfa/totp", { auth: true, body: { password } });
      section.replaceChildren(heading, ...enrolmentSteps(body, section, heading));
      section.querySelector("input[name=code]").focus();
    }),
  );
  return section;
}

/** Scan (or type the key), then confirm with the app's first code. */
function enrolmentSteps(enrolment, section, heading) {
  return [
    h("p", {}, "1. Scan this code with your authenticator app (or type the key below it)."),
    qrCode(enrolment.otpauth_qr, "QR code of your two-step sign-in key, for your authenticator app"),
    h("p", {}, "Key: ", h("code", { class: "secret" }, enrolment.secret.match(/.{1,4}/g).join(" "))),
    h("p", {}, "2. Enter the 6-digit code the app shows for movie-bag."),
    form([field("Code", "code", { autocomplete: "one-time-code", inputmode: "numeric", required: true })], "Turn on two-step sign-in", async ({ code }) => {
      let body;
      try {
        ({ body } = await api.request("POST", "/api/auth/mfa/totp/confirm", { auth: true, body: { code: code.trim() } }));
      } catch (error) {
        if (error instanceof ApiError && error.status === 400 && !Object.keys(error.fieldErrors).length) {
          error.fieldErrors = { code: ["that code did not work: check the app's clock and try the next code"] };
        }
        throw error;
      }
      api.profileChanged();
      section.replaceChildren(heading, ...recoveryCodes(body.recovery_codes));
      section.querySelector("button").focus();
    }),
  ];
}

const SVG = "http://www.w3.org/2000/svg";
/** Light modules around the code, as the QR standard asks, so an app finds its edges. */
const QUIET_ZONE = 4;

/**
 * A QR code drawn as SVG elements from the server's module matrix (`{size, rows}` of 0s and 1s):
 * no image is fetched or made, the page's `img-src 'self'` holds, and nothing is parsed as markup.
 */
export function qrCode({ size, rows }, label) {
  const svg = document.createElementNS(SVG, "svg");
  const extent = size + 2 * QUIET_ZONE;
  svg.setAttribute("viewBox", `0 0 ${extent} ${extent}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  svg.setAttribute("class", "qr");
  svg.setAttribute("shape-rendering", "crispEdges");
  const background = document.createElementNS(SVG, "rect");
  background.setAttribute("width", String(extent));
  background.setAttribute("height", String(extent));
  background.setAttribute("class", "qr-light");
  const dark = [];
  rows.forEach((row, y) => {
    for (let x = 0; x < size; x++) {
      if (row[x] === "1") {
        dark.push(`M${x + QUIET_ZONE} ${y + QUIET_ZONE}h1v1h-1z`);
      }
    }
  });
  const modules = document.createElementNS(SVG, "path");
  modules.setAttribute("d", dark.join(""));
  modules.setAttribute("class", "qr-dark");
  svg.append(background, modules);
  return svg;
}

/** The ten recovery codes, shown this once, with ways to keep them. */
function recoveryCodes(codes) {
  const text = `movie-bag recovery codes (each works once)\n\n${codes.join("\n")}\n`;
  const said = h("p", { role: "status", class: "hint" });
  const copy = h("button", { type: "button", class: "secondary" }, "Copy the codes");
  copy.addEventListener("click", () => copyText(text, said, "The codes were copied."));
  const save = h("a", { class: "button secondary", download: "movie-bag-recovery-codes.txt", href: URL.createObjectURL(new Blob([text], { type: "text/plain" })) }, "Download the codes");
  return [
    h("p", {}, h("strong", {}, "Two-step sign-in is on."), " Save these recovery codes somewhere safe: each signs you in once if you lose your phone. They are shown only now."),
    h("ol", { class: "recovery-codes", "aria-label": "Recovery codes" }, codes.map((code) => h("li", {}, h("code", {}, code)))),
    h("div", { class: "actions" }, copy, save, h("a", { href: "/account/security" }, "I have saved them")),
    said,
  ];
}

async function copyText(text, said, done) {
  try {
    await navigator.clipboard.writeText(text);
    said.textContent = done;
  } catch {
    said.textContent = "Your browser did not allow copying: select the text and copy it yourself.";
  }
}

/** "Firefox on Linux": enough of a user agent to recognise a device. */
function deviceName(userAgent) {
  if (!userAgent) {
    return "Unknown device";
  }
  const browser = [["Edg/", "Edge"], ["Firefox/", "Firefox"], ["Chrome/", "Chrome"], ["Safari/", "Safari"], ["curl/", "curl"]].find(([mark]) => userAgent.includes(mark));
  const system = [["Android", "Android"], ["iPhone", "iPhone"], ["iPad", "iPad"], ["Windows", "Windows"], ["Mac OS", "macOS"], ["Linux", "Linux"]].find(([mark]) => userAgent.includes(mark));
  return browser || system ? [browser && browser[1], system && system[1]].filter(Boolean).join(" on ") : userAgent.slice(0, 60);
}

function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

async function sessionsSection() {
  const { body: sessions } = await api.request("GET", "/api/auth/sessions", { auth: true });
  const rows = sessions.map((session) => {
    const device = deviceName(session.user_agent);
    let action;
    if (session.current) {
      action = h("strong", { class: "this-device" }, "This device");
    } else {
      action = h("button", { type: "button", class: "secondary", "aria-label": `Sign out ${device}, signed in ${formatTime(session.created_at)}` }, "Sign out");
      action.addEventListener("click", async () => {
        try {
          await api.request("DELETE", `/api/auth/sessions/${encodeURIComponent(session.id)}`, { auth: true });
          row.remove();
          flash(`${device} is signed out.`);
        } catch (error) {
          flash(explain(error), true);
        }
      });
    }
    const row = h("tr", { class: session.current ? "current" : null }, h("td", {}, device, h("br"), h("span", { class: "muted" }, session.ip || "")), h("td", {}, formatTime(session.created_at)), h("td", {}, formatTime(session.last_used_at)), h("td", {}, action));
    return row;
  });
  return h(
    "section",
    { "aria-labelledby": "sessions" },
    h("h2", { id: "sessions", tabindex: "-1" }, "Where you are signed in"),
    h("table", { class: "sessions" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Device"), h("th", { scope: "col" }, "Signed in"), h("th", { scope: "col" }, "Last used"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Sign out")))), h("tbody", {}, rows)),
  );
}

const SCOPES = [
  ["movies:write", "Add, edit and delete my movies and their posters"],
  ["library:write", "Change my library (ratings, watchlist, diary)"],
];
const EXPIRIES = [
  ["2592000", "30 days"],
  ["7776000", "90 days"],
  ["31536000", "1 year"],
  ["", "Never"],
];

async function tokensSection() {
  const { body: tokens } = await api.request("GET", "/api/auth/tokens", { auth: true });
  const none = h("p", { class: "muted" }, "You have no tokens.");
  const list = h("ul", { class: "tokens", "aria-label": "Your access tokens" }, tokens.map(tokenItem));
  // Said while the list is empty: after the last revoke too.
  new MutationObserver(() => (none.hidden = list.children.length > 0)).observe(list, { childList: true });
  none.hidden = tokens.length > 0;
  const created = h("div", { "aria-live": "polite" });
  const scopeBoxes = SCOPES.map(([scope, label]) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "scopes", value: scope }), label));
  const element = form(
    [
      field("Name", "name", { required: true, maxlength: 100, autocomplete: "off" }, "What it is for, such as “backup script”"),
      h("fieldset", { class: "checks" }, h("legend", {}, "It may also"), scopeBoxes, h("p", { class: "hint" }, "Every token can read what you can read."), h("p", { class: "error", "data-error-for": "scopes" })),
      h("div", { class: "field" }, h("label", { for: "token-expiry" }, "Expires after"), h("select", { id: "token-expiry", name: "expires_in" }, EXPIRIES.map(([value, label]) => h("option", { value }, label)))),
    ],
    "Create token",
    async (values) => {
      const scopes = scopeBoxes.map((label) => label.querySelector("input")).filter((box) => box.checked).map((box) => box.value);
      const body = { name: values.name.trim(), scopes };
      if (values.expires_in) {
        body.expires_in = Number(values.expires_in);
      }
      const { body: token } = await api.request("POST", "/api/auth/tokens", { auth: true, body });
      element.reset();
      list.prepend(tokenItem(token));
      created.replaceChildren(newToken(token));
      created.querySelector("input").focus();
    },
  );
  return h(
    "section",
    { "aria-labelledby": "tokens-heading" },
    h("h2", { id: "tokens-heading" }, "Personal access tokens"),
    h("p", {}, "For scripts and apps that use the API as you. A token never changes your password, email, sessions or tokens."),
    none,
    list,
    created,
    h("h3", {}, "Create a token"),
    element,
  );
}

/** A token just made: its secret, shown this once, with a copy button. */
function newToken(token) {
  const said = h("p", { role: "status", class: "hint" });
  const copy = h("button", { type: "button" }, "Copy");
  copy.addEventListener("click", () => copyText(token.token, said, "The token was copied."));
  return h(
    "div",
    { class: "card new-token" },
    h("p", {}, h("strong", {}, `Your new token “${token.name}”.`), " Copy it now: it is shown only once."),
    h("div", { class: "actions" }, h("label", { for: "new-token-value", class: "visually-hidden" }, "New token"), h("input", { id: "new-token-value", readonly: true, value: token.token, spellcheck: "false", class: "token-value" }), copy),
    said,
  );
}

function tokenItem(token) {
  const revoke = h("button", { type: "button", class: "secondary", "aria-label": `Revoke ${token.name}` }, "Revoke");
  const item = h(
    "li",
    { class: "card" },
    h("p", { class: "token-name" }, h("strong", {}, token.name), " ", h("span", { class: "muted" }, token.scopes.length ? token.scopes.join(", ") : "read only")),
    h("p", { class: "muted" }, `Created ${formatDate(token.created_at)} · ${token.last_used_at ? `last used ${formatDate(token.last_used_at)}` : "never used"} · ${token.expires_at ? `expires ${formatDate(token.expires_at)}` : "never expires"}`),
    h("div", { class: "actions" }, revoke),
  );
  revoke.addEventListener("click", async () => {
    if (!(await confirmDialog(`Revoke “${token.name}”? Whatever uses it stops working at once.`, "Revoke"))) {
      return;
    }
    try {
      await api.request("DELETE", `/api/auth/tokens/${encodeURIComponent(token.id)}`, { auth: true });
      item.remove();
      flash(`“${token.name}” was revoked.`);
    } catch (error) {
      if (error instanceof SignInNeeded) {
        signInFirst();
        return;
      }
      flash(explain(error), true);
    }
  });
  return item;
}

/** What each security event means, for people. */
const EVENTS = {
  signup: "Account created",
  login: "Signed in",
  login_failed: "A sign-in failed (wrong password)",
  mfa_failed: "A two-step code was wrong",
  logout: "Signed out",
  logout_all: "Signed out everywhere",
  session_revoked: "A session was signed out",
  password_changed: "Password changed",
  password_reset_requested: "Password reset asked for",
  password_reset: "Password reset",
  email_verified: "Email address confirmed",
  email_change_requested: "Email change asked for",
  email_changed: "Email address changed",
  mfa_enabled: "Two-step sign-in turned on",
  mfa_disabled: "Two-step sign-in turned off",
  recovery_code_used: "A recovery code was used",
  token_created: "Access token created",
  token_revoked: "Access token revoked",
  role_changed: "Role changed",
};

async function eventsSection() {
  const row = (event) => h("tr", {}, h("td", {}, EVENTS[event.type] || event.type), h("td", {}, formatTime(event.at)), h("td", {}, deviceName(event.user_agent), h("br"), h("span", { class: "muted" }, event.ip || "")));
  const body = h("tbody", {});
  const more = h("button", { type: "button", class: "secondary" }, "More");
  let next = "/api/users/me/security-events?limit=20";
  async function load() {
    const response = await api.request("GET", next, { auth: true });
    body.append(...response.body.map(row));
    next = api.nextLink(response.headers);
    more.hidden = !next;
  }
  await load();
  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      await load();
    } catch (error) {
      flash(explain(error), true);
    } finally {
      more.disabled = false;
    }
  });
  return h(
    "section",
    { "aria-labelledby": "events-heading" },
    h("h2", { id: "events-heading" }, "Recent activity"),
    h("table", { class: "events" }, h("thead", {}, h("tr", {}, ["What", "When", "From"].map((label) => h("th", { scope: "col" }, label)))), body),
    h("div", { class: "actions" }, more),
  );
}
