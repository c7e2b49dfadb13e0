//! Evaluation of a parsed selector against a message's properties, with RocketMQ's
//! semantics: SQL's three-valued logic (a missing property is NULL, NULL is no match),
//! and Java's `ComparisonExpression.__compare` conversions with string conversion on,
//! because every message property is a string: `a > 3` parses `a` as a Java `int`, so
//! `a = '4.5'` against `a > 3` fails to convert and is no match, while `a > 3.0` parses
//! it as a double. A failure to convert is an [`EvalError`], which a delivery treats as
//! no match, as the broker's `ExpressionMessageFilter` does with Java's exception.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::BuildHasher;

use super::ast::{CompareOp, Expr, Literal, StringOp};

/// Where evaluation reads property values.
pub trait Properties {
    fn property(&self, name: &str) -> Option<&str>;
}

impl<S: BuildHasher> Properties for HashMap<String, String, S> {
    fn property(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Properties for [(&str, &str)] {
    fn property(&self, name: &str) -> Option<&str> {
        self.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }
}

/// A Java value during evaluation: decimal literals are `Integer` when they fit 32 bits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(&'a str),
}

impl<'a> From<&'a Literal> for Value<'a> {
    fn from(l: &'a Literal) -> Self {
        match l {
            Literal::Str(s) => Value::Str(s),
            Literal::Long(n) => i32::try_from(*n).map_or(Value::Long(*n), Value::Int),
            Literal::Double(d) => Value::Double(*d),
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Null => Value::Null,
        }
    }
}

/// Why an evaluation failed; a delivery counts it as no match.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("cannot convert '{0}' to a number")]
    NotANumber(String),
    #[error("cannot compare {0} with {1}")]
    Incomparable(String, String),
    #[error("'{0}' is not a condition")]
    NotACondition(String),
}

fn parse_int(s: &str) -> Result<i32, EvalError> {
    s.parse().map_err(|_| EvalError::NotANumber(s.to_owned()))
}

fn parse_long(s: &str) -> Result<i64, EvalError> {
    s.parse().map_err(|_| EvalError::NotANumber(s.to_owned()))
}

/// Java's `Double.valueOf`: surrounding control characters and spaces trimmed, an optional
/// `d`/`f` suffix, and `NaN` / `Infinity` spelled as Java spells them (hex floats are not
/// accepted here).
fn parse_double(s: &str) -> Result<f64, EvalError> {
    let bad = || EvalError::NotANumber(s.to_owned());
    let t = s.trim_matches(|c: char| c <= ' ');
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    if unsigned == "NaN" || unsigned == "Infinity" {
        return t.parse().map_err(|_| bad());
    }
    let body = t.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(t);
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return Err(bad());
    }
    body.parse().map_err(|_| bad())
}

/// Java's `Double.compare`: -0.0 below 0.0, NaN equal to itself and above everything.
fn java_double_cmp(a: f64, b: f64) -> Ordering {
    match a.partial_cmp(&b) {
        Some(Ordering::Equal) | None => {
            let bits = |x: f64| {
                if x.is_nan() {
                    0x7ff8_0000_0000_0000_i64
                } else {
                    x.to_bits() as i64
                }
            };
            bits(a).cmp(&bits(b))
        }
        Some(o) => o,
    }
}

fn type_name(v: &Value<'_>) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Long(n) => n.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Str(s) => format!("'{s}'"),
    }
}

/// `ComparisonExpression.__compare` with string conversion on: same types compare
/// naturally, numbers widen, a string converts to the other side's type; types it cannot
/// convert compare as "less", exactly as Java's `return -1`.
pub fn java_compare(l: &Value<'_>, r: &Value<'_>) -> Result<Ordering, EvalError> {
    use Value::*;
    Ok(match (*l, *r) {
        (Null, _) | (_, Null) | (Bool(_), Str(_)) => {
            return Err(EvalError::Incomparable(type_name(l), type_name(r)))
        }
        (Bool(a), Bool(b)) => a.cmp(&b),
        (Int(a), Int(b)) => a.cmp(&b),
        (Long(a), Long(b)) => a.cmp(&b),
        (Double(a), Double(b)) => java_double_cmp(a, b),
        (Str(a), Str(b)) => a.encode_utf16().cmp(b.encode_utf16()),
        (Int(a), Long(b)) => i64::from(a).cmp(&b),
        (Long(a), Int(b)) => a.cmp(&i64::from(b)),
        (Int(a), Double(b)) => java_double_cmp(f64::from(a), b),
        (Double(a), Int(b)) => java_double_cmp(a, f64::from(b)),
        (Long(a), Double(b)) => java_double_cmp(a as f64, b),
        (Double(a), Long(b)) => java_double_cmp(a, b as f64),
        (Int(a), Str(b)) => a.cmp(&parse_int(b)?),
        (Long(a), Str(b)) => a.cmp(&parse_long(b)?),
        (Double(a), Str(b)) => java_double_cmp(a, parse_double(b)?),
        (Str(a), Int(b)) => parse_int(a)?.cmp(&b),
        (Str(a), Long(b)) => parse_long(a)?.cmp(&b),
        (Str(a), Double(b)) => java_double_cmp(parse_double(a)?, b),
        // Java's Boolean.valueOf(String): true only for "true", any case.
        (Str(a), Bool(b)) => a.eq_ignore_ascii_case("true").cmp(&b),
        _ => Ordering::Less,
    })
}

fn truth(b: Option<bool>) -> Value<'static> {
    b.map_or(Value::Null, Value::Bool)
}

impl Expr {
    /// Whether the message with these properties matches: only a TRUE result does.
    pub fn matches(&self, props: &(impl Properties + ?Sized)) -> bool {
        matches!(self.condition(props), Ok(Some(true)))
    }

    /// The condition's value: `Some(bool)`, `None` for SQL NULL, or why it failed.
    pub fn condition<'a>(
        &'a self,
        props: &'a (impl Properties + ?Sized),
    ) -> Result<Option<bool>, EvalError> {
        match self {
            // RocketMQ's boolean cast of a property: a present value is not a Boolean
            // (properties are strings), so it is FALSE; a missing one is NULL.
            Expr::Property(name) => Ok(props.property(name).map(|_| false)),
            other => match other.evaluate(props)? {
                Value::Bool(b) => Ok(Some(b)),
                Value::Null => Ok(None),
                v => Err(EvalError::NotACondition(type_name(&v))),
            },
        }
    }

    /// The expression's value, operands evaluated in RocketMQ's order (which matters
    /// because a NULL can stop evaluation before an operand that would fail).
    pub fn evaluate<'a>(
        &'a self,
        props: &'a (impl Properties + ?Sized),
    ) -> Result<Value<'a>, EvalError> {
        Ok(match self {
            Expr::Literal(l) => Value::from(l),
            Expr::Property(name) => props.property(name).map_or(Value::Null, Value::Str),
            Expr::Neg(e) => match e.evaluate(props)? {
                Value::Int(n) => Value::Int(n.wrapping_neg()),
                Value::Long(n) => Value::Long(n.wrapping_neg()),
                Value::Double(d) => Value::Double(-d),
                _ => Value::Null,
            },
            Expr::Not(e) => truth(e.condition(props)?.map(|b| !b)),
            Expr::And(items) => truth(chain(items, props, false)?),
            Expr::Or(items) => truth(chain(items, props, true)?),
            Expr::Compare(CompareOp::Eq, l, r) => truth(equal(l, r, props)?),
            Expr::Compare(CompareOp::Ne, l, r) => truth(equal(l, r, props)?.map(|b| !b)),
            Expr::Compare(op, l, r) => truth(order(*op, l, r, props)?),
            Expr::IsNull { expr, negated } => {
                Value::Bool((expr.evaluate(props)? == Value::Null) != *negated)
            }
            Expr::Between {
                expr,
                low,
                high,
                negated: false,
            } => truth(logic(
                false,
                order(CompareOp::Ge, expr, low, props)?,
                || order(CompareOp::Le, expr, high, props),
            )?),
            Expr::Between {
                expr,
                low,
                high,
                negated: true,
            } => truth(logic(
                true,
                order(CompareOp::Lt, expr, low, props)?,
                || order(CompareOp::Gt, expr, high, props),
            )?),
            Expr::In {
                property,
                values,
                negated,
            } => match props.property(property) {
                Some(v) => Value::Bool(values.iter().any(|x| x == v) != *negated),
                None => Value::Null,
            },
            Expr::StringMatch {
                op,
                expr,
                pattern,
                negated,
            } => {
                // RocketMQ answers FALSE, not NULL, for an empty pattern or a missing or
                // non-string value, with and without NOT.
                if pattern.is_empty() {
                    return Ok(Value::Bool(false));
                }
                match expr.evaluate(props)? {
                    Value::Str(s) => Value::Bool(
                        match op {
                            StringOp::Contains => s.contains(pattern.as_str()),
                            StringOp::StartsWith => s.starts_with(pattern.as_str()),
                            StringOp::EndsWith => s.ends_with(pattern.as_str()),
                        } != *negated,
                    ),
                    _ => Value::Bool(false),
                }
            }
        })
    }
}

/// Folds a chain from the left, as RocketMQ's left-nested ANDs (`dominant` FALSE) or ORs
/// (`dominant` TRUE) evaluate.
fn chain(
    items: &[Expr],
    props: &(impl Properties + ?Sized),
    dominant: bool,
) -> Result<Option<bool>, EvalError> {
    let Some((first, rest)) = items.split_first() else {
        return Ok(None);
    };
    let mut acc = first.condition(props)?;
    for e in rest {
        acc = logic(dominant, acc, || e.condition(props))?;
    }
    Ok(acc)
}

/// SQL AND (`dominant` FALSE) and OR (`dominant` TRUE): the dominant value wins over
/// NULL, and the right side is not evaluated once the left has it.
fn logic(
    dominant: bool,
    l: Option<bool>,
    r: impl FnOnce() -> Result<Option<bool>, EvalError>,
) -> Result<Option<bool>, EvalError> {
    if l == Some(dominant) {
        return Ok(l);
    }
    Ok(match (l, r()?) {
        (_, Some(b)) if b == dominant => Some(dominant),
        (Some(_), Some(_)) => Some(!dominant),
        _ => None,
    })
}

/// RocketMQ's equality: NULL = x is NULL, x = NULL is FALSE, NULL = NULL is TRUE.
fn equal(
    l: &Expr,
    r: &Expr,
    props: &(impl Properties + ?Sized),
) -> Result<Option<bool>, EvalError> {
    let (lv, rv) = (l.evaluate(props)?, r.evaluate(props)?);
    Ok(match (lv, rv) {
        (Value::Null, Value::Null) => Some(true),
        (Value::Null, _) => None,
        (_, Value::Null) => Some(false),
        _ => Some(java_compare(&lv, &rv)? == Ordering::Equal),
    })
}

/// `>`, `>=`, `<`, `<=`: NULL on either side is NULL; two strings compare as doubles.
fn order(
    op: CompareOp,
    l: &Expr,
    r: &Expr,
    props: &(impl Properties + ?Sized),
) -> Result<Option<bool>, EvalError> {
    let lv = l.evaluate(props)?;
    if lv == Value::Null {
        return Ok(None);
    }
    let rv = r.evaluate(props)?;
    if rv == Value::Null {
        return Ok(None);
    }
    let o = match (lv, rv) {
        (Value::Str(a), Value::Str(b)) => java_double_cmp(parse_double(a)?, parse_double(b)?),
        _ => java_compare(&lv, &rv)?,
    };
    Ok(Some(match op {
        CompareOp::Gt => o.is_gt(),
        CompareOp::Ge => o.is_ge(),
        CompareOp::Lt => o.is_lt(),
        CompareOp::Le => o.is_le(),
        CompareOp::Eq => o.is_eq(),
        CompareOp::Ne => o.is_ne(),
    }))
}
