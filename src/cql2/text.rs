//! The CQL2 text encoding (`filter-lang=cql2-text`): a recursive-descent parser over the
//! grammar of OGC 21-065r2 (Annex A), for the classes the service claims.
//!
//! ```text
//! expression := term { OR term }
//! term       := factor { AND factor }
//! factor     := [ NOT ] primary
//! primary    := '(' expression ')' | TRUE | FALSE | function '(' operand ',' operand ')'
//!             | operand ( compare operand | [NOT] LIKE operand | [NOT] BETWEEN operand AND operand
//!                       | [NOT] IN '(' operand { ',' operand } ')' | IS [NOT] NULL )
//! operand    := 'text' | number | TRUE | FALSE | property | "property" | DATE('..') | TIMESTAMP('..')
//!             | INTERVAL(bound, bound) | CASEI(operand) | ACCENTI(operand) | geometry | BBOX(..)
//!             | '(' operand { ',' operand } ')'            (an array)
//! ```

use geo::{Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};

use super::ast::{At, Comparison, Expr, Function, Operand, Value};
use super::geometry::{self, bbox};
use super::lexer::{Spanned, Token, tokens};
use super::{CqlError, MAX_DEPTH};

/// Parses a whole CQL2 text expression.
pub fn parse(text: &str) -> Result<Expr, CqlError> {
    let mut parser = Parser {
        tokens: tokens(text)?,
        next: 0,
        depth: 0,
    };
    let expr = parser.expression()?;
    match parser.peek() {
        Token::End => Ok(expr),
        other => Err(parser.error(format!(
            "unexpected {} after the expression",
            describe(other)
        ))),
    }
}

struct Parser {
    tokens: Vec<Spanned>,
    next: usize,
    /// Nesting of parentheses and functions, bounded so hostile input cannot overflow the stack.
    depth: usize,
}

fn describe(token: &Token) -> String {
    match token {
        Token::Word(w) => format!("\"{w}\""),
        Token::Quoted(w) => format!("\"\\\"{w}\\\"\""),
        Token::Text(t) => format!("the string '{t}'"),
        Token::Number(n) => format!("the number {n}"),
        Token::Symbol(s) => format!("\"{s}\""),
        Token::End => "the end of the filter".into(),
    }
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.next].token
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        let last = self.tokens.len() - 1;
        &self.tokens[(self.next + ahead).min(last)].token
    }

    fn here(&self) -> At {
        At::Char(self.tokens[self.next].at)
    }

    fn error(&self, message: String) -> CqlError {
        CqlError::syntax(self.here(), message)
    }

    fn advance(&mut self) -> Token {
        let token = self.tokens[self.next].token.clone();
        if self.next < self.tokens.len() - 1 {
            self.next += 1;
        }
        token
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Token::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = self.is_keyword(keyword);
        if found {
            self.advance();
        }
        found
    }

    fn expect_keyword(&mut self, keyword: &str) -> Result<(), CqlError> {
        if self.eat_keyword(keyword) {
            Ok(())
        } else {
            Err(self.error(format!(
                "expected {keyword}, found {}",
                describe(self.peek())
            )))
        }
    }

    fn eat_symbol(&mut self, symbol: &str) -> bool {
        let found = matches!(self.peek(), Token::Symbol(s) if *s == symbol);
        if found {
            self.advance();
        }
        found
    }

    fn expect_symbol(&mut self, symbol: &str) -> Result<(), CqlError> {
        if self.eat_symbol(symbol) {
            Ok(())
        } else {
            Err(self.error(format!(
                "expected \"{symbol}\", found {}",
                describe(self.peek())
            )))
        }
    }

    /// Enters one level of nesting, refusing too deep an expression.
    fn enter(&mut self) -> Result<(), CqlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        Ok(())
    }

    fn expression(&mut self) -> Result<Expr, CqlError> {
        let mut terms = vec![self.term()?];
        while self.eat_keyword("OR") {
            terms.push(self.term()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::Or(terms)
        })
    }

    fn term(&mut self) -> Result<Expr, CqlError> {
        let mut factors = vec![self.factor()?];
        while self.eat_keyword("AND") {
            factors.push(self.factor()?);
        }
        Ok(if factors.len() == 1 {
            factors.remove(0)
        } else {
            Expr::And(factors)
        })
    }

    fn factor(&mut self) -> Result<Expr, CqlError> {
        if self.eat_keyword("NOT") {
            self.enter()?;
            let inner = self.factor()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, CqlError> {
        // A parenthesis opens a nested expression unless it is an array literal compared
        // as an operand, which a boolean expression never starts with.
        if matches!(self.peek(), Token::Symbol("(")) {
            self.advance();
            self.enter()?;
            let inner = self.expression()?;
            self.expect_symbol(")")?;
            self.depth -= 1;
            return Ok(inner);
        }
        if let Token::Word(name) = self.peek().clone()
            && matches!(self.peek_at(1), Token::Symbol("("))
            && let Some(function) = Function::named(&name)
        {
            self.advance();
            self.advance();
            self.enter()?;
            let left = self.operand()?;
            self.expect_symbol(",")?;
            let right = self.operand()?;
            self.expect_symbol(")")?;
            self.depth -= 1;
            return Ok(function.apply(left, right));
        }
        let left = self.operand()?;
        self.predicate(left)
    }

    /// What follows the first operand of a predicate.
    fn predicate(&mut self, left: Operand) -> Result<Expr, CqlError> {
        let compare = match self.peek() {
            Token::Symbol("=") => Some(Comparison::Eq),
            Token::Symbol("<>") => Some(Comparison::Ne),
            Token::Symbol("<") => Some(Comparison::Lt),
            Token::Symbol("<=") => Some(Comparison::Le),
            Token::Symbol(">") => Some(Comparison::Gt),
            Token::Symbol(">=") => Some(Comparison::Ge),
            _ => None,
        };
        if let Some(op) = compare {
            self.advance();
            let right = self.operand()?;
            return Ok(Expr::Compare(op, left, right));
        }
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            self.expect_keyword("NULL")?;
            return Ok(negate(negated, Expr::IsNull(left)));
        }
        let negated = self.eat_keyword("NOT");
        if self.eat_keyword("LIKE") {
            let pattern = self.operand()?;
            return Ok(negate(negated, Expr::Like(left, pattern)));
        }
        if self.eat_keyword("BETWEEN") {
            let low = self.operand()?;
            self.expect_keyword("AND")?;
            let high = self.operand()?;
            return Ok(negate(negated, Expr::Between(left, low, high)));
        }
        if self.eat_keyword("IN") {
            let at = self.here();
            self.expect_symbol("(")?;
            let Value::Array(list) = self.array(at)?.value else {
                unreachable!("array() gives an array");
            };
            return Ok(negate(negated, Expr::In(left, list)));
        }
        if negated {
            return Err(self.error(format!(
                "expected LIKE, BETWEEN or IN after NOT, found {}",
                describe(self.peek())
            )));
        }
        match left.value {
            Value::Bool(b) => Ok(Expr::Literal(b)),
            _ => Err(self.error(format!(
                "expected a comparison (=, <>, <, <=, >, >=, LIKE, BETWEEN, IN, IS NULL) {}, found {}",
                left.at,
                describe(self.peek())
            ))),
        }
    }

    fn operand(&mut self) -> Result<Operand, CqlError> {
        let at = self.here();
        let value = match self.advance() {
            Token::Text(text) => Value::Text(text),
            Token::Number(n) => Value::Number(n),
            Token::Quoted(name) => Value::Property(name),
            Token::Symbol("(") => return self.array(at),
            Token::Word(word) => return self.word_operand(word, at),
            other => {
                return Err(CqlError::syntax(
                    at,
                    format!("expected a value or property, found {}", describe(&other)),
                ));
            }
        };
        Ok(Operand { at, value })
    }

    /// An array literal after its opening parenthesis: `(a, b, ...)`, possibly empty.
    fn array(&mut self, at: At) -> Result<Operand, CqlError> {
        self.enter()?;
        let mut items = Vec::new();
        if !self.eat_symbol(")") {
            loop {
                items.push(self.operand()?);
                if self.eat_symbol(")") {
                    break;
                }
                self.expect_symbol(",")?;
            }
        }
        self.depth -= 1;
        Ok(Operand {
            at,
            value: Value::Array(items),
        })
    }

    fn word_operand(&mut self, word: String, at: At) -> Result<Operand, CqlError> {
        let upper = word.to_ascii_uppercase();
        let call = matches!(self.peek(), Token::Symbol("("));
        let value = match upper.as_str() {
            "TRUE" => Value::Bool(true),
            "FALSE" => Value::Bool(false),
            "DATE" | "TIMESTAMP" if call => {
                self.advance();
                let text = self.text_argument()?;
                self.expect_symbol(")")?;
                if upper == "DATE" {
                    Value::Date(text)
                } else {
                    Value::Timestamp(text)
                }
            }
            "INTERVAL" if call => {
                self.advance();
                self.enter()?;
                let start = self.operand()?;
                self.expect_symbol(",")?;
                let end = self.operand()?;
                self.expect_symbol(")")?;
                self.depth -= 1;
                Value::Interval(Box::new(start), Box::new(end))
            }
            "CASEI" | "ACCENTI" if call => {
                self.advance();
                self.enter()?;
                let inner = Box::new(self.operand()?);
                self.expect_symbol(")")?;
                self.depth -= 1;
                if upper == "CASEI" {
                    Value::Casei(inner)
                } else {
                    Value::Accenti(inner)
                }
            }
            "BBOX" if call => {
                self.advance();
                let mut numbers = vec![self.number()?];
                while self.eat_symbol(",") {
                    numbers.push(self.number()?);
                }
                self.expect_symbol(")")?;
                Value::Geometry(bbox(&numbers).map_err(|m| CqlError::syntax(at.clone(), m))?)
            }
            "POINT" | "LINESTRING" | "POLYGON" | "MULTIPOINT" | "MULTILINESTRING"
            | "MULTIPOLYGON" | "GEOMETRYCOLLECTION" => Value::Geometry(self.geometry(&upper)?),
            _ if call => {
                return Err(CqlError::syntax(at, format!("unknown function \"{word}\"")));
            }
            _ => Value::Property(word),
        };
        Ok(Operand { at, value })
    }

    fn text_argument(&mut self) -> Result<String, CqlError> {
        match self.peek().clone() {
            Token::Text(text) => {
                self.advance();
                Ok(text)
            }
            other => Err(self.error(format!(
                "expected a quoted string, found {}",
                describe(&other)
            ))),
        }
    }

    fn number(&mut self) -> Result<f64, CqlError> {
        match self.peek() {
            Token::Number(n) => {
                let n = *n;
                self.advance();
                Ok(n)
            }
            other => Err(self.error(format!("expected a number, found {}", describe(other)))),
        }
    }

    /// A WKT geometry after its type name (2D; a Z coordinate is accepted and dropped).
    fn geometry(&mut self, kind: &str) -> Result<Geometry, CqlError> {
        self.enter()?;
        let at = self.here();
        let located = |m: String| CqlError::syntax(at.clone(), m);
        let geometry = match kind {
            "POINT" => {
                self.expect_symbol("(")?;
                let c = self.coord()?;
                self.expect_symbol(")")?;
                Geometry::Point(Point(c))
            }
            "LINESTRING" => Geometry::LineString(self.line()?),
            "POLYGON" => Geometry::Polygon(self.polygon()?),
            "MULTIPOINT" => {
                // Both `MULTIPOINT(1 2, 3 4)` and `MULTIPOINT((1 2), (3 4))` are WKT.
                let points = self.list(|p| {
                    let bare = !p.eat_symbol("(");
                    let c = p.coord()?;
                    if !bare {
                        p.expect_symbol(")")?;
                    }
                    Ok(Point(c))
                })?;
                Geometry::MultiPoint(MultiPoint(points))
            }
            "MULTILINESTRING" => Geometry::MultiLineString(MultiLineString(self.list(Self::line)?)),
            "MULTIPOLYGON" => Geometry::MultiPolygon(MultiPolygon(self.list(Self::polygon)?)),
            _ => {
                let parts = self.list(|p| match p.advance() {
                    Token::Word(w) => {
                        let upper = w.to_ascii_uppercase();
                        match upper.as_str() {
                            "POINT" | "LINESTRING" | "POLYGON" | "MULTIPOINT"
                            | "MULTILINESTRING" | "MULTIPOLYGON" | "GEOMETRYCOLLECTION" => {
                                p.geometry(&upper)
                            }
                            _ => Err(p.error(format!("\"{w}\" is not a geometry type"))),
                        }
                    }
                    other => {
                        Err(p.error(format!("expected a geometry, found {}", describe(&other))))
                    }
                })?;
                Geometry::GeometryCollection(geo::GeometryCollection(parts))
            }
        };
        self.depth -= 1;
        geometry::check(&geometry).map_err(located)?;
        Ok(geometry)
    }

    /// `( item, item, ... )`.
    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, CqlError>,
    ) -> Result<Vec<T>, CqlError> {
        self.expect_symbol("(")?;
        self.enter()?;
        let mut items = vec![item(self)?];
        while self.eat_symbol(",") {
            items.push(item(self)?);
        }
        self.expect_symbol(")")?;
        self.depth -= 1;
        Ok(items)
    }

    fn line(&mut self) -> Result<LineString, CqlError> {
        Ok(LineString(self.list(Self::coord)?))
    }

    fn polygon(&mut self) -> Result<Polygon, CqlError> {
        let mut rings = self.list(Self::line)?;
        let exterior = rings.remove(0);
        Ok(Polygon::new(exterior, rings))
    }

    fn coord(&mut self) -> Result<Coord, CqlError> {
        let x = self.number()?;
        let y = self.number()?;
        if matches!(self.peek(), Token::Number(_)) {
            self.advance();
        }
        Ok(Coord { x, y })
    }
}

fn negate(negated: bool, expr: Expr) -> Expr {
    if negated {
        Expr::Not(Box::new(expr))
    } else {
        expr
    }
}
