// The web app, driven in Debian's chromium: what a person does, page by page, with the API and
// the emails behind it real. Run by `cargo test` (tests/web_app.rs) or `node tests/browser/run.mjs`
// after `cargo build`. Prints each scenario, the first-load bytes, axe results and where the
// screenshots are; exits non-zero on the first failure.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import path from "node:path";

import { DESKTOP, NARROW, PHONE, axeCheck, launchBrowser, screenshotDir, startServer, startSmtp, watch } from "./harness.mjs";
import { registerLibraryScenarios } from "./library-scenarios.mjs";
import { registerAccountScenarios } from "./account-scenarios.mjs";

const PASSWORD = "correct horse battery";
// `declared`: the refusals (4xx) the running scenario asks for; `refusalsSeen`: which of them
// came; `unannounced`: declared ones whose browser console message has not come yet.
// `networkFailuresExpected`: the scenario cuts requests off (offline), so the browser's
// "Failed to load resource: net::ERR_..." lines are expected, and counted.
const problems = { consoleErrors: [], expectedRefusals: [], declared: [], refusalsSeen: new Set(), unannounced: [], networkFailuresExpected: false, networkFailuresSeen: 0 };
const axeFindings = [];
const pagesChecked = new Set();
const shots = screenshotDir();

const smtp = await startSmtp();
const server = await startServer(smtp);
const browser = await launchBrowser();
const url = (pathAndQuery) => `${server.base}${pathAndQuery}`;

/** A fresh browser profile (its own localStorage): one person on one device. */
async function person() {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  watch(page, problems);
  return { context, page };
}

async function heading(page, name) {
  await page.getByRole("heading", { level: 1, name }).waitFor({ timeout: 10_000 });
}

/**
 * axe-core in light and dark mode, and screenshots at desktop, phone and narrow phone width
 * (the dark ones at desktop and phone), once per page kind. Nothing may scroll sideways at any
 * of these widths.
 */
async function check(page, kind) {
  if (pagesChecked.has(kind)) {
    return;
  }
  pagesChecked.add(kind);
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const violation of await axeCheck(page)) {
      axeFindings.push({ page: `${kind} (${scheme})`, ...violation });
    }
    const sizes = scheme === "light" ? [["desktop", DESKTOP], ["phone", PHONE], ["narrow", NARROW]] : [["desktop", DESKTOP], ["phone", PHONE]];
    for (const [label, size] of sizes) {
      await page.setViewportSize(size);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${kind} scrolls sideways by ${overflow}px at ${size.width}px`);
      const suffix = scheme === "light" ? label : `${label}-dark`;
      await page.screenshot({ path: path.join(shots, `${kind}-${suffix}.png`), fullPage: true });
    }
  }
  await page.emulateMedia({ colorScheme: null });
  await page.setViewportSize(DESKTOP);
}

/** Opens the catalogue's Filters panel (closed while no filter is set), as a person clicks it. */
async function openFilters(page) {
  const panel = page.locator("details.filters");
  if ((await panel.getAttribute("open")) === null) {
    await page.getByText("Filters", { exact: true }).click();
  }
}

async function signUp(page, email, password = PASSWORD) {
  await page.goto(url("/signup"));
  await heading(page, "Create an account");
  await check(page, "signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Repeat the password").fill(password);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByText("Your account is ready").waitFor();
  // With a mail server the address must be confirmed before the account writes anything: open
  // the emailed link, as the person would.
  const mail = await smtp.waitFor(email, "Confirm your movie-bag email address");
  const link = mail.body.match(/https?:\/\/\S+\/verify\?token=\S+/)[0];
  assert.ok(link.startsWith(server.base), link);
  await page.goto(link);
  await heading(page, "Confirm your email address");
  assert.equal(new URL(page.url()).search, "", "the token leaves the address bar");
  await check(page, "verify");
  await page.getByRole("button", { name: "Confirm my email address" }).click();
  await page.getByText("Your email address is verified").waitFor();
}

async function signIn(page, email, password = PASSWORD) {
  await page.getByRole("heading", { level: 1 }).first().waitFor();
  if (!page.url().includes("/signin")) {
    await page.goto(url("/signin"));
  }
  await heading(page, "Sign in");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

async function apiToken(email, password = PASSWORD) {
  const response = await fetch(url("/api/auth/login"), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  assert.equal(response.status, 200, `login of ${email} through the API`);
  return (await response.json()).token;
}

/** RFC 6238's code of `secret` (base32) for 30-second time step `step`, as an app computes it. */
function totpCode(secret, step) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of secret.replace(/=+$/, "").toUpperCase()) {
    bits += alphabet.indexOf(char).toString(2).padStart(5, "0");
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((byte) => Number.parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const digest = crypto.createHmac("sha1", key).update(counter).digest();
  const offset = digest[19] & 15;
  return String((digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

/** An API call as `token`; resolves to the parsed body. */
async function apiCall(method, pathAndQuery, token, body) {
  const response = await fetch(url(pathAndQuery), {
    method,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  assert.ok(response.ok, `${method} ${pathAndQuery}: ${response.status}`);
  return response.status === 204 ? null : response.json();
}

async function addMovie(page, { name, casts, genres }) {
  await page.getByRole("link", { name: "Add a movie" }).click();
  await heading(page, "Add a movie");
  await check(page, "movie-new");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Cast").fill(casts.join("\n"));
  await page.getByLabel("Genres").fill(genres.join("\n"));
  await page.getByRole("button", { name: "Add movie" }).click();
  await heading(page, name);
  return page.url().split("/movies/")[1];
}

const scenarios = [];
/**
 * `refusals`: the API refusals the scenario causes in the browser, as "METHOD /path status";
 * `networkFailures`: it cuts requests off (offline, aborted), and must cause at least one.
 */
const scenario = (name, run, refusals = [], { networkFailures = false } = {}) => scenarios.push({ name, run, refusals, networkFailures });

const ann = "ann@example.com";
const bob = "bob@example.com";
let annMovieId = null;

scenario("the first visit shows an empty catalogue, and loads under 150 KB", async () => {
  const { context, page } = await person();
  const sizes = [];
  page.on("requestfinished", (request) => sizes.push(request.sizes()));
  await page.goto(url("/"), { waitUntil: "load" });
  await heading(page, "Catalogue");
  await page.getByText("No movies yet").waitFor();
  // Every request of the first load has finished (none for 500 ms since): count them all.
  await page.waitForLoadState("networkidle");
  const bytes = (await Promise.all(sizes)).reduce((sum, size) => sum + size.responseBodySize + size.responseHeadersSize, 0);
  console.log(`    first load of / transferred ${bytes} bytes (${(bytes / 1024).toFixed(1)} KiB)`);
  assert.ok(bytes < 150 * 1024, `first load ${bytes} bytes`);
  await check(page, "catalogue-empty");
  const headers = (await fetch(url("/"))).headers;
  const policy = headers.get("content-security-policy");
  assert.match(policy, /frame-ancestors 'none'/);
  assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval/);
  await context.close();
});

scenario("sign up, sign in, add a movie, find it by search and by genre, edit it", async () => {
  const { context, page } = await person();
  await signUp(page, ann);
  await page.getByRole("navigation").getByRole("button", { name: "Sign out" }).click();
  await page.getByText("You are signed out").waitFor();
  await page.getByRole("navigation").getByRole("link", { name: "Sign in" }).click();
  await check(page, "signin");
  await signIn(page, ann);
  await page.getByText("You are signed in").waitFor();
  annMovieId = await addMovie(page, { name: "Heat", casts: ["Al Pacino", "Robert De Niro"], genres: ["Crime", "Drama"] });
  await check(page, "movie");
  await page.getByRole("navigation").getByRole("link", { name: "Catalogue" }).click();
  await heading(page, "Catalogue");
  await check(page, "catalogue");
  await page.getByRole("searchbox", { name: "Search" }).fill("hea");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await heading(page, "Search results");
  assert.equal(new URL(page.url()).search, "?q=hea");
  await page.getByRole("link", { name: "Heat" }).waitFor();
  await page.getByRole("searchbox", { name: "Search" }).fill("no such film");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.getByText("No movies match").waitFor();
  await check(page, "catalogue-no-match");
  await page.goto(url("/"));
  await openFilters(page);
  await page.getByRole("combobox", { name: "Genre", exact: true }).fill("crime");
  await page.getByRole("combobox", { name: "Cast", exact: true }).fill("al pacino");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.getByRole("link", { name: "Heat" }).click();
  await heading(page, "Heat");
  await page.getByRole("link", { name: "Edit" }).click();
  await heading(page, "Edit “Heat”");
  await check(page, "movie-edit");
  await page.getByLabel("Name").fill("Heat (1995)");
  await page.getByRole("button", { name: "Save changes" }).click();
  await heading(page, "Heat (1995)");
  await page.getByText("Your changes were saved").waitFor();
  // The back button walks the pages visited.
  await page.goBack();
  await heading(page, "Edit “Heat (1995)”");
  await page.goBack();
  await heading(page, "Heat (1995)");
  await context.close();
});

scenario("a field the API refuses shows its reason next to the field", async () => {
  const { context, page } = await person();
  await page.goto(url("/signup"));
  await page.getByLabel("Email").fill("not-an-email");
  await page.getByLabel("Password", { exact: true }).fill("short");
  await page.getByLabel("Repeat the password").fill("short");
  await page.getByRole("button", { name: "Sign up" }).click();
  const email = page.getByLabel("Email");
  await page.locator('[data-error-for="password"]').filter({ hasText: "at least 8" }).waitFor();
  assert.equal(await email.getAttribute("aria-invalid"), "true");
  assert.match(await page.locator('[data-error-for="email"]').textContent(), /email address/);
  await context.close();
}, ["POST /api/auth/signup 400"]);

scenario("a second user sees no edit button, and the API refuses their edit", async () => {
  const { context, page } = await person();
  await signUp(page, bob);
  await page.goto(url(`/movies/${annMovieId}`));
  await heading(page, "Heat (1995)");
  assert.equal(await page.getByRole("link", { name: "Edit" }).count(), 0);
  assert.equal(await page.getByRole("button", { name: "Delete" }).count(), 0);
  const response = await fetch(url(`/api/movies/${annMovieId}`), {
    method: "PATCH",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${await apiToken(bob)}` },
    body: JSON.stringify({ name: "Stolen" }),
  });
  assert.equal(response.status, 403);
  assert.equal((await (await fetch(url(`/api/movies/${annMovieId}`))).json()).name, "Heat (1995)");
  await context.close();
});

scenario("a hostile movie name stays text and runs nothing", async () => {
  const { context, page } = await person();
  await page.goto(url("/signin"));
  await signIn(page, ann);
  await page.getByText("You are signed in").waitFor();
  const hostile = "<img src=x onerror=alert(1)>";
  await addMovie(page, { name: hostile, casts: ["<script>alert(2)</script>"], genres: ["Horror"] });
  await page.goto(url("/"));
  await page.getByRole("link", { name: hostile }).waitFor();
  assert.equal(await page.locator("main img").count(), 0);
  assert.equal(await page.locator("main script").count(), 0);
  assert.ok((await page.locator("main").textContent()).includes("<script>alert(2)</script>"));
  await context.close();
});

scenario("signed out, a page that needs an account sends you to sign in and then back", async () => {
  const { context, page } = await person();
  await page.goto(url("/account"));
  await heading(page, "Sign in");
  assert.equal(new URL(page.url()).searchParams.get("next"), "/account");
  await signIn(page, ann);
  await heading(page, "Your account");
  await check(page, "account");
  // The movies you added are a page of their own, counted (defect 5).
  // Ann added Heat and the hostile name.
  await page.getByRole("link", { name: "Movies you added (2)" }).click();
  await heading(page, "Movies you added");
  await page.getByText("2 movies", { exact: true }).waitFor();
  await page.getByRole("link", { name: "Heat (1995)" }).waitFor();
  await context.close();
});

scenario("forgot password: the emailed link sets a new password; the old one stops working", async () => {
  const { context, page } = await person();
  await page.goto(url("/signin"));
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await heading(page, "Forgot your password?");
  await check(page, "forgot");
  await page.getByLabel("Email").fill(ann);
  await page.getByRole("button", { name: "Send reset link" }).click();
  await page.getByText("If an account with that email exists").waitFor();
  const mail = await smtp.waitFor(ann, "Reset your movie-bag password");
  const link = mail.body.match(/https?:\/\/\S+\/reset\?token=\S+/)[0];
  assert.ok(link.startsWith(server.base), link);
  await page.goto(link);
  await heading(page, "Choose a new password");
  assert.equal(new URL(page.url()).search, "", "the token leaves the address bar");
  await check(page, "reset");
  const newPassword = "a brand new passphrase";
  await page.getByLabel("New password", { exact: true }).fill(newPassword);
  await page.getByLabel("Repeat the new password").fill(newPassword);
  await page.getByRole("button", { name: "Set new password" }).click();
  await heading(page, "Sign in");
  await page.getByText("Sign in with your new password").waitFor();
  await signIn(page, ann, PASSWORD);
  await page.getByText("Incorrect email or password").waitFor();
  await page.getByLabel("Password").fill(newPassword);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByText("You are signed in").waitFor();
  await smtp.waitFor(ann, "password was changed");
  // The link works once.
  const again = await fetch(url("/api/auth/reset"), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ reset_token: new URL(link).searchParams.get("token"), password: "yet another passphrase" }),
  });
  assert.equal(again.status, 400);
  await context.close();
}, ["POST /api/auth/login 401"]);

scenario("two-step sign-in asks for the code from the app, and says so when a code is wrong", async () => {
  const email = "tess@example.com";
  const signup = await fetch(url("/api/auth/signup"), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  assert.equal(signup.status, 200, "signup through the API");
  const token = await apiToken(email);
  const { secret } = await apiCall("POST", "/api/auth/mfa/totp", token, { password: PASSWORD });
  const step = Math.floor(Date.now() / 30_000);
  await apiCall("POST", "/api/auth/mfa/totp/confirm", token, { code: totpCode(secret, step) });

  const { context, page } = await person();
  await page.goto(url("/signin"));
  await signIn(page, email);
  await heading(page, "Enter your code");
  await check(page, "signin-code");
  await page.getByLabel("Code").fill(totpCode(secret, step + 20));
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByText("That code did not work").waitFor();
  // The next step's code: the one used to confirm is spent.
  await page.getByLabel("Code").fill(totpCode(secret, step + 1));
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByText("You are signed in").waitFor();
  assert.ok(await page.evaluate(() => localStorage.getItem("movie-bag.session")), "a session is kept");
  await context.close();
}, ["POST /api/auth/login/mfa 401"]);

scenario("sign out everywhere signs out this tab and every other device", async () => {
  const newPassword = "a brand new passphrase";
  const laptop = await person();
  const phone = await person();
  for (const { page } of [laptop, phone]) {
    await page.goto(url("/signin"));
    await signIn(page, ann, newPassword);
    await page.getByText("You are signed in").waitFor();
  }
  await laptop.page.goto(url("/account"));
  await heading(laptop.page, "Your account");
  await laptop.page.getByRole("button", { name: "Sign out everywhere" }).click();
  await heading(laptop.page, "Sign in");
  await laptop.page.getByText("signed out on every device").waitFor();
  assert.equal(await laptop.page.evaluate(() => localStorage.getItem("movie-bag.session")), null);
  await phone.page.goto(url("/account"));
  await heading(phone.page, "Sign in");
  await laptop.context.close();
  await phone.context.close();
}, ["GET /api/users/me 401", "POST /api/auth/refresh 401"]);

scenario("an admin promotes a user on the users page", async () => {
  server.cli("user", "promote", ann);
  const { context, page } = await person();
  await page.goto(url("/signin"));
  await signIn(page, ann, "a brand new passphrase");
  await page.getByText("You are signed in").waitFor();
  await page.getByRole("link", { name: "Users" }).click();
  await heading(page, "Users");
  await check(page, "admin-users");
  await page.getByRole("button", { name: `Make admin: ${bob}` }).click();
  await page.getByText(`${bob} is now an admin`).waitFor();
  const profile = await fetch(url("/api/users/me"), { headers: { Authorization: `Bearer ${await apiToken(bob)}` } });
  assert.equal((await profile.json()).role, "admin");
  // An admin may edit anyone's movie: the edit button shows on Bob's side now.
  await context.close();
});

scenario("deleting a movie asks first", async () => {
  const { context, page } = await person();
  await page.goto(url("/signin"));
  await signIn(page, ann, "a brand new passphrase");
  await page.getByText("You are signed in").waitFor();
  await page.goto(url(`/movies/${annMovieId}`));
  await heading(page, "Heat (1995)");
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("dialog").waitFor();
  await check(page, "movie-delete-confirm");
  await page.getByRole("button", { name: "Cancel" }).click();
  assert.equal((await fetch(url(`/api/movies/${annMovieId}`))).status, 200);
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await page.getByText("was deleted").waitFor();
  assert.equal((await fetch(url(`/api/movies/${annMovieId}`))).status, 404);
  await context.close();
});

scenario("the API documentation draws every operation under its strict policy", async () => {
  // Its policy allows no inline script or style: a refused one would be a console error here,
  // and a page that needed one would draw nothing.
  const { context, page } = await person();
  const response = await page.goto(url("/docs"));
  assert.equal(response.status(), 200);
  assert.match(response.headers()["content-security-policy"], /script-src 'self';/);
  assert.equal(response.headers()["x-frame-options"], "DENY");
  await page.getByRole("heading", { name: /movie-bag/ }).first().waitFor({ timeout: 15_000 });
  await page.locator(".opblock").first().waitFor({ timeout: 15_000 });
  const operations = await page.locator(".opblock").count();
  assert.ok(operations >= 20, `only ${operations} operations drawn`);
  // An operation opens, and "Try it out" reaches the API from the page.
  await page.locator(".opblock-summary", { hasText: "/health" }).first().click();
  await page.getByRole("button", { name: "Try it out" }).click();
  await page.getByRole("button", { name: "Execute" }).click();
  await page.locator(".responses-wrapper .response-col_status", { hasText: "200" }).first().waitFor({ timeout: 10_000 });
  await context.close();
});

scenario("unknown pages say so; unknown API paths stay JSON", async () => {
  const { context, page } = await person();
  const response = await page.goto(url("/no/such/page"));
  assert.equal(response.status(), 404);
  await heading(page, "Page not found");
  await check(page, "not-found");
  const api = await fetch(url("/api/nothing-here"), { headers: { Accept: "text/html" } });
  assert.equal(api.status, 404);
  assert.match(api.headers.get("content-type"), /application\/json/);
  await context.close();
}, ["GET /no/such/page 404"]);

scenario("a 429 from the API says when to try again", async () => {
  const limited = await startServer(smtp, { AUTH_RATE_LIMIT_PER_MINUTE: "2" });
  const { context, page } = await person();
  await page.goto(`${limited.base}/signin`);
  await heading(page, "Sign in");
  for (let attempt = 0; attempt < 3; attempt++) {
    await page.getByLabel("Email").fill("nobody@example.com");
    await page.getByLabel("Password").fill("wrong password here");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.locator("form .error[role=alert]").filter({ hasText: /\S/ }).waitFor();
  }
  const message = await page.locator("form .error[role=alert]").textContent();
  assert.match(message, /Too many attempts\. Try again in \d+ seconds?\./, message);
  await context.close();
  await limited.stop();
}, ["POST /api/auth/login 401", "POST /api/auth/login 429"]);

scenario("the access token is refreshed before it expires, without asking to sign in", async () => {
  const shortLived = await startServer(smtp, { ACCESS_TOKEN_TTL: "4" });
  const { context, page } = await person();
  await page.goto(`${shortLived.base}/signup`);
  await page.getByLabel("Email").fill("carol@example.com");
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Repeat the password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByText("Your account is ready").waitFor();
  const first = await page.evaluate(() => JSON.parse(localStorage.getItem("movie-bag.session")).token);
  // Twice the token's lifetime: the page refreshes on its own meanwhile.
  await page.waitForTimeout(8_000);
  const later = await page.evaluate(() => JSON.parse(localStorage.getItem("movie-bag.session")).token);
  assert.notEqual(later, first, "the token was refreshed while the page stayed open");
  await page.getByRole("link", { name: "Account" }).click();
  await heading(page, "Your account");
  await context.close();
  await shortLived.stop();
});

scenario("every control is reachable by keyboard with a visible focus", async () => {
  const { context, page } = await person();
  await page.goto(url("/"));
  await heading(page, "Catalogue");
  const reached = [];
  for (let i = 0; i < 16; i++) {
    await page.keyboard.press("Tab");
    // The Filters panel starts closed; a keyboard opens it with Enter, and its fields follow.
    if (await page.evaluate(() => document.activeElement?.tagName === "SUMMARY" && !document.activeElement.parentElement.open)) {
      await page.keyboard.press("Enter");
    }
    reached.push(
      await page.evaluate(() => {
        const element = document.activeElement;
        if (element === document.body) {
          return { name: "(the browser's own controls)", outline: true };
        }
        const style = getComputedStyle(element);
        return { name: element.getAttribute("aria-label") || element.textContent.trim() || element.getAttribute("name"), outline: style.outlineStyle !== "none" && style.outlineWidth !== "0px" };
      }),
    );
  }
  const names = reached.map((r) => r.name);
  // The first Tab after the page loads reaches the skip link, then the navigation.
  assert.deepEqual(names.slice(0, 4), ["Skip to content", "movie-bag", "Catalogue", "Genres"], names.join(" | "));
  assert.ok(!names.includes("More movies"), "a hidden button is not in the tab order");
  for (const expected of ["Skip to content", "Catalogue", "Sign in", "q", "Search", "Filters", "genre", "cast", "director", "year_from", "year_to"]) {
    assert.ok(names.includes(expected), `Tab reaches ${expected}: ${names.join(" | ")}`);
  }
  assert.ok(reached.every((r) => r.outline), `a focused control without an outline: ${JSON.stringify(reached)}`);
  await context.close();
});

// ---- The web app as a site people keep using (issue 26, web-core's part) ----

/** An account made and confirmed through the API, as its owner would by mail; its token. */
async function confirmedAccount(email, password = PASSWORD) {
  const signup = await fetch(url("/api/auth/signup"), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  assert.equal(signup.status, 200, `signup of ${email} through the API`);
  const mail = await smtp.waitFor(email, "Confirm your movie-bag email address");
  const token = new URL(mail.body.match(/https?:\/\/\S+\/verify\?token=\S+/)[0]).searchParams.get("token");
  const verified = await fetch(url("/api/auth/verify"), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token }) });
  assert.equal(verified.status, 200, `${email} confirmed`);
  return apiToken(email, password);
}

/** A person signed in in their own browser profile. */
async function signedIn(email, password = PASSWORD, contextOptions = {}) {
  const context = await browser.newContext({ viewport: DESKTOP, ...contextOptions });
  const page = await context.newPage();
  watch(page, problems);
  await page.goto(url("/signin"));
  await signIn(page, email, password);
  await page.getByText("You are signed in").waitFor();
  return { context, page };
}

/**
 * Milliseconds from the page's next click to `selector` matching, measured in the page (the
 * driver's own delays left out). Call before the click; await the function it returns after.
 */
async function timeFromNextClickTo(page, selector) {
  await page.evaluate((wanted) => {
    let clickedAt = null;
    document.addEventListener("click", () => (clickedAt = performance.now()), { capture: true, once: true });
    window.timeToWanted = new Promise((resolve) => {
      new MutationObserver((_changes, observer) => {
        if (clickedAt !== null && document.querySelector(wanted)) {
          observer.disconnect();
          resolve(performance.now() - clickedAt);
        }
      }).observe(document.body, { attributes: true, childList: true, subtree: true });
    });
  }, selector);
  return async () => Math.round(await page.evaluate(() => window.timeToWanted));
}

/** Waits until the page the address names is drawn (the address changes before). */
const drawn = (page) => page.locator("main:not([aria-busy])").waitFor();

/** How far the page is scrolled sideways at its widest: 0 when nothing sticks out. */
const sideways = (page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

const cleo = "cleo@example.com";
let cleoToken = null;
const longWord = "Supercalifragilisticexpialidocious".repeat(3).slice(0, 96);

scenario("a catalogue of Cleo's movies: counts, sort, chips and a year range", async () => {
  cleoToken = await confirmedAccount(cleo);
  const films = [
    { name: "Thief", year: 1981, directors: ["Michael Mann"], casts: ["James Caan"], genres: ["Crime"] },
    { name: "Collateral", year: 2004, directors: ["Michael Mann"], casts: ["Tom Cruise", "Jamie Foxx"], genres: ["Crime", "Thriller"] },
    { name: "Manhunter", year: 1986, directors: ["Michael Mann"], casts: ["William Petersen"], genres: ["Crime", "Thriller"] },
    { name: "The Insider", year: 1999, directors: ["Michael Mann"], casts: ["Al Pacino", "Russell Crowe"], genres: ["Drama"] },
    { name: "Ali", year: 2001, directors: ["Michael Mann"], casts: ["Will Smith"], genres: ["Drama", "Sport"] },
  ];
  for (const film of films) {
    await apiCall("POST", "/api/movies", cleoToken, film);
  }
  const total = Number((await fetch(url("/api/movies?count=true&limit=1"))).headers.get("x-total-count"));
  const { context, page } = await person();
  await page.goto(url("/"));
  await heading(page, "Catalogue");
  await page.getByText(`${total} movies`, { exact: true }).waitFor();
  await page.getByLabel("Sort").selectOption("title");
  await page.waitForURL(/sort=title/);
  await drawn(page);
  const titles = await page.locator("ul.movies > li h2").allTextContents();
  const cleos = titles.filter((title) => films.some((film) => film.name === title));
  assert.deepEqual(cleos, ["Ali", "Collateral", "Manhunter", "The Insider", "Thief"], "the titles come A to Z");
  await openFilters(page);
  await page.getByRole("combobox", { name: "Genre", exact: true }).fill("Crime");
  await page.getByLabel("from", { exact: true }).fill("1980");
  await page.getByLabel("to", { exact: true }).fill("1990");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await heading(page, "Search results");
  await page.getByText("2 movies match", { exact: true }).waitFor();
  assert.deepEqual(await page.locator("ul.movies > li h2").allTextContents(), ["Manhunter", "Thief"], "sorted by title, filtered");
  const chips = page.getByRole("list", { name: "Active filters" });
  for (const chip of ["Genre: Crime", "From 1980", "Until 1990"]) {
    await chips.getByText(chip).waitFor();
  }
  await check(page, "catalogue-filtered");
  await page.getByRole("button", { name: "Remove the filter Genre: Crime" }).click();
  await page.waitForURL((address) => !address.search.includes("genre"));
  await drawn(page);
  assert.match(new URL(page.url()).search, /year_from=1980/, "the other filters stay");
  await chips.getByText("From 1980").waitFor();
  assert.equal(await chips.getByText("Genre: Crime").count(), 0, "the chip is gone");
  await page.getByRole("button", { name: "Remove the filter From 1980" }).click();
  await page.getByRole("button", { name: "Remove the filter Until 1990" }).click();
  await heading(page, "Catalogue");
  await page.getByText(`${total} movies`, { exact: true }).waitFor();
  await context.close();
});

scenario("the cast, director and genre filters suggest entries from the start of any word", async () => {
  const { context, page } = await person();
  await page.goto(url("/"));
  await openFilters(page);
  const cast = page.getByRole("combobox", { name: "Cast", exact: true });
  await cast.pressSequentially("pac");
  const suggestions = page.getByRole("listbox", { name: "Cast suggestions" });
  await suggestions.getByRole("option", { name: /Al Pacino/ }).waitFor();
  assert.equal(await cast.getAttribute("aria-expanded"), "true");
  await check(page, "catalogue-suggestions");
  await cast.press("ArrowDown");
  assert.match(await page.locator('[role=option][aria-selected="true"]').textContent(), /Al Pacino/);
  await cast.press("Enter");
  assert.equal(await cast.inputValue(), "Al Pacino", "Enter takes the suggestion");
  assert.equal(await cast.getAttribute("aria-expanded"), "false");
  const director = page.getByRole("combobox", { name: "Director", exact: true });
  await director.pressSequentially("man");
  await page.getByRole("listbox", { name: "Director suggestions" }).getByRole("option", { name: /Michael Mann/ }).click();
  assert.equal(await director.inputValue(), "Michael Mann", "a click takes it too");
  const genre = page.getByRole("combobox", { name: "Genre", exact: true });
  await genre.pressSequentially("thr");
  await page.getByRole("listbox", { name: "Genre suggestions" }).getByRole("option", { name: /Thriller/ }).waitFor();
  await genre.press("Escape");
  assert.equal(await genre.getAttribute("aria-expanded"), "false", "Escape closes the suggestions");
  await context.close();
});

scenario("the genre page lists each genre with its count and links to the filtered catalogue", async () => {
  const { context, page } = await person();
  await page.goto(url("/"));
  await page.getByRole("navigation").getByRole("link", { name: "Genres" }).click();
  await heading(page, "Genres");
  await check(page, "genres");
  const crime = page.getByRole("link", { name: /^Crime \d+ movies$/ });
  const count = Number((await crime.textContent()).match(/(\d+) movies/)[1]);
  await crime.click();
  await heading(page, "Search results");
  await page.getByText(`${count} movies match`, { exact: true }).waitFor();
  await page.getByRole("list", { name: "Active filters" }).getByText("Genre: Crime").waitFor();
  await context.close();
});

scenario("More movies, a movie, then Back brings back every loaded movie and the place on the page", async () => {
  for (let i = 1; i <= 41; i++) {
    await apiCall("POST", "/api/movies", cleoToken, { name: `Reel ${String(i).padStart(2, "0")}`, casts: ["Extra"], genres: ["Short"] });
  }
  const { context, page } = await person();
  await page.setViewportSize(PHONE);
  await page.goto(url("/?genre=Short"));
  await page.getByText("41 movies match").waitFor();
  const items = page.locator("ul.movies > li");
  await page.getByRole("button", { name: "More movies" }).click();
  await items.nth(39).waitFor();
  await page.getByRole("button", { name: "More movies" }).click();
  await items.nth(40).waitFor();
  assert.equal(await page.getByRole("button", { name: "More movies" }).isVisible(), false, "no more pages");
  const target = page.getByRole("link", { name: "Reel 05" });
  await target.scrollIntoViewIfNeeded();
  const scrolledTo = await page.evaluate(() => window.scrollY);
  assert.ok(scrolledTo > 1000, `scrolled down ${scrolledTo}px`);
  await target.click();
  await heading(page, "Reel 05");
  await page.goBack();
  await heading(page, "Search results");
  await items.nth(40).waitFor();
  assert.equal(await items.count(), 41, "every loaded movie is back");
  const back = await page.evaluate(() => window.scrollY);
  assert.ok(Math.abs(back - scrolledTo) < 5, `back at ${back}px, was at ${scrolledTo}px`);
  // A page that cannot load says so next to the button, where the person is looking. (A
  // new address: a reload of the same one would bring back the 41 loaded movies.)
  await page.goto(url("/?genre=short"));
  await page.getByText("41 movies match").waitFor();
  await page.route(/\/api\/movies\?.*after=/, (route) => route.abort("internetdisconnected"));
  const more = page.getByRole("button", { name: "More movies" });
  await more.click();
  const problem = page.locator(".more [role=alert]");
  await problem.filter({ hasText: "could not be loaded" }).waitFor();
  assert.ok(await problem.isVisible());
  const [buttonBox, problemBox] = [await more.boundingBox(), await problem.boundingBox()];
  assert.ok(Math.abs(problemBox.y - buttonBox.y) < 200, "the problem is shown beside the button");
  await page.screenshot({ path: path.join(shots, "catalogue-more-failed-phone.png") });
  await page.unroute(/\/api\/movies\?.*after=/);
  await more.click();
  await items.nth(39).waitFor();
  assert.equal(await problem.textContent(), "", "the problem goes once it worked");
  await context.close();
}, [], { networkFailures: true });

scenario("a form whose request cannot reach the server says so, keeps what was typed and sends it on Try again", async () => {
  const { context, page } = await person();
  await page.goto(url("/signin"));
  await heading(page, "Sign in");
  await page.route("**/api/auth/login", (route) => route.abort("internetdisconnected"));
  await page.getByLabel("Email").fill(cleo);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  const alert = page.locator("form [role=alert]");
  await alert.filter({ hasText: "could not be reached" }).waitFor();
  assert.match(await alert.textContent(), /What you typed is kept/);
  assert.equal(await page.getByLabel("Email").inputValue(), cleo, "the email is kept");
  assert.equal(await page.getByLabel("Password").inputValue(), PASSWORD, "the password is kept");
  await check(page, "signin-offline");
  await page.unroute("**/api/auth/login");
  await page.getByRole("button", { name: "Try again" }).click();
  await page.getByText("You are signed in").waitFor();

  // Adding a movie while the whole browser is offline.
  await page.getByRole("link", { name: "Add a movie" }).click();
  await heading(page, "Add a movie");
  await page.getByLabel("Name").fill("Miami Vice");
  await page.getByLabel("Cast").fill("Colin Farrell\nJamie Foxx");
  await page.getByLabel("Genres").fill("Crime");
  await context.setOffline(true);
  await page.getByRole("button", { name: "Add movie" }).click();
  await alert.filter({ hasText: "could not be reached" }).waitFor();
  assert.equal(await page.getByLabel("Name").inputValue(), "Miami Vice");
  assert.equal(await page.getByLabel("Cast").inputValue(), "Colin Farrell\nJamie Foxx");
  await check(page, "movie-new-offline");
  await context.setOffline(false);
  await page.getByRole("button", { name: "Try again" }).click();
  await heading(page, "Miami Vice");
  await page.getByText("“Miami Vice” was added").waitFor();
  // A page that cannot load says why, and comes back with "Try again".
  await context.setOffline(true);
  await page.getByRole("navigation").getByRole("link", { name: "Genres" }).click();
  await heading(page, "Cannot reach movie-bag");
  await page.getByText("You may be offline, or the server may be down.").waitFor();
  await check(page, "page-offline");
  await context.setOffline(false);
  await page.getByRole("link", { name: "Try again" }).click();
  await heading(page, "Genres");
  await context.close();
}, [], { networkFailures: true });

scenario("on a slow connection progress shows within 150 ms: a cold load, a click, a busy button", async () => {
  const { context, page } = await person();
  const slow = (route) => setTimeout(() => route.continue().catch(() => {}), 1500);
  await page.route(/\/api\/movies\?/, slow);
  await page.goto(url("/"), { waitUntil: "domcontentloaded" });
  await page.getByRole("progressbar", { name: "Loading" }).waitFor({ timeout: 1000 });
  assert.match(await page.locator("main").textContent(), /Loading/, "a cold load says it is loading");
  await page.screenshot({ path: path.join(shots, "cold-load-desktop.png") });
  await heading(page, "Catalogue");
  assert.equal(await page.getByRole("progressbar").count(), 0, "the bar goes once the page is there");
  await page.unroute(/\/api\/movies\?/);
  await page.goto(url("/?q=Thief"));
  await page.getByRole("link", { name: "Thief" }).waitFor();
  await page.route(/\/api\/movies\/[^/?]+$/, slow);
  const progressShown = await timeFromNextClickTo(page, "#progress:not([hidden])");
  await page.getByRole("link", { name: "Thief" }).click();
  await page.getByRole("progressbar", { name: "Loading" }).waitFor({ timeout: 1000 });
  const shownAfter = await progressShown();
  assert.ok(shownAfter < 150, `progress shown ${shownAfter} ms after the click`);
  assert.equal(await page.locator("main").getAttribute("aria-busy"), "true");
  await page.screenshot({ path: path.join(shots, "navigation-progress-desktop.png") });
  await heading(page, "Thief");
  console.log(`    progress shown ${shownAfter} ms after the click`);
  await page.route("**/api/auth/login", slow);
  await page.goto(url("/signin"));
  await heading(page, "Sign in");
  await page.getByLabel("Email").fill(cleo);
  await page.getByLabel("Password").fill(PASSWORD);
  const button = page.getByRole("button", { name: "Sign in", exact: true });
  const busyShown = await timeFromNextClickTo(page, "form[aria-busy=true] button.busy[aria-disabled=true]");
  await button.click();
  await page.locator("form[aria-busy=true] button.busy[aria-disabled=true]").waitFor({ timeout: 1000 });
  const busyAfter = await busyShown();
  assert.ok(busyAfter < 150, `the button showed it is busy ${busyAfter} ms after the click`);
  await page.screenshot({ path: path.join(shots, "busy-button-desktop.png") });
  await page.getByText("You are signed in").waitFor();
  assert.equal(await button.count(), 0);
  await context.close();
});

scenario("nothing scrolls sideways at 320 px whatever people typed: long words, long emails, the delete dialog", async () => {
  const long = "christopher.johnson@outlook.com";
  const longToken = await confirmedAccount(long);
  const created = await apiCall("POST", "/api/movies", longToken, {
    name: `${longWord} and more`,
    casts: [`${longWord.slice(0, 60)} Surname`, "Ordinary Name"],
    genres: [longWord.slice(0, 50)],
    directors: ["Director With A Rather Long Name"],
  });
  server.cli("user", "promote", long);
  const { context, page } = await signedIn(long);
  await page.setViewportSize(NARROW);
  await page.goto(url("/"));
  await page.getByRole("link", { name: new RegExp(longWord) }).waitFor();
  assert.equal(await sideways(page), 0, "the catalogue at 320 px");
  await check(page, "catalogue-long-words");
  await page.goto(url(`/movies/${created.id}`));
  await heading(page, `${longWord} and more`);
  await check(page, "movie-long-words");
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("dialog").waitFor();
  await page.setViewportSize(NARROW);
  const dialog = await page.getByRole("dialog").boundingBox();
  assert.ok(dialog.x >= 0 && dialog.x + dialog.width <= NARROW.width, `the dialog fits: ${JSON.stringify(dialog)}`);
  await check(page, "movie-delete-long-name");
  await page.getByRole("button", { name: "Cancel" }).click();
  await page.goto(url("/account"));
  await heading(page, "Your account");
  await page.setViewportSize(NARROW);
  assert.equal(await sideways(page), 0, "the account page at 320 px");
  const shown = page.getByText(long, { exact: true }).first();
  const box = await shown.boundingBox();
  assert.ok(box.x + box.width <= NARROW.width, "the email is not cut off");
  assert.ok(box.height < 30, `the email fits on one line at 320 px (${box.height}px high)`);
  await check(page, "account-long-email");
  await page.goto(url("/admin/users"));
  await heading(page, "Users");
  await check(page, "admin-users-long-emails");
  // At 320 px the long email wraps, and only after its "@" or a dot, never inside a word.
  await page.setViewportSize(NARROW);
  const breaks = await page.locator("table.users tr.you .email").evaluate((element) => {
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    const characters = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (let at = 0; at < node.length; at++) {
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + 1);
        characters.push({ character: node.data[at], top: Math.round(range.getBoundingClientRect().top) });
      }
    }
    return characters.flatMap((here, at) => (at > 0 && here.top > characters[at - 1].top ? [characters[at - 1].character] : []));
  });
  assert.ok(breaks.length > 0, "the email wraps at 320 px");
  assert.ok(breaks.every((character) => character === "@" || character === "."), `the email breaks after: ${breaks.join(" ")}`);
  await page.setViewportSize(DESKTOP);
  await context.close();
});

scenario("the users page marks your own row without a Delete, counts each user's movies, finds users by email and pages through them", async () => {
  for (let i = 1; i <= 26; i++) {
    const response = await fetch(url("/api/auth/signup"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: `member${String(i).padStart(2, "0")}@example.org`, password: PASSWORD }),
    });
    assert.equal(response.status, 200);
  }
  const { context, page } = await signedIn("christopher.johnson@outlook.com");
  await page.goto(url("/admin/users"));
  await heading(page, "Users");
  const own = page.locator("tr.you");
  await own.getByText("You", { exact: true }).waitFor();
  assert.equal(await own.getByRole("button", { name: /Delete/ }).count(), 0, "no Delete on your own row");
  assert.equal(await page.getByRole("button", { name: "Delete christopher.johnson@outlook.com" }).count(), 0);
  assert.ok((await page.getByRole("button", { name: /^Delete / }).count()) > 0, "others can be deleted");
  // The buttons of a row sit side by side.
  const row = page.locator("tr", { hasText: "member01@example.org" });
  const [make, remove] = [await row.getByRole("button", { name: /Make/ }).boundingBox(), await row.getByRole("button", { name: /Delete/ }).boundingBox()];
  assert.ok(Math.abs(make.y - remove.y) < 2 && remove.x > make.x, "Make admin and Delete are on one line");
  // Each row says how many movies the user added: a new member none, you what the catalogue counts.
  const moviesOf = (locator) => locator.locator('td[data-label="Movies"]');
  await page.waitForFunction(() => [...document.querySelectorAll('td[data-label="Movies"]')].every((cell) => cell.textContent !== "…"));
  assert.equal(await moviesOf(row).textContent(), "0");
  const myId = await page.evaluate(async () => (await (await import("/assets/api.js")).profile()).id);
  const counted = await fetch(url(`/api/movies?added_by=${myId}&count=true&limit=1`));
  const mine = counted.headers.get("x-total-count");
  assert.equal(await moviesOf(own).textContent(), mine, "your own row counts your movies");
  await page.getByText("Page 1 of 2").waitFor();
  await page.getByRole("link", { name: "Next page" }).click();
  await page.getByText("Page 2 of 2").waitFor();
  await page.getByRole("searchbox", { name: "Find by email" }).fill("member1");
  await page.getByRole("button", { name: "Find" }).click();
  await page.getByText(/^10 users of \d+ match$/).waitFor();
  assert.equal(await page.locator("table.users tbody tr").count(), 10);
  await check(page, "admin-users-search");
  await context.close();
});

scenario("signed in, the sign-in and sign-up pages say so; someone else's edit page says so before any typing", async () => {
  const { context, page } = await signedIn(bob);
  for (const address of ["/signin", "/signup"]) {
    await page.goto(url(address));
    await heading(page, "You are signed in");
    await page.getByText(`You are signed in as ${bob}`).waitFor();
    assert.equal(await page.getByLabel("Password").count(), 0, "no sign-in form");
  }
  await check(page, "signin-while-signed-in");
  await context.close();
  // Bob is an admin since an earlier scenario: Dora, a plain user, tries Cleo's movie.
  await confirmedAccount("dora@example.com");
  const dora = await signedIn("dora@example.com");
  const thief = (await (await fetch(url("/api/movies?q=Thief"))).json())[0];
  await dora.page.goto(url(`/movies/${thief.id}/edit`));
  await heading(dora.page, "You cannot edit “Thief”");
  assert.equal(await dora.page.getByLabel("Name").count(), 0, "no form to type into");
  await check(dora.page, "movie-edit-not-yours");
  await dora.context.close();
});

scenario("after sign out everywhere on another device, a typed movie is kept, and sent once signed in again", async () => {
  const laptop = await signedIn(cleo);
  const phone = await signedIn(cleo);
  await laptop.page.getByRole("link", { name: "Add a movie" }).click();
  await heading(laptop.page, "Add a movie");
  await laptop.page.getByLabel("Name").fill("Public Enemies");
  await laptop.page.getByLabel("Cast").fill("Johnny Depp");
  await laptop.page.getByLabel("Genres").fill("Crime");
  await phone.page.goto(url("/account"));
  await heading(phone.page, "Your account");
  await phone.page.getByRole("button", { name: "Sign out everywhere" }).click();
  await heading(phone.page, "Sign in");
  await laptop.page.getByRole("button", { name: "Add movie" }).click();
  const dialog = laptop.page.getByRole("dialog", { name: "Sign in again" });
  await dialog.waitFor();
  await check(laptop.page, "sign-in-again");
  assert.equal(await laptop.page.locator("main").getByLabel("Name").inputValue(), "Public Enemies", "the form is kept behind the dialog");
  await dialog.getByLabel("Email").fill(cleo);
  await dialog.getByLabel("Password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Sign in and continue" }).click();
  await heading(laptop.page, "Public Enemies");
  await laptop.page.getByText("“Public Enemies” was added").waitFor();
  await laptop.context.close();
  await phone.context.close();
}, ["POST /api/movies 401", "POST /api/auth/refresh 401"]);

scenario("with two-step sign-in on, the sign in again dialog asks for the code, says when it is wrong, and then sends the kept form", async () => {
  const email = "tara@example.com";
  const token = await confirmedAccount(email);
  const { secret } = await apiCall("POST", "/api/auth/mfa/totp", token, { password: PASSWORD });
  // Recovery codes stand in for the app's codes: each works once, whatever the time step.
  const { recovery_codes: codes } = await apiCall("POST", "/api/auth/mfa/totp/confirm", token, { code: totpCode(secret, Math.floor(Date.now() / 30_000)) });
  const laptop = await signedInWithCode(email, codes[0]);
  await apiCall("POST", "/api/auth/logout-all", await apiTokenWithCode(email, codes[1]));
  await laptop.page.getByRole("link", { name: "Add a movie" }).click();
  await heading(laptop.page, "Add a movie");
  await laptop.page.getByLabel("Name").fill("Heat");
  await laptop.page.getByLabel("Cast").fill("Al Pacino");
  await laptop.page.getByLabel("Genres").fill("Crime");
  await laptop.page.getByRole("button", { name: "Add movie" }).click();
  const dialog = laptop.page.getByRole("dialog", { name: "Sign in again" });
  await dialog.waitFor();
  await dialog.getByLabel("Email").fill(email);
  await dialog.getByLabel("Password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Sign in and continue" }).click();
  const code = dialog.getByLabel("Code from your authenticator app, or a recovery code");
  await code.waitFor();
  await check(laptop.page, "sign-in-again-code");
  await code.fill("000000");
  await dialog.getByRole("button", { name: "Sign in and continue" }).click();
  await dialog.getByText("That code did not work").waitFor();
  assert.equal(await laptop.page.locator("main").getByLabel("Name").inputValue(), "Heat", "the form is kept behind the dialog");
  await code.fill(codes[2]);
  await dialog.getByRole("button", { name: "Sign in and continue" }).click();
  await heading(laptop.page, "Heat");
  await laptop.page.getByText("“Heat” was added").waitFor();
  assert.equal(await dialog.count(), 0, "the dialog is gone");
  await laptop.context.close();
}, ["POST /api/movies 401", "POST /api/auth/refresh 401", "POST /api/auth/login/mfa 401"]);

/** A person signed in in their own browser profile, with a two-step account's code. */
async function signedInWithCode(email, code) {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  watch(page, problems);
  await page.goto(url("/signin"));
  await signIn(page, email);
  await heading(page, "Enter your code");
  await page.getByLabel("Code").fill(code);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByText("You are signed in").waitFor();
  return { context, page };
}

/** An access token of a two-step account, signed in through the API with `code`. */
async function apiTokenWithCode(email, code) {
  const login = await (await fetch(url("/api/auth/login"), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email, password: PASSWORD }) })).json();
  assert.ok(login.mfa_required, "the API asks for the second step");
  const pair = await (await fetch(url("/api/auth/login/mfa"), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ mfa_token: login.mfa_token, code }) })).json();
  assert.ok(pair.token, "the second step gave a token");
  return pair.token;
}

scenario("no program words reach people: a blank filter, a bad year, an unknown sort", async () => {
  const { context, page } = await person();
  await page.goto(url("/?genre=%20"));
  await heading(page, "Catalogue");
  await page.locator("ul.movies > li").first().waitFor();
  await page.goto(url("/?year_from=abc&sort=bogus&cast=%20%20"));
  await heading(page, "Catalogue");
  await page.getByText("“abc” is not a year between 1870 and 2100, so it was left out.").waitFor();
  await page.getByText("There is no order called “bogus”").waitFor();
  const text = await page.locator("main").textContent();
  assert.doesNotMatch(text, /invalid fields|\/api\/|validation/i);
  await check(page, "catalogue-odd-address");
  // The reset email speaks to people: no endpoint in it.
  const mail = smtp.messages.find((message) => message.subject.includes("Reset your movie-bag password"));
  assert.ok(mail, "a reset email was sent earlier");
  assert.doesNotMatch(mail.body, /\/api\/|POST /);
  await context.close();
});

scenario("the polish: Search lines up with the fields, Edit and Delete differ, the banner lines up with the page", async () => {
  const { context, page } = await signedIn(cleo);
  for (const size of [DESKTOP, PHONE]) {
    await page.setViewportSize(size);
    await page.goto(url("/"));
    await heading(page, "Catalogue");
    const searchButton = await page.getByRole("button", { name: "Search", exact: true }).boundingBox();
    const field = await page.getByRole("searchbox", { name: "Search" }).boundingBox();
    const [buttonBottom, fieldBottom] = [searchButton.y + searchButton.height, field.y + field.height];
    assert.ok(Math.abs(buttonBottom - fieldBottom) <= 1, `the Search button's bottom ${buttonBottom} vs the field's ${fieldBottom}`);
    if (size === PHONE) {
      // The other filters wait behind "Filters": on a phone the first movie shows without scrolling.
      assert.equal(await page.locator("details.filters").getAttribute("open"), null);
      const first = await page.locator("ul.movies > li").first().boundingBox();
      assert.ok(first.y < PHONE.height - 100, `the first movie starts at ${first.y}px`);
    }
    const weight = await page.getByRole("searchbox", { name: "Search" }).evaluate((input) => getComputedStyle(input).fontWeight);
    assert.equal(weight, "400", "typed search text is not bold");
  }
  await page.setViewportSize(DESKTOP);
  const thief = (await (await fetch(url("/api/movies?q=Thief"))).json())[0];
  await page.goto(url(`/movies/${thief.id}`));
  await heading(page, "Thief");
  const look = (locator) => locator.evaluate((element) => { const style = getComputedStyle(element); return `${style.backgroundColor} ${style.color}`; });
  assert.notEqual(await look(page.getByRole("link", { name: "Edit" })), await look(page.getByRole("button", { name: "Delete" })), "Edit and Delete look different");
  for (const size of [DESKTOP, PHONE]) {
    await page.setViewportSize(size);
    await page.getByRole("link", { name: "Edit" }).click();
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("Your changes were saved").waitFor();
    const banner = await page.locator("#flash").boundingBox();
    // The page's content starts where #main's padding ends (the movie page puts its poster there).
    const contentLeft = await page.locator("#main").evaluate((main) => main.getBoundingClientRect().left + parseFloat(getComputedStyle(main).paddingLeft));
    assert.ok(Math.abs(banner.x - contentLeft) <= 1, `the banner starts at ${banner.x}, the page at ${contentLeft} (${size.width} px)`);
    assert.ok(banner.x > 0 && banner.x + banner.width < size.width, "the banner does not run edge to edge");
    await page.screenshot({ path: path.join(shots, `banner-${size === DESKTOP ? "desktop" : "phone"}.png`) });
  }
  await context.close();
});

scenario("dark mode follows the system, and dates and counts follow the browser's language", async () => {
  const { context, page } = await signedIn("christopher.johnson@outlook.com", PASSWORD, { colorScheme: "dark", locale: "de-DE" });
  const colours = await page.evaluate(() => [getComputedStyle(document.documentElement).backgroundColor, getComputedStyle(document.body).color]);
  assert.equal(colours[0], "rgb(23, 20, 18)", "a dark page");
  await page.goto(url("/admin/users"));
  await heading(page, "Users");
  const today = new Intl.DateTimeFormat("de-DE", { year: "numeric", month: "short", day: "numeric" }).format(new Date());
  await page.locator("table.users").getByText(today).first().waitFor();
  await page.screenshot({ path: path.join(shots, "admin-users-dark-de.png"), fullPage: true });
  await context.close();
});
// Posters, cards, ratings, the library and the account's pages, on a server of their own with
// seeded posters.
const library = registerLibraryScenarios({ scenario, person, heading, check, startServer: (settings) => startServer(smtp, settings), password: PASSWORD });
registerAccountScenarios({ scenario, heading, check, lib: library, smtp, totpCode, password: PASSWORD });

// `MOVIEBAG_SCENARIOS=word,other` runs only the scenarios whose names contain one of the words
// (while working on a page; some scenarios build on an earlier one's account or movie).
const only = (process.env.MOVIEBAG_SCENARIOS || "").split(",").filter(Boolean);
const chosen = only.length ? scenarios.filter(({ name }) => only.some((word) => name.includes(word))) : scenarios;

let failed = 0;
for (const { name, run, refusals, networkFailures } of chosen) {
  const started = Date.now();
  problems.declared = refusals;
  problems.refusalsSeen.clear();
  problems.networkFailuresExpected = networkFailures;
  problems.networkFailuresSeen = 0;
  try {
    await run();
    const missing = refusals.filter((refusal) => !problems.refusalsSeen.has(refusal));
    assert.deepEqual(missing, [], "refusals the scenario declared but never caused");
    assert.ok(!networkFailures || problems.networkFailuresSeen > 0, "the scenario expected cut-off requests but caused none");
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${name}\n     ${error.stack}`);
    break;
  }
}

await browser.close();
await server.stop();
await library.stop();
smtp.close();

const serious = axeFindings.filter((f) => f.impact === "serious" || f.impact === "critical");
console.log(`\npages checked with axe-core and screenshots: ${[...pagesChecked].join(", ")}`);
console.log(`axe-core: ${axeFindings.length} violations, ${serious.length} serious or critical`);
for (const finding of axeFindings) {
  console.log(`  [${finding.impact}] ${finding.page}: ${finding.id} (${finding.help}) at ${finding.nodes.join(", ")}`);
}
console.log(`console errors: ${problems.consoleErrors.length}`);
problems.consoleErrors.forEach((line) => console.log(`  ${line}`));
console.log(`refusals the scenarios declared and caused: ${problems.expectedRefusals.length}`);
console.log(`screenshots (desktop 1280 px and phone 375 px): ${shots}`);

if (failed || serious.length || problems.consoleErrors.length) {
  console.log("\nbrowser tests FAILED");
  process.exit(1);
}
console.log(`\nbrowser tests passed: ${chosen.length} scenarios`);
