//! Tokens of the CQL2 text encoding, each with the character position it starts at.

use super::CqlError;
use super::ast::At;

#[derive(Clone, Debug, PartialEq)]
pub enum Token {
    /// A name: a keyword, function or property (letters, digits, `_`, `.`, `:`).
    Word(String),
    /// A `"double-quoted"` property name.
    Quoted(String),
    /// A `'single-quoted'` string, with `''` standing for one quote.
    Text(String),
    Number(f64),
    Symbol(&'static str),
    End,
}

/// A token and the 1-based character position where it starts.
#[derive(Clone, Debug)]
pub struct Spanned {
    pub token: Token,
    pub at: usize,
}

const SYMBOLS: &[&str] = &["<>", "<=", ">=", "=", "<", ">", "(", ")", ",", "[", "]"];

/// Splits `text` into tokens; the last is always `End`.
pub fn tokens(text: &str) -> Result<Vec<Spanned>, CqlError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let token = if c == '\'' || c == '"' {
            let (body, next) = quoted(&chars, i)?;
            i = next;
            if c == '\'' {
                Token::Text(body)
            } else {
                Token::Quoted(body)
            }
        } else if c.is_ascii_digit()
            || ((c == '-' || c == '+' || c == '.')
                && chars
                    .get(i + 1)
                    .is_some_and(|d| d.is_ascii_digit() || *d == '.'))
        {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || chars[i] == '.'
                    || chars[i] == 'e'
                    || chars[i] == 'E'
                    || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let literal: String = chars[start..i].iter().collect();
            let value: f64 = literal.parse().map_err(|_| {
                CqlError::syntax(At::Char(at), format!("\"{literal}\" is not a number"))
            })?;
            if !value.is_finite() {
                return Err(CqlError::syntax(
                    At::Char(at),
                    format!("{literal} is not a finite number"),
                ));
            }
            Token::Number(value)
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.' | ':'))
            {
                i += 1;
            }
            Token::Word(chars[start..i].iter().collect())
        } else if let Some(symbol) = SYMBOLS.iter().find(|s| {
            s.chars()
                .enumerate()
                .all(|(k, sc)| chars.get(i + k) == Some(&sc))
        }) {
            i += symbol.chars().count();
            Token::Symbol(symbol)
        } else if c == '!' && chars.get(i + 1) == Some(&'=') {
            // Not CQL2, but a common slip: say what is meant.
            return Err(CqlError::syntax(
                At::Char(at),
                "\"!=\" is not CQL2; use \"<>\"".into(),
            ));
        } else {
            return Err(CqlError::syntax(
                At::Char(at),
                format!("unexpected character '{c}'"),
            ));
        };
        out.push(Spanned { token, at });
    }
    out.push(Spanned {
        token: Token::End,
        at: chars.len() + 1,
    });
    Ok(out)
}

/// The body of a quoted token starting at `open`, and the position after its closing quote.
fn quoted(chars: &[char], open: usize) -> Result<(String, usize), CqlError> {
    let quote = chars[open];
    let mut body = String::new();
    let mut i = open + 1;
    loop {
        match chars.get(i) {
            None => {
                return Err(CqlError::syntax(
                    At::Char(open + 1),
                    format!("the quote {quote} opened here is never closed"),
                ));
            }
            Some(c) if *c == quote => {
                if chars.get(i + 1) == Some(&quote) {
                    body.push(quote);
                    i += 2;
                } else {
                    return Ok((body, i + 1));
                }
            }
            Some(c) => {
                body.push(*c);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_their_positions() {
        let t = tokens("name <> 'it''s' AND n>=-1.5e2").unwrap();
        let kinds: Vec<_> = t.iter().map(|s| (s.token.clone(), s.at)).collect();
        assert_eq!(
            kinds,
            vec![
                (Token::Word("name".into()), 1),
                (Token::Symbol("<>"), 6),
                (Token::Text("it's".into()), 9),
                (Token::Word("AND".into()), 17),
                (Token::Word("n".into()), 21),
                (Token::Symbol(">="), 22),
                (Token::Number(-150.0), 24),
                (Token::End, 30),
            ]
        );
    }

    #[test]
    fn bad_tokens_name_their_position() {
        for (text, at) in [
            ("a = 'open", 5),
            ("a ! b", 3),
            ("a = 1e999", 5),
            ("a != 1", 3),
        ] {
            match tokens(text) {
                Err(CqlError::Syntax {
                    at: At::Char(n), ..
                }) => assert_eq!(n, at, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
