//! LIKE patterns: `%` any run of characters, `_` one character, `\` escapes the next one.
//! Matching is the two-pointer wildcard algorithm: time proportional to text × pattern at
//! worst, never exponential, whatever a hostile pattern holds.

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Any,
    One,
    Char(char),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Pattern(Vec<Piece>);

impl Pattern {
    pub fn new(pattern: &str) -> Pattern {
        let mut pieces = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            pieces.push(match c {
                '%' => Piece::Any,
                '_' => Piece::One,
                '\\' => Piece::Char(chars.next().unwrap_or('\\')),
                c => Piece::Char(c),
            });
        }
        // Runs of `%` match as one.
        pieces.dedup_by(|a, b| *a == Piece::Any && *b == Piece::Any);
        Pattern(pieces)
    }

    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let pattern = &self.0;
        let (mut t, mut p) = (0, 0);
        // Where the last `%` was and the text position it was last tried against.
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match pattern.get(p) {
                Some(Piece::Any) => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(Piece::One) => {
                    t += 1;
                    p += 1;
                }
                Some(Piece::Char(c)) if *c == text[t] => {
                    t += 1;
                    p += 1;
                }
                _ => match star {
                    // Let the last `%` take one more character and retry after it.
                    Some((sp, st)) => {
                        star = Some((sp, st + 1));
                        p = sp + 1;
                        t = st + 1;
                    }
                    None => return false,
                },
            }
        }
        pattern[p.min(pattern.len())..]
            .iter()
            .all(|piece| *piece == Piece::Any)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition, by recursion: what the fast matcher must agree with.
    fn reference(p: &[Piece], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((Piece::Any, rest)) => (0..=t.len()).any(|k| reference(rest, &t[k..])),
            Some((Piece::One, rest)) => !t.is_empty() && reference(rest, &t[1..]),
            Some((Piece::Char(c), rest)) => t.first() == Some(c) && reference(rest, &t[1..]),
        }
    }

    #[test]
    fn wildcards_and_escapes() {
        assert!(Pattern::new("Cyber%").matches("Cybersecurity hub"));
        assert!(Pattern::new("%hub").matches("Cybersecurity hub"));
        assert!(Pattern::new("_yber%").matches("Cyber"));
        assert!(!Pattern::new("cyber%").matches("Cyber"));
        assert!(Pattern::new("100\\%").matches("100%") && !Pattern::new("100\\%").matches("1000"));
        assert!(Pattern::new("").matches("") && !Pattern::new("").matches("a"));
        assert!(Pattern::new("%").matches(""));
    }

    #[test]
    fn a_hostile_pattern_is_fast() {
        let text = "a".repeat(10_000);
        let pattern = format!("{}b", "%a".repeat(200));
        let started = std::time::Instant::now();
        assert!(!Pattern::new(&pattern).matches(&text));
        assert!(started.elapsed().as_secs() < 2);
    }

    proptest! {
        #[test]
        fn agrees_with_the_definition(p in "[ab%_]{0,8}", t in "[ab]{0,10}") {
            let pattern = Pattern::new(&p);
            let chars: Vec<char> = t.chars().collect();
            prop_assert_eq!(pattern.matches(&t), reference(&pattern.0, &chars));
        }
    }
}
