//! Versioned URLs of the site's files: `/v/{version}/{path}`, where the version is a hash of
//! every file's path and content.

/// What a versioned URL starts with.
const PREFIX: &str = "/v/";

/// The site's version: 16 hex digits over each file's path and bytes, in path order.
pub fn site_version<'a>(files: impl Iterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut files: Vec<(&str, &[u8])> = files.collect();
    files.sort_unstable_by_key(|(path, _)| *path);
    let mut parts: Vec<&[u8]> = Vec::with_capacity(files.len() * 2);
    for (path, body) in &files {
        parts.push(path.as_bytes());
        parts.push(body);
    }
    crate::api::caching::etag(&parts)
        .trim_matches('"')
        .to_string()
}

/// The path files of `version` are served under (ending without a slash).
pub fn prefix(version: &str) -> String {
    format!("{PREFIX}{version}")
}

/// Splits a versioned URL path into its version and the file's path (with its leading slash).
pub fn strip(url_path: &str) -> Option<(&str, &str)> {
    let rest = url_path.strip_prefix(PREFIX)?;
    let slash = rest.find('/')?;
    Some((&rest[..slash], &rest[slash..]))
}

/// `page` with each `href="/…"` and `src="/…"` that names a site file (`is_asset`) pointed
/// at `prefix` + that path. Other links (pages, the API, other origins, paths with a query)
/// are left as they are.
pub fn point_at_versions(page: &str, prefix: &str, is_asset: &impl Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(page.len() + 256);
    let mut rest = page;
    while let Some(at) = next_reference(rest) {
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        let end = after.find('"').unwrap_or(after.len());
        let path = &after[..end];
        if is_asset(path) {
            out.push_str(prefix);
        }
        out.push_str(path);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Where the next attribute value of `href="/` or `src="/` starts (at its slash).
fn next_reference(text: &str) -> Option<usize> {
    ["href=\"/", "src=\"/"]
        .iter()
        .filter_map(|attribute| text.find(attribute).map(|at| at + attribute.len() - 1))
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_point_at_versioned_files_only() {
        let page = r#"<link rel="stylesheet" href="/style.css"><script type="module" src="/app.js"></script>
<a href="/about.html">About</a> <a href="/coverage?level=nuts2&amp;f=csv">CSV</a> <a href="https://example.org/app.js">x</a>"#;
        let is_asset = |path: &str| ["/style.css", "/app.js"].contains(&path);
        let rewritten = point_at_versions(page, "/v/abc", &is_asset);
        assert!(rewritten.contains(r#"href="/v/abc/style.css""#));
        assert!(rewritten.contains(r#"src="/v/abc/app.js""#));
        assert!(rewritten.contains(r#"href="/about.html""#));
        assert!(rewritten.contains(r#"href="/coverage?level=nuts2&amp;f=csv""#));
        assert!(rewritten.contains(r#"href="https://example.org/app.js""#));
        assert_eq!(
            point_at_versions("no links", "/v/abc", &is_asset),
            "no links"
        );
    }

    #[test]
    fn the_version_follows_the_content() {
        let one = site_version([("/a.js", b"1".as_slice())].into_iter());
        let two = site_version([("/a.js", b"2".as_slice())].into_iter());
        let moved = site_version([("/b.js", b"1".as_slice())].into_iter());
        assert_ne!(one, two);
        assert_ne!(one, moved);
        assert_eq!(one.len(), 16);
        assert_eq!(
            strip(&format!("{}/app.js", prefix(&one))),
            Some((one.as_str(), "/app.js"))
        );
        assert_eq!(strip("/app.js"), None);
        assert_eq!(strip("/v/abc"), None);
    }
}
