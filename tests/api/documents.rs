//! The documents a contributor reads first say only what is true of the tree.

use std::path::Path;

/// Backticked paths in `text`: names ending in a source or document suffix, or in `/`; a
/// `{a,b}` group stands for each of its members.
fn named_paths(text: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for quoted in text.split('`').skip(1).step_by(2) {
        let looks_like_path = quoted.contains('/') || quoted.ends_with(".rs") || quoted.ends_with(".md");
        let plain = quoted.chars().all(|c| c.is_ascii_alphanumeric() || "./_-{},".contains(c));
        let suffixed = [".rs", ".js", ".sql", ".md", ".sh", ".mjs", "/"].iter().any(|s| quoted.ends_with(s));
        if !(looks_like_path && plain && suffixed) || quoted.starts_with('/') {
            continue;
        }
        match (quoted.find('{'), quoted.find('}')) {
            (Some(open), Some(close)) if open < close => {
                for member in quoted[open + 1..close].split(',') {
                    paths.push(format!("{}{member}{}", &quoted[..open], &quoted[close + 1..]));
                }
            }
            _ => paths.push(quoted.to_owned()),
        }
    }
    paths
}

#[test]
fn every_path_the_architecture_document_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let paths = named_paths(&text);
    assert!(paths.len() > 50, "only {} paths found", paths.len());
    // Paths are written from the root, or from `src/` where the sentence is about the code.
    let missing: Vec<&String> = paths
        .iter()
        .filter(|path| !["", "src", "tests"].iter().any(|base| root.join(base).join(path.as_str()).exists()))
        .collect();
    assert!(missing.is_empty(), "ARCHITECTURE.md names paths that do not exist: {missing:?}");
}
