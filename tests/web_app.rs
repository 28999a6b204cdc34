//! The web app in a real browser: `tests/browser/run.mjs` drives Debian's chromium through
//! playwright-core against this build's binary, with a real SMTP listener, and checks every page
//! with axe-core. It needs Node.js, `npm ci --prefix tests/browser` and `/usr/bin/chromium`;
//! without them it is skipped with the reason, unless `MOVIEBAG_BROWSER_TESTS=required` (as in
//! CI), where a missing piece fails the run.

use std::path::Path;
use std::process::Command;

#[test]
fn the_web_app_works_in_a_real_browser() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let missing = if Command::new("node").arg("--version").output().is_err() {
        Some("Node.js (`node`) is not installed".to_owned())
    } else if !root.join("tests/browser/node_modules/playwright-core").is_dir() {
        Some("playwright-core is not installed: run `npm ci --prefix tests/browser`".to_owned())
    } else if !Path::new(&chromium).exists() {
        Some(format!("no browser at {chromium}: `apt-get install chromium`"))
    } else {
        None
    };
    if let Some(reason) = missing {
        let required = std::env::var("MOVIEBAG_BROWSER_TESTS").is_ok_and(|v| v == "required");
        assert!(!required, "MOVIEBAG_BROWSER_TESTS=required but {reason}");
        eprintln!("skipping the browser tests: {reason}");
        return;
    }
    let status = Command::new("node")
        .arg(root.join("tests/browser/run.mjs"))
        .env("MOVIEBAG_BIN", env!("CARGO_BIN_EXE_movie-bag"))
        .env("CHROMIUM_PATH", &chromium)
        .status()
        .expect("node runs");
    assert!(status.success(), "the browser scenarios failed (their output is above)");
}
