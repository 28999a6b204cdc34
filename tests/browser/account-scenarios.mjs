// The account's pages as a person uses them: settings above the fold, the movies you added on a
// page of their own, password forms, email change, two-step sign-in with a QR code drawn in the
// page, sessions, access tokens and recent activity. They run on the library scenarios' server.

import assert from "node:assert/strict";

/**
 * Adds the scenarios through `scenario`; `lib` is what registerLibraryScenarios returns
 * (`base()`, `api()`, `signedIn()`), `smtp` the mail listener, `totpCode(secret, step)` an
 * authenticator app.
 */
export function registerAccountScenarios({ scenario, heading, check, lib, smtp, totpCode, password }) {
  scenario("the account page keeps its settings on top; the movies you added are a page of their own, paged and counted", async () => {
    const { context, page, token } = await lib.signedIn("many@example.com");
    for (let i = 1; i <= 25; i++) {
      await lib.api("POST", "/api/movies", { token, body: { name: `Many Film ${i}`, casts: ["Someone"], genres: ["Drama"] } });
    }
    await page.goto(`${await lib.base()}/account`);
    await heading(page, "Your account");
    // The settings come first: each is linked from the top of the page, and the first starts
    // on the first screen; no list of movies stands before them.
    const settings = page.getByRole("navigation", { name: "Settings on this page" });
    for (const name of ["Change email", "Change password", "Sessions", "Delete account"]) {
      const box = await settings.getByRole("link", { name }).boundingBox();
      assert.ok(box.y < 600, `the link to ${name} is at ${box.y}px`);
    }
    assert.ok((await page.getByRole("heading", { level: 2, name: "Change email" }).boundingBox()).y < 800);
    assert.equal(await page.getByRole("link", { name: "Many Film 1", exact: true }).count(), 0, "no movie list on the account page");
    await settings.getByRole("link", { name: "Delete account" }).click();
    assert.equal(await page.evaluate(() => document.activeElement.id), "delete-account");
    await page.getByRole("link", { name: "Movies you added (25)" }).click();
    await heading(page, "Movies you added");
    await page.getByText("25 movies", { exact: true }).waitFor();
    const cards = page.getByRole("list", { name: "Movies you added" }).locator(":scope > li");
    assert.equal(await cards.count(), 20);
    await check(page, "account-movies");
    await page.getByRole("button", { name: "More" }).click();
    await page.getByRole("link", { name: "Many Film 1", exact: true }).waitFor();
    assert.equal(await cards.count(), 25);
    assert.ok(await page.getByRole("button", { name: "More" }).isHidden(), "no More after the last page");
    await context.close();
  });

  scenario("an unconfirmed address is said on every page, with a button that emails a new link, until it is confirmed", async () => {
    const email = "unconfirmed@example.com";
    const address = await lib.base();
    const { context, page } = await lib.signedIn(email);
    const banner = page.getByRole("region", { name: "Confirm your email address" });
    await banner.getByText(email).waitFor();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Library" }).click();
    await heading(page, "Your library");
    await banner.waitFor();
    await check(page, "verify-banner");
    const links = () => smtp.messages.filter((m) => m.to.includes(email) && m.subject.includes("Confirm your movie-bag email address"));
    const before = links().length;
    await banner.getByRole("button", { name: "Email me a new link" }).click();
    await banner.getByText("A new link is on its way").waitFor();
    for (let i = 0; i < 80 && links().length === before; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(links().length, before + 1, "a new link was emailed");
    const link = links().at(-1).body.match(/https?:\/\/\S+\/verify\?token=\S+/)[0];
    assert.ok(link.startsWith(address), link);
    await page.goto(link);
    await page.getByRole("button", { name: "Confirm my email address" }).click();
    await heading(page, "Your account");
    await page.getByText("Your email address is verified").waitFor();
    assert.equal(await banner.count(), 0, "no banner once the address is confirmed");
    await context.close();
  });

  scenario("password forms ask twice, refuse the current password as the new one, and carry a hidden username for password managers", async () => {
    const address = await lib.base();
    const { context, page } = await lib.signedIn("twice@example.com");
    await page.goto(`${address}/account`);
    await heading(page, "Your account");
    for (const form of ["Change password", "Delete my account"]) {
      const username = page.locator("form", { has: page.getByRole("button", { name: form }) }).locator('input[autocomplete="username"]');
      assert.equal(await username.getAttribute("value"), "twice@example.com", `${form} has the username for a password manager`);
      assert.ok(await username.isHidden());
    }
    await page.getByLabel("Current password").fill(password);
    await page.getByLabel("New password", { exact: true }).fill(password);
    await page.getByLabel("Repeat the new password").fill(password);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("Choose a password different from your current one").waitFor();
    await page.getByLabel("New password", { exact: true }).fill("a quite different passphrase");
    await page.getByLabel("Repeat the new password").fill("a quite different passphrose");
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("The two passwords differ").waitFor();
    assert.equal(await page.getByLabel("Repeat the new password").getAttribute("aria-invalid"), "true");
    // Sign up asks twice too.
    await page.getByRole("navigation", { name: "Main" }).getByRole("button", { name: "Sign out" }).click();
    await page.getByText("You are signed out").waitFor();
    await page.goto(`${address}/signup`);
    await page.getByLabel("Email").fill("new@example.com");
    await page.getByLabel("Password", { exact: true }).fill("one long passphrase");
    await page.getByLabel("Repeat the password").fill("one long passphrose");
    await page.getByRole("button", { name: "Sign up" }).click();
    await page.getByText("The two passwords differ").waitFor();
    await context.close();
  });

  scenario("change email: the link sent to the new address changes it", async () => {
    const { context, page } = await lib.signedIn("old-address@example.com");
    await page.goto(`${await lib.base()}/account`);
    await heading(page, "Your account");
    await page.getByLabel("New email").fill("christopher.johnson@outlook.com");
    await page.locator("form", { has: page.getByRole("button", { name: "Change email" }) }).getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Change email" }).click();
    await page.getByText("We emailed a link to christopher.johnson@outlook.com").waitFor();
    const mail = await smtp.waitFor("christopher.johnson@outlook.com", "Confirm your new movie-bag email address");
    const link = mail.body.match(/https?:\/\/\S+\/verify\?token=\S+/)[0];
    await page.goto(link);
    await page.getByRole("button", { name: "Confirm my email address" }).click();
    await heading(page, "Your account");
    await page.locator("dd.email", { hasText: "christopher.johnson@outlook.com" }).waitFor();
    await context.close();
  });

  scenario("two-step sign-in is set up on the security page with a QR code drawn in the page, and gives recovery codes to save", async () => {
    const { context, page } = await lib.signedIn("careful@example.com");
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    await page.goto(`${await lib.base()}/account`);
    await page.getByRole("link", { name: /^Security/ }).click();
    await heading(page, "Security");
    await page.locator("form", { has: page.getByRole("button", { name: "Set up two-step sign-in" }) }).getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Set up two-step sign-in" }).click();
    const qr = page.getByRole("img", { name: /QR code/ });
    await qr.waitFor();
    assert.equal(await page.locator("main img").count(), 0, "the QR code is SVG drawn here, not an image");
    const modules = await qr.locator("path").getAttribute("d");
    assert.ok(modules.split("z").length > 200, "the code has its dark modules");
    const secret = (await page.locator("code.secret").textContent()).replace(/\s+/g, "");
    await check(page, "security-enrol");
    await page.getByRole("textbox", { name: "Code" }).fill(totpCode(secret, Math.floor(Date.now() / 30_000)));
    await page.getByRole("button", { name: "Turn on two-step sign-in" }).click();
    const codes = page.getByRole("list", { name: "Recovery codes" }).locator("li");
    await codes.first().waitFor();
    assert.equal(await codes.count(), 10);
    await page.getByRole("button", { name: "Copy the codes" }).click();
    await page.getByText("The codes were copied.").waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.ok(copied.includes(await codes.first().textContent()), "the clipboard holds the codes");
    await check(page, "security-recovery-codes");
    await page.getByRole("link", { name: "I have saved them" }).click();
    await page.getByText("Two-step sign-in is on").waitFor();
    await page.getByText("10 recovery codes left").waitFor();
    await context.close();
  });

  scenario("the security page marks this device, signs out another, lists recent activity, and shows a new access token once with a copy button", async () => {
    const address = await lib.base();
    const laptop = await lib.signedIn("devices@example.com");
    const phone = await lib.signedIn("devices@example.com");
    await laptop.context.grantPermissions(["clipboard-read", "clipboard-write"]);
    const { page } = laptop;
    await page.goto(`${address}/account/security`);
    await heading(page, "Security");
    const rows = page.locator("table.sessions tbody tr");
    // Two browser sign-ins, and the one lib.signedIn made through the API for each.
    const before = await rows.count();
    assert.ok(before >= 2, `${before} sessions`);
    assert.equal(await page.locator("tr.current").getByText("This device").count(), 1);
    await page.getByRole("button", { name: /^Sign out Chrome/ }).first().click();
    await page.getByText("is signed out.").waitFor();
    assert.equal(await rows.count(), before - 1);
    await page.getByRole("table").filter({ hasText: "What" }).getByRole("cell", { name: "Signed in" }).first().waitFor();

    await page.getByLabel("Name").fill("backup script");
    await page.getByLabel("Add, edit and delete my movies").check();
    await page.getByRole("button", { name: "Create token" }).click();
    const value = page.getByLabel("New token");
    await value.waitFor();
    const secret = await value.inputValue();
    assert.match(secret, /^mbp_/);
    await page.getByRole("button", { name: "Copy", exact: true }).click();
    await page.getByText("The token was copied.").waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    await check(page, "security");
    const me = await fetch(`${address}/api/users/me/library`, { headers: { Authorization: `Bearer ${secret}` } });
    assert.equal(me.status, 200, "the token works");
    await page.reload();
    await heading(page, "Security");
    assert.equal(await page.getByLabel("New token").count(), 0, "shown once");
    await page.getByRole("button", { name: "Revoke backup script" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke" }).click();
    await page.getByText("“backup script” was revoked.").waitFor();
    const after = await fetch(`${address}/api/users/me/library`, { headers: { Authorization: `Bearer ${secret}` } });
    assert.equal(after.status, 401, "a revoked token is refused");
    await laptop.context.close();
    await phone.context.close();
  });
}
