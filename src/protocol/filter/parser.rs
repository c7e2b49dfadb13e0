//! Recursive descent over RocketMQ's `SelectorParser.jj`, one function per grammar rule
//! and with its precedence, loosest first: OR, AND, equality (`=`, `<>`, IS [NOT] NULL),
//! comparison (`>`…, [NOT] BETWEEN / IN / CONTAINS / STARTSWITH / ENDSWITH), unary
//! (`+`, `-`, NOT — so `NOT a = 1` reads as `(NOT a) = 1`, as in RocketMQ), primary. The
//! checks RocketMQ's expression factories make while building (no ordering of strings or
//! booleans, no `= NULL`, ordered BETWEEN bounds, IN only on a property, a condition where
//! one is expected) are made here too, so every tree the parser returns evaluates.

use super::ast::{CompareOp, Expr, Literal, StringOp};
use super::eval::{java_compare, Value};
use super::lexer::{tokenize, Spanned, Token};
use super::ParseError;

/// Parenthesis and unary nesting allowed, so a hostile selector cannot exhaust the stack.
const MAX_NESTING: usize = 64;
/// Operators allowed in one selector, so a tree cannot get too deep to measure or drop.
const MAX_OPERATORS: usize = 1024;
/// Depth of the finished tree, which bounds the evaluator's recursion. No deeper than
/// [`MAX_NESTING`], so whatever parses prints as text that parses again.
const MAX_DEPTH: usize = MAX_NESTING;

/// Parses a whole selector into a condition.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let mut p = Parser {
        tokens: tokenize(text)?,
        pos: 0,
        nesting: 0,
        operators: 0,
    };
    let column = p.column();
    let e = p.or_expression()?;
    if p.peek() != &Token::Eof {
        return Err(p.unexpected());
    }
    if e.depth() > MAX_DEPTH {
        return Err(ParseError::semantic(
            format!("nested more than {MAX_DEPTH} deep"),
            column,
        ));
    }
    as_condition(e, column)
}

struct Parser {
    tokens: Vec<Spanned>,
    pos: usize,
    nesting: usize,
    operators: usize,
}

/// RocketMQ's `asBooleanExpression`: conditions and properties (read as booleans) may
/// stand where a condition is expected; numbers and strings may not.
fn as_condition(e: Expr, column: usize) -> Result<Expr, ParseError> {
    if e.is_boolean() || matches!(e, Expr::Property(_)) {
        Ok(e)
    } else {
        Err(ParseError::semantic(
            format!("expression will not result in a boolean value: {e}"),
            column,
        ))
    }
}

/// RocketMQ's `checkLessThanOperand`: only numbers and non-conditions may be ordered.
fn orderable(e: &Expr, column: usize) -> Result<(), ParseError> {
    let ok = match e {
        Expr::Literal(l) => matches!(l, Literal::Long(_) | Literal::Double(_)),
        other => !other.is_boolean(),
    };
    if ok {
        Ok(())
    } else {
        Err(ParseError::semantic(
            format!("value '{e}' cannot be compared"),
            column,
        ))
    }
}

/// RocketMQ's `checkEqualOperand` and `checkEqualOperandCompatability` for `=` and `<>`.
fn equatable(l: &Expr, r: &Expr, column: usize) -> Result<(), ParseError> {
    for e in [l, r] {
        if *e == Expr::Literal(Literal::Null) {
            return Err(ParseError::semantic(
                "NULL cannot be compared; use IS NULL".to_owned(),
                column,
            ));
        }
    }
    if let (Expr::Literal(Literal::Bool(_)), Expr::Literal(other)) = (l, r) {
        if !matches!(other, Literal::Bool(_)) {
            return Err(ParseError::semantic(
                format!("'{l}' cannot be compared with '{r}'"),
                column,
            ));
        }
    }
    Ok(())
}

/// RocketMQ's `createBetween` check: constant bounds must be non-null and in order.
fn between_bounds(low: &Expr, high: &Expr, column: usize) -> Result<(), ParseError> {
    let (Expr::Literal(lo), Expr::Literal(hi)) = (low, high) else {
        return Ok(());
    };
    if *lo == Literal::Null || *hi == Literal::Null {
        return Err(ParseError::semantic(
            "illegal values of between, values can not be null".to_owned(),
            column,
        ));
    }
    match java_compare(&Value::from(hi), &Value::from(lo)) {
        Ok(o) if o.is_ge() => Ok(()),
        _ => Err(ParseError::semantic(
            format!("illegal values of between, left value ({low}) must be less than or equal to right value ({high})"),
            column,
        )),
    }
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos.min(self.tokens.len() - 1)].0
    }

    fn peek2(&self) -> &Token {
        &self.tokens[(self.pos + 1).min(self.tokens.len() - 1)].0
    }

    fn column(&self) -> usize {
        self.tokens[self.pos.min(self.tokens.len() - 1)].1
    }

    fn advance(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn unexpected(&self) -> ParseError {
        ParseError::syntax(
            format!("unexpected {}", self.peek().describe()),
            self.column(),
        )
    }

    fn require(&mut self, want: Token) -> Result<(), ParseError> {
        if *self.peek() == want {
            self.advance();
            Ok(())
        } else {
            Err(ParseError::syntax(
                format!(
                    "expected {} but found {}",
                    want.describe(),
                    self.peek().describe()
                ),
                self.column(),
            ))
        }
    }

    /// Counts one operator node against [`MAX_OPERATORS`].
    fn operator(&mut self) -> Result<(), ParseError> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            return Err(ParseError::semantic(
                format!("more than {MAX_OPERATORS} operators"),
                self.column(),
            ));
        }
        Ok(())
    }

    fn nest(&mut self) -> Result<(), ParseError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(ParseError::semantic(
                format!("nested more than {MAX_NESTING} deep"),
                self.column(),
            ));
        }
        Ok(())
    }

    fn or_expression(&mut self) -> Result<Expr, ParseError> {
        self.chain(Token::Or, Self::and_expression, Expr::Or)
    }

    fn and_expression(&mut self) -> Result<Expr, ParseError> {
        self.chain(Token::And, Self::equality_expression, Expr::And)
    }

    /// `operand (op operand)*`, as one chain node when there is more than one operand.
    fn chain(
        &mut self,
        op: Token,
        operand: fn(&mut Self) -> Result<Expr, ParseError>,
        build: fn(Vec<Expr>) -> Expr,
    ) -> Result<Expr, ParseError> {
        let column = self.column();
        let first = operand(self)?;
        if *self.peek() != op {
            return Ok(first);
        }
        let mut items = vec![as_condition(first, column)?];
        while *self.peek() == op {
            self.advance();
            let column = self.column();
            let next = operand(self)?;
            self.operator()?;
            items.push(as_condition(next, column)?);
        }
        Ok(build(items))
    }

    fn equality_expression(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.comparison_expression()?;
        loop {
            let column = self.column();
            left = match (self.peek(), self.peek2()) {
                (Token::Eq | Token::Ne, _) => {
                    let op = if self.advance() == Token::Eq {
                        CompareOp::Eq
                    } else {
                        CompareOp::Ne
                    };
                    let right = self.comparison_expression()?;
                    equatable(&left, &right, column)?;
                    Expr::Compare(op, Box::new(left), Box::new(right))
                }
                (Token::Is, Token::Null) => {
                    self.pos += 2;
                    Expr::IsNull {
                        expr: Box::new(left),
                        negated: false,
                    }
                }
                (Token::Is, _) => {
                    self.advance();
                    self.require(Token::Not)?;
                    self.require(Token::Null)?;
                    Expr::IsNull {
                        expr: Box::new(left),
                        negated: true,
                    }
                }
                _ => return Ok(left),
            };
            self.operator()?;
        }
    }

    fn comparison_expression(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary_expression()?;
        loop {
            let column = self.column();
            let (negated, op) = match (self.peek(), self.peek2()) {
                (
                    Token::Not,
                    t @ (Token::Contains
                    | Token::StartsWith
                    | Token::EndsWith
                    | Token::Between
                    | Token::In),
                ) => (true, t.clone()),
                (
                    t @ (Token::Gt
                    | Token::Ge
                    | Token::Lt
                    | Token::Le
                    | Token::Contains
                    | Token::StartsWith
                    | Token::EndsWith
                    | Token::Between
                    | Token::In),
                    _,
                ) => (false, t.clone()),
                _ => return Ok(left),
            };
            self.pos += 1 + usize::from(negated);
            left = match op {
                Token::Gt | Token::Ge | Token::Lt | Token::Le => {
                    let op = match op {
                        Token::Gt => CompareOp::Gt,
                        Token::Ge => CompareOp::Ge,
                        Token::Lt => CompareOp::Lt,
                        _ => CompareOp::Le,
                    };
                    let right = self.unary_expression()?;
                    orderable(&left, column)?;
                    orderable(&right, column)?;
                    Expr::Compare(op, Box::new(left), Box::new(right))
                }
                Token::Contains | Token::StartsWith | Token::EndsWith => {
                    let op = match op {
                        Token::Contains => StringOp::Contains,
                        Token::StartsWith => StringOp::StartsWith,
                        _ => StringOp::EndsWith,
                    };
                    Expr::StringMatch {
                        op,
                        expr: Box::new(left),
                        pattern: self.string_literal()?,
                        negated,
                    }
                }
                Token::Between => {
                    let low = self.unary_expression()?;
                    self.require(Token::And)?;
                    let high = self.unary_expression()?;
                    if !negated {
                        between_bounds(&low, &high, column)?;
                    }
                    for e in [&left, &low, &high] {
                        orderable(e, column)?;
                    }
                    Expr::Between {
                        expr: Box::new(left),
                        low: Box::new(low),
                        high: Box::new(high),
                        negated,
                    }
                }
                _ => {
                    let Expr::Property(property) = left else {
                        return Err(ParseError::semantic(
                            format!("IN needs a property on its left, got: {left}"),
                            column,
                        ));
                    };
                    self.require(Token::LParen)?;
                    let mut values = vec![self.string_literal()?];
                    while *self.peek() == Token::Comma {
                        self.advance();
                        values.push(self.string_literal()?);
                    }
                    self.require(Token::RParen)?;
                    Expr::In {
                        property,
                        values,
                        negated,
                    }
                }
            };
            self.operator()?;
        }
    }

    fn string_literal(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Token::Str(_) => match self.advance() {
                Token::Str(s) => Ok(s),
                _ => Err(self.unexpected()),
            },
            other => Err(ParseError::syntax(
                format!("expected a string literal but found {}", other.describe()),
                self.column(),
            )),
        }
    }

    fn unary_expression(&mut self) -> Result<Expr, ParseError> {
        let column = self.column();
        let e = match self.peek() {
            Token::Plus => {
                self.advance();
                self.nest()?;
                let e = self.unary_expression()?;
                self.nesting -= 1;
                e
            }
            Token::Minus | Token::Not => {
                let not = self.advance() == Token::Not;
                self.nest()?;
                let operand = self.unary_expression()?;
                self.nesting -= 1;
                self.operator()?;
                if not {
                    Expr::Not(Box::new(as_condition(operand, column)?))
                } else {
                    Expr::Neg(Box::new(operand))
                }
            }
            _ => self.primary_expression()?,
        };
        Ok(e)
    }

    fn primary_expression(&mut self) -> Result<Expr, ParseError> {
        let column = self.column();
        let at = self.pos;
        let literal = match self.advance() {
            Token::Str(s) => Literal::Str(s),
            Token::Decimal(digits) => Literal::Long(digits.parse().map_err(|_| {
                ParseError::semantic(format!("{digits} is out of the range of a long"), column)
            })?),
            Token::Float(text) => {
                let d: f64 = text
                    .parse()
                    .map_err(|_| ParseError::semantic(format!("bad number {text}"), column))?;
                // RocketMQ's createFloat refuses values above Double.MAX_VALUE and below
                // Double.MIN_VALUE (the smallest positive double), which includes 0.0.
                if !d.is_finite() {
                    return Err(ParseError::semantic(
                        format!("{text} is greater than {:e}", f64::MAX),
                        column,
                    ));
                }
                if d < 4.9e-324 {
                    return Err(ParseError::semantic(
                        format!("{text} is less than 4.9E-324"),
                        column,
                    ));
                }
                Literal::Double(d)
            }
            Token::True => Literal::Bool(true),
            Token::False => Literal::Bool(false),
            Token::Null => Literal::Null,
            Token::Id(name) => return Ok(Expr::Property(name)),
            Token::LParen => {
                self.nest()?;
                let e = self.or_expression()?;
                self.nesting -= 1;
                self.require(Token::RParen)?;
                return Ok(e);
            }
            _ => {
                self.pos = at;
                return Err(self.unexpected());
            }
        };
        Ok(Expr::Literal(literal))
    }
}
