// What the browser scenarios stand on: a real movie-bag server process on a fresh SQLite
// database, a real SMTP listener that keeps what it receives, Debian's chromium, and checks
// that run on every page (console errors, axe-core, screenshots).

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, "../..");
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 740 };
/** The narrowest phone the app is laid out for. */
export const NARROW = { width: 320, height: 640 };

/** A real SMTP listener: accepts every message and keeps its decoded text. */
export async function startSmtp() {
  const messages = [];
  const waiters = [];
  const server = net.createServer((socket) => {
    let buffer = "";
    let inData = false;
    let data = "";
    socket.write("220 movie-bag-test ESMTP\r\n");
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      let newline;
      while ((newline = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 2);
        if (inData) {
          if (line === ".") {
            inData = false;
            const message = decodeMessage(data);
            messages.push(message);
            waiters.splice(0).forEach((wake) => wake());
            data = "";
            socket.write("250 OK: queued\r\n");
          } else {
            data += (line.startsWith("..") ? line.slice(1) : line) + "\r\n";
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO" || verb === "HELO") {
          socket.write("250-movie-bag-test\r\n250 8BITMIME\r\n");
        } else if (verb === "DATA") {
          inData = true;
          socket.write("354 End data with <CR><LF>.<CR><LF>\r\n");
        } else if (verb === "QUIT") {
          socket.end("221 Bye\r\n");
        } else {
          socket.write("250 OK\r\n");
        }
      }
    });
    socket.on("error", () => {});
  });
  const port = await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)));
  return {
    port,
    messages,
    /** The first message to `recipient` whose subject contains `subject`, waiting for it. */
    async waitFor(recipient, subject, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find((m) => m.to.toLowerCase().includes(recipient.toLowerCase()) && m.subject.includes(subject));
        if (found) {
          return found;
        }
        if (Date.now() > deadline) {
          throw new Error(`no email "${subject}" to ${recipient} within ${timeoutMs} ms (got ${messages.length})`);
        }
        await new Promise((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 250);
        });
      }
    },
    close: () => server.close(),
  };
}

function decodeMessage(raw) {
  const [head, ...rest] = raw.split("\r\n\r\n");
  const unfolded = head.replace(/\r\n[ \t]+/g, " ");
  const header = (name) => (unfolded.match(new RegExp(`^${name}:\\s*(.*)$`, "im")) || [])[1] || "";
  let body = rest.join("\r\n\r\n");
  const encoding = header("Content-Transfer-Encoding").toLowerCase();
  if (encoding === "base64") {
    body = Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  } else if (encoding === "quoted-printable") {
    body = body.replace(/=\r\n/g, "").replace(/=([0-9A-F]{2})/gi, (_, hex) => String.fromCharCode(Number.parseInt(hex, 16)));
  }
  return { to: header("To"), subject: header("Subject"), body };
}

/**
 * A movie-bag server process on a fresh SQLite database, mailing through `smtp`; `settings`
 * adds or overrides environment variables. The server listens on a port the system picks (0)
 * and says which in its log, so no port is reserved, released and raced for.
 */
export async function startServer(smtp, settings = {}) {
  const binary = process.env.MOVIEBAG_BIN || path.join(repoRoot, "target/debug/movie-bag");
  const dir = mkdtempSync(path.join(os.tmpdir(), "movie-bag-browser-"));
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite://${path.join(dir, "movie-bag.db")}`,
    HOST: "127.0.0.1",
    PORT: "0",
    JWT_SECRET_KEY: "browser-tests-signing-key-0123456789abcdef",
    MAIL_SERVER: "127.0.0.1",
    MAIL_PORT: String(smtp.port),
    AUTH_RATE_LIMIT_PER_MINUTE: "0",
    ENV_FILE_LOCATION: path.join(dir, "none.env"),
    // Warnings, and the line naming the address the server listens on.
    RUST_LOG: "warn,movie_bag::startup=info",
    LOG_FORMAT: "text",
    ...settings,
  };
  const child = spawn(binary, ["serve"], { env, stdio: ["ignore", "inherit", "pipe"] });
  const port = await new Promise((resolve, reject) => {
    let seen = "";
    let found = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the server never said where it listens (binary ${binary}):\n${seen}`));
    }, 30_000);
    child.stderr.on("data", (chunk) => {
      process.stderr.write(chunk);
      if (found) {
        return;
      }
      // Without the colours a terminal would get.
      seen += chunk.toString("utf8").replace(/\x1b\[[0-9;]*m/g, "");
      const listening = seen.match(/movie-bag listening.*?address\W{0,3}[^\s",]*:(\d+)/);
      if (listening) {
        found = true;
        clearTimeout(timer);
        resolve(Number(listening[1]));
      }
    });
    child.once("exit", (code) => {
      if (!found) {
        clearTimeout(timer);
        reject(new Error(`the server exited with ${code} before listening:\n${seen}`));
      }
    });
  });
  const base = `http://127.0.0.1:${port}`;
  const health = await fetch(`${base}/health`);
  if (!health.ok) {
    child.kill("SIGKILL");
    throw new Error(`the server at ${base} is not healthy: ${health.status}`);
  }
  return {
    base,
    /** Runs the binary's command line against the same database, e.g. `user promote a@b.c`. */
    cli(...args) {
      const run = spawnSync(binary, args, { env, encoding: "utf8" });
      if (run.status !== 0) {
        throw new Error(`movie-bag ${args.join(" ")} failed: ${run.stderr}`);
      }
      return run.stdout;
    },
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * 4xx answers that are part of ordinary use, not refusals: a movie page of someone whose library
 * is larger than one listing page asks for their entry of that movie, and the API answers 404 when
 * the movie is not in the library (smaller libraries are read from the listing: no 404).
 */
const ORDINARY_ANSWERS = [/^GET \/api\/users\/me\/library\/[^/]+ 404$/];

/**
 * Watches a page: console errors and uncaught exceptions are collected. An API refusal (a 4xx
 * response) is expected only when the running scenario declared it, by method, path and status
 * (`problems.declared`, e.g. "POST /api/auth/login 401"); any other is a problem. The browser's
 * own "Failed to load resource" message for a declared refusal is counted apart, not as an error.
 */
export function watch(page, problems) {
  const key = (method, address, status) => `${method} ${new URL(address).pathname} ${status}`;
  page.on("response", (response) => {
    const status = response.status();
    if (status < 400 || status >= 500) {
      return;
    }
    const seen = key(response.request().method(), response.url(), status);
    if (ORDINARY_ANSWERS.some((pattern) => pattern.test(seen))) {
      problems.unannounced.push(seen); // its console message is expected too
      return;
    }
    if (problems.declared.includes(seen)) {
      problems.expectedRefusals.push(`${page.url()}: ${seen}`);
      problems.refusalsSeen.add(seen);
      problems.unannounced.push(seen);
    } else {
      problems.consoleErrors.push(`${page.url()}: a refusal the scenario did not declare: ${seen}`);
    }
  });
  page.on("console", (message) => {
    if (message.type() !== "error") {
      return;
    }
    const text = message.text();
    // A request the scenario cut off (offline, aborted route): the browser logs its failure.
    if (problems.networkFailuresExpected && /^Failed to load resource: net::ERR_/.test(text)) {
      problems.networkFailuresSeen += 1;
      return;
    }
    const refusal = text.match(/^Failed to load resource: the server responded with a status of (4\d\d)/);
    if (refusal) {
      // The message for a response seen above: declared ones were counted there, others reported.
      const status = refusal[1];
      const at = problems.unannounced.findIndex((seen) => seen.endsWith(` ${status}`));
      const declared = at >= 0 && problems.unannounced.splice(at, 1).length === 1;
      const undeclaredSeen = problems.consoleErrors.some((line) => line.includes("did not declare") && line.endsWith(` ${status}`));
      if (!declared && !undeclaredSeen) {
        problems.consoleErrors.push(`${page.url()}: ${text}`);
      }
    } else {
      problems.consoleErrors.push(`${page.url()}: ${text}`);
    }
  });
  page.on("pageerror", (error) => problems.consoleErrors.push(`${page.url()}: uncaught ${error.message}`));
  page.on("dialog", (dialog) => {
    problems.consoleErrors.push(`${page.url()}: unexpected ${dialog.type()} dialog "${dialog.message()}"`);
    dialog.dismiss().catch(() => {});
  });
}

/** Runs axe-core on the page as it is; returns the serious and critical violations. */
export async function axeCheck(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const outcome = await axe.run(document, { resultTypes: ["violations"] });
    return outcome.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")) }));
  });
  return result;
}

/** Where screenshots go (not committed). */
export function screenshotDir() {
  const dir = path.join(repoRoot, "target", "browser-screenshots");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}
