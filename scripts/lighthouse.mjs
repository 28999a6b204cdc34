// Runs Lighthouse on the catalogue, a movie page and the library page; see scripts/lighthouse.sh,
// which starts the server and seeds it. Arguments: base URL, a movie id, the login answer (JSON).
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [base, movieId, loginJson] = process.argv.slice(2);
const { LH_DIR, CHROME_PATH, OUT } = process.env;
const MIN_SCORE = Number(process.env.MIN_SCORE || 95);
const requireFromLh = createRequire(join(LH_DIR, "package.json"));
const load = async (name) => (await import(pathToFileURL(requireFromLh.resolve(name)).href)).default;
const lighthouse = await load("lighthouse");
const chromeLauncher = await import(pathToFileURL(requireFromLh.resolve("chrome-launcher")).href);
const puppeteer = await load("puppeteer-core");

const CATEGORIES = ["performance", "accessibility", "best-practices", "seo"];
const chrome = await chromeLauncher.launch({
  chromePath: CHROME_PATH,
  chromeFlags: ["--headless=new", "--no-sandbox"],
});

/** Writes the session the way web/api.js keeps it, into the browser profile's localStorage. */
async function signIn() {
  const login = JSON.parse(loginJson);
  const lifetime = login.expires_in * 1000;
  const session = { token: login.token, refresh_token: login.refresh_token, expires_at: Date.now() + lifetime, lifetime };
  const browser = await puppeteer.connect({ browserURL: `http://127.0.0.1:${chrome.port}` });
  const page = await browser.newPage();
  await page.goto(`${base}/robots.txt`);
  await page.evaluate((value) => localStorage.setItem("movie-bag.session", value), JSON.stringify(session));
  await page.close();
  await browser.disconnect();
}

const pages = [
  { name: "catalogue /", key: "catalogue", path: "/", signedIn: false },
  { name: `movie /movies/${movieId}`, key: "movie", path: `/movies/${movieId}`, signedIn: true },
  { name: "library /library", key: "library", path: "/library", signedIn: true },
];
const rows = [];
let failed = false;
try {
  for (const page of pages) {
    if (page.signedIn) {
      await signIn();
    }
    const result = await lighthouse(`${base}${page.path}`, {
      port: chrome.port,
      output: "json",
      logLevel: "error",
      onlyCategories: CATEGORIES,
      // The visitor's run clears the origin's storage; the signed-in runs keep the session.
      disableStorageReset: page.signedIn,
    });
    const lhr = result.lhr;
    writeFileSync(join(OUT, `lighthouse-${page.key}.json`), result.report);
    const scores = CATEGORIES.map((key) => Math.round((lhr.categories[key].score ?? 0) * 100));
    rows.push([page.name, ...scores]);
    if (scores.some((score) => score < MIN_SCORE)) {
      failed = true;
    }
    // What each category lost points on, so a low score says why.
    for (const key of CATEGORIES) {
      for (const ref of lhr.categories[key].auditRefs) {
        const audit = lhr.audits[ref.id];
        if (ref.weight > 0 && audit.score !== null && audit.score < 1) {
          console.error(`  ${page.path} ${key}: ${ref.id} (${audit.score}) ${audit.displayValue || ""} ${audit.title}`);
          if (ref.id === "errors-in-console" || ref.id === "color-contrast") {
            for (const item of audit.details?.items || []) {
              console.error(`      ${JSON.stringify(item).slice(0, 300)}`);
            }
          }
        }
      }
    }
  }
} finally {
  await chrome.kill();
}

const header = ["page", "performance", "accessibility", "best practices", "SEO"];
console.log(`| ${header.join(" | ")} |`);
console.log(`|${header.map(() => "---").join("|")}|`);
for (const row of rows) {
  console.log(`| ${row.join(" | ")} |`);
}
console.log(`(Lighthouse ${lighthouse.version || "12.2.3"}, mobile; reports in ${OUT})`);
process.exit(failed ? 1 : 0);
