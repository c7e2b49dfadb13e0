//! RocketMQ's SQL92 message selector (`MessageSelector.bySql`), with no I/O: the lexer
//! and parser of the `SelectorParser.jj` grammar (4.9.8, plus 5.x's CONTAINS /
//! STARTSWITH / ENDSWITH), the syntax tree with a printer that reads back, and the
//! evaluator over a message's properties. Text enters through [`compile`]; a bad selector
//! comes back as a [`ParseError`] with the column where it went wrong; evaluation never
//! fails a delivery — what RocketMQ would throw on is simply no match.

pub mod ast;
pub mod eval;
mod lexer;
mod parser;

pub use ast::{CompareOp, Expr, Literal, StringOp};
pub use eval::{EvalError, Properties, Value};
pub use parser::parse;

/// RocketMQ's `ExpressionType.SQL92`.
pub const EXPRESSION_TYPE_SQL92: &str = "SQL92";

/// Why a selector was refused; the text is the remark a client shows its user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("Invalid MessageSelector: {message} at column {column}")]
    Lexical { message: String, column: usize },
    #[error("Invalid MessageSelector: {message} at column {column}")]
    Syntax { message: String, column: usize },
    /// Well-formed, but RocketMQ's expression builders refuse it (`'a' > 1`, `= NULL`).
    #[error("Invalid MessageSelector: {message} at column {column}")]
    Semantic { message: String, column: usize },
    #[error("unsupported expression type {0}; the broker filters by TAG and SQL92")]
    UnsupportedType(String),
}

impl ParseError {
    pub(crate) fn lexical(message: impl Into<String>, column: usize) -> Self {
        ParseError::Lexical {
            message: message.into(),
            column,
        }
    }

    pub(crate) fn syntax(message: impl Into<String>, column: usize) -> Self {
        ParseError::Syntax {
            message: message.into(),
            column,
        }
    }

    pub(crate) fn semantic(message: impl Into<String>, column: usize) -> Self {
        ParseError::Semantic {
            message: message.into(),
            column,
        }
    }

    /// 1-based column (in characters) of the error; 0 when it has no position.
    pub fn column(&self) -> usize {
        match self {
            ParseError::Lexical { column, .. }
            | ParseError::Syntax { column, .. }
            | ParseError::Semantic { column, .. } => *column,
            ParseError::UnsupportedType(_) => 0,
        }
    }
}

/// Compiles a non-TAG subscription expression of `expression_type`, which must be exactly
/// `SQL92`, as RocketMQ's FilterFactory looks types up by exact name.
pub fn compile(expression_type: &str, text: &str) -> Result<Expr, ParseError> {
    if expression_type != EXPRESSION_TYPE_SQL92 {
        return Err(ParseError::UnsupportedType(expression_type.to_owned()));
    }
    parse(text)
}

#[cfg(test)]
mod tests;
