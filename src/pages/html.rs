//! Writing HTML safely: escaping every text and attribute, links that keep the visitor's
//! language, and the frame every page shares (head, site links, language switch).

use std::fmt::Write;

use super::Visit;
use crate::translations::Locale;

pub use crate::markup::escape;

/// A path segment with everything but unreserved characters percent-encoded.
pub fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// `url` when it is an http(s) address, the only kind a page links to from a record.
pub fn web_address(url: &str) -> Option<&str> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://")).then_some(url)
}

/// A `lang` attribute (with a leading space) for a record's own text: its language when the
/// record names exactly one, so that speech and hyphenation follow it.
pub fn lang_of(languages: &[crate::model::Language]) -> String {
    match languages {
        [one] => format!(" lang=\"{}\"", one.as_str()),
        _ => String::new(),
    }
}

/// A country's name in the visitor's language, as HTML.
pub fn country_name(visit: &Visit, country: crate::country::Country) -> String {
    escape(crate::translations::country_name(visit.locale, country))
}

/// What a page puts in its `<head>` besides what every page has.
#[derive(Default)]
pub struct Head {
    pub title: String,
    pub description: String,
    /// The absolute canonical URL, when the page has one.
    pub canonical: Option<String>,
    /// Further `<link>`, `<meta>` or data blocks, already written as HTML.
    pub extra: String,
}

/// A whole page: `main` is the page's own content, already HTML.
pub fn document(visit: &Visit, head: &Head, main: &str) -> String {
    let t = |key| escape(visit.t(key));
    let mut out = String::with_capacity(main.len() + 4096);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<meta name=\"description\" content=\"{description}\">\n\
         <link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">\n\
         <link rel=\"stylesheet\" href=\"/pages.css\">\n",
        lang = visit.locale.code(),
        title = escape(&head.title),
        description = escape(&head.description),
    );
    if let Some(canonical) = &head.canonical {
        let _ = writeln!(
            out,
            "<link rel=\"canonical\" href=\"{}\">",
            escape(canonical)
        );
        // The same page in each language, for search engines.
        for locale in Locale::ALL {
            let _ = writeln!(
                out,
                "<link rel=\"alternate\" hreflang=\"{code}\" href=\"{href}\">",
                code = locale.code(),
                href = escape(&format!("{canonical}?lang={}", locale.code())),
            );
        }
        let _ = writeln!(
            out,
            "<link rel=\"alternate\" hreflang=\"x-default\" href=\"{}\">",
            escape(canonical)
        );
    }
    out.push_str(&head.extra);
    let _ = write!(
        out,
        "</head>\n<body>\n<header class=\"site\">\n<nav aria-label=\"{site}\"><ul>\
         <li><a href=\"{list}\">{list_text}</a></li>\
         <li><a href=\"/#lang={lang}\">{map_text}</a></li></ul></nav>\n\
         <nav aria-label=\"{language}\" class=\"languages\"><ul>",
        site = t("pages.nav.label"),
        list = escape(&visit.href("/initiatives", &[])),
        list_text = t("pages.list.link"),
        lang = visit.locale.code(),
        map_text = t("pages.map"),
        language = t("language.label"),
    );
    for locale in Locale::ALL {
        let current = if locale == visit.locale {
            " aria-current=\"true\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<li><a href=\"{href}\" lang=\"{code}\" hreflang=\"{code}\"{current}>{name}</a></li>",
            href = escape(&visit.in_language(locale)),
            code = locale.code(),
            name = locale.autonym(),
        );
    }
    let _ = write!(
        out,
        "</ul></nav>\n</header>\n<main id=\"main\">\n{main}</main>\n</body>\n</html>\n"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_made_safe() {
        assert_eq!(segment("a b/ü"), "a%20b%2F%C3%BC");
        assert_eq!(web_address("HTTPS://x.org"), Some("HTTPS://x.org"));
        assert_eq!(web_address("javascript:alert(1)"), None);
        assert_eq!(web_address("http"), None);
    }
}
