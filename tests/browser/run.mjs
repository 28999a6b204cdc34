// The web app, driven in Debian's chromium: what a person does, page by page, with the API and
// the emails behind it real. Run by `cargo test` (tests/web_app.rs) or `node tests/browser/run.mjs`
// after `cargo build`. Prints each scenario, the first-load bytes, axe results and where the
// screenshots are; exits non-zero on the first failure.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import path from "node:path";

import { DESKTOP, PHONE, axeCheck, launchBrowser, screenshotDir, startServer, startSmtp, watch } from "./harness.mjs";
import { registerLibraryScenarios } from "./library-scenarios.mjs";
import { registerAccountScenarios } from "./account-scenarios.mjs";

const PASSWORD = "correct horse battery";
// `declared`: the refusals (4xx) the running scenario asks for; `refusalsSeen`: which of them
// came; `unannounced`: declared ones whose browser console message has not come yet.
const problems = { consoleErrors: [], expectedRefusals: [], declared: [], refusalsSeen: new Set(), unannounced: [] };
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

/** axe-core and a screenshot at desktop and phone width, once per page kind. */
async function check(page, kind) {
  if (pagesChecked.has(kind)) {
    return;
  }
  pagesChecked.add(kind);
  for (const violation of await axeCheck(page)) {
    axeFindings.push({ page: kind, ...violation });
  }
  for (const [label, size] of [["desktop", DESKTOP], ["phone", PHONE]]) {
    await page.setViewportSize(size);
    // Nothing may stick out sideways at 375 px.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${kind} scrolls sideways by ${overflow}px at ${size.width}px`);
    await page.screenshot({ path: path.join(shots, `${kind}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(DESKTOP);
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
/** `refusals`: the API refusals the scenario causes in the browser, as "METHOD /path status". */
const scenario = (name, run, refusals = []) => scenarios.push({ name, run, refusals });

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
  await page.getByRole("textbox", { name: "Genre", exact: true }).fill("crime");
  await page.getByRole("textbox", { name: "Cast", exact: true }).fill("al pacino");
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
  await page.getByText("Invalid username or password").waitFor();
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
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Tab");
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
  assert.ok(!names.includes("More movies"), "a hidden button is not in the tab order");
  for (const expected of ["Skip to content", "Catalogue", "Sign in", "q", "genre", "cast", "Search"]) {
    assert.ok(names.includes(expected), `Tab reaches ${expected}: ${names.join(" | ")}`);
  }
  assert.ok(reached.every((r) => r.outline), `a focused control without an outline: ${JSON.stringify(reached)}`);
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
for (const { name, run, refusals } of chosen) {
  const started = Date.now();
  problems.declared = refusals;
  problems.refusalsSeen.clear();
  try {
    await run();
    const missing = refusals.filter((refusal) => !problems.refusalsSeen.has(refusal));
    assert.deepEqual(missing, [], "refusals the scenario declared but never caused");
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
