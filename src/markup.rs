//! Text made safe inside HTML and XML (the server's pages and its Atom feed): one escaping for both.

/// `text` safe inside an element or a quoted attribute value of HTML or XML 1.0: markup
/// characters escaped, and the control characters XML cannot carry at all dropped (a record
/// may hold them; a feed reader would reject the whole feed for one, and HTML calls them errors).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // `&apos;` is not HTML 4's; a numeric reference is read alike by both.
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped_and_what_xml_cannot_carry_dropped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(
            escape("a<b & \"c\" 'd'>\u{1}\u{FFFF}é\t"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;é\t"
        );
    }
}
