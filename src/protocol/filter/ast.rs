//! The syntax tree of a SQL92 selector and its printer. The tree keeps the surface form
//! the user wrote (BETWEEN stays BETWEEN, `<>` stays `<>`) so it prints back to text that
//! parses to the same tree; the evaluator applies RocketMQ's rewrites (BETWEEN as two
//! comparisons, `<>` as NOT `=`) when it runs.

use std::fmt;

/// A constant written in the selector.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A single-quoted string, unescaped.
    Str(String),
    /// A decimal literal: Java's `Integer` when it fits 32 bits, `Long` otherwise.
    Long(i64),
    /// A floating-point literal (always positive and finite; the sign is a [`Expr::Neg`]).
    Double(f64),
    Bool(bool),
    Null,
}

/// `=`, `<>`, `>`, `>=`, `<`, `<=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
        }
    }
}

/// RocketMQ 5's string predicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringOp {
    Contains,
    StartsWith,
    EndsWith,
}

impl StringOp {
    pub fn keyword(self) -> &'static str {
        match self {
            StringOp::Contains => "CONTAINS",
            StringOp::StartsWith => "STARTSWITH",
            StringOp::EndsWith => "ENDSWITH",
        }
    }
}

/// A selector expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Literal),
    /// A message property (user or system, `TAGS` included), looked up by name.
    Property(String),
    /// Unary minus.
    Neg(Box<Expr>),
    Not(Box<Expr>),
    /// A chain `a AND b AND c`, at least two operands, evaluated left to right as
    /// RocketMQ's left-nested ANDs are; a chain is a list so its length costs no depth.
    And(Vec<Expr>),
    /// A chain of ORs, like [`Expr::And`].
    Or(Vec<Expr>),
    Compare(CompareOp, Box<Expr>, Box<Expr>),
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    /// RocketMQ allows IN only on a property and only with string literals.
    In {
        property: String,
        values: Vec<String>,
        negated: bool,
    },
    StringMatch {
        op: StringOp,
        expr: Box<Expr>,
        pattern: String,
        negated: bool,
    },
}

impl Expr {
    /// Whether RocketMQ types this node as a `BooleanExpression`: it may stand where a
    /// condition is expected, and it may not be ordered with `>` and friends.
    /// Levels of nesting below and including this node.
    pub fn depth(&self) -> usize {
        1 + match self {
            Expr::Literal(_) | Expr::Property(_) | Expr::In { .. } => 0,
            Expr::Neg(e) | Expr::Not(e) => e.depth(),
            Expr::IsNull { expr, .. } | Expr::StringMatch { expr, .. } => expr.depth(),
            Expr::And(items) | Expr::Or(items) => items.iter().map(Expr::depth).max().unwrap_or(0),
            Expr::Compare(_, l, r) => l.depth().max(r.depth()),
            Expr::Between {
                expr, low, high, ..
            } => expr.depth().max(low.depth()).max(high.depth()),
        }
    }

    pub fn is_boolean(&self) -> bool {
        match self {
            Expr::Literal(l) => matches!(l, Literal::Bool(_) | Literal::Null),
            Expr::Property(_) | Expr::Neg(_) => false,
            _ => true,
        }
    }
}

/// Writes a string literal with `'` doubled, as the grammar reads it back.
fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("'")?;
    f.write_str(&s.replace('\'', "''"))?;
    f.write_str("'")
}

fn write_chain(f: &mut fmt::Formatter<'_>, items: &[Expr], op: &str) -> fmt::Result {
    f.write_str("(")?;
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(op)?;
        }
        write!(f, "{e}")?;
    }
    f.write_str(")")
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => write_quoted(f, s),
            Literal::Long(n) => write!(f, "{n}"),
            // Debug prints the shortest text that reads back as the same f64, with a '.'
            // or an exponent, which is what the grammar wants of a float.
            Literal::Double(d) => write!(f, "{d:?}"),
            Literal::Bool(true) => f.write_str("TRUE"),
            Literal::Bool(false) => f.write_str("FALSE"),
            Literal::Null => f.write_str("NULL"),
        }
    }
}

/// Every binary or postfix node prints inside parentheses and the unary ones bind
/// tightest, so the text needs no precedence rules to read back as the same tree.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let not = |negated: bool| if negated { "NOT " } else { "" };
        match self {
            Expr::Literal(l) => write!(f, "{l}"),
            Expr::Property(name) => f.write_str(name),
            // Unary operators add no parentheses, so printed text nests no deeper than
            // the tree. A space keeps "- -5" from reading as a "--" comment.
            Expr::Neg(e) => match e.as_ref() {
                Expr::Neg(_) => write!(f, "- {e}"),
                _ => write!(f, "-{e}"),
            },
            Expr::Not(e) => write!(f, "NOT {e}"),
            Expr::And(items) => write_chain(f, items, " AND "),
            Expr::Or(items) => write_chain(f, items, " OR "),
            Expr::Compare(op, l, r) => write!(f, "({l} {} {r})", op.symbol()),
            Expr::IsNull { expr, negated } => write!(f, "({expr} IS {}NULL)", not(*negated)),
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => write!(f, "({expr} {}BETWEEN {low} AND {high})", not(*negated)),
            Expr::In {
                property,
                values,
                negated,
            } => {
                write!(f, "({property} {}IN (", not(*negated))?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_quoted(f, v)?;
                }
                f.write_str("))")
            }
            Expr::StringMatch {
                op,
                expr,
                pattern,
                negated,
            } => {
                write!(f, "({expr} {}{} ", not(*negated), op.keyword())?;
                write_quoted(f, pattern)?;
                f.write_str(")")
            }
        }
    }
}
