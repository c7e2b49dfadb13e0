//! Tokens of RocketMQ's selector grammar (`SelectorParser.jj`): case-insensitive keywords,
//! identifiers of `[A-Za-z_$][A-Za-z0-9_$]*`, single-quoted strings with `''` for a quote,
//! decimal and floating literals, the comparison operators, `--` line comments (which,
//! as in JavaCC, need their line end) and `/* */` block comments. Like JavaCC the lexer
//! takes the longest match, and a keyword wins over an identifier of the same length.

use super::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Not,
    And,
    Or,
    Between,
    In,
    True,
    False,
    Null,
    Is,
    Contains,
    StartsWith,
    EndsWith,
    /// Digits of a decimal literal, without its `L` suffix.
    Decimal(String),
    Float(String),
    Str(String),
    Id(String),
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
    Eof,
}

impl Token {
    /// How an error message names the token.
    pub fn describe(&self) -> String {
        match self {
            Token::Decimal(s) | Token::Float(s) => format!("number {s}"),
            Token::Str(s) => format!("string '{}'", s.replace('\'', "''")),
            Token::Id(s) => format!("identifier {s}"),
            Token::Eof => "end of expression".to_owned(),
            other => format!("'{}'", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Token::Not => "NOT",
            Token::And => "AND",
            Token::Or => "OR",
            Token::Between => "BETWEEN",
            Token::In => "IN",
            Token::True => "TRUE",
            Token::False => "FALSE",
            Token::Null => "NULL",
            Token::Is => "IS",
            Token::Contains => "CONTAINS",
            Token::StartsWith => "STARTSWITH",
            Token::EndsWith => "ENDSWITH",
            Token::Eq => "=",
            Token::Ne => "<>",
            Token::Gt => ">",
            Token::Ge => ">=",
            Token::Lt => "<",
            Token::Le => "<=",
            Token::LParen => "(",
            Token::RParen => ")",
            Token::Comma => ",",
            Token::Plus => "+",
            Token::Minus => "-",
            Token::Decimal(_) | Token::Float(_) | Token::Str(_) | Token::Id(_) | Token::Eof => "",
        }
    }
}

fn keyword(word: &str) -> Option<Token> {
    const KEYWORDS: [(&str, Token); 12] = [
        ("NOT", Token::Not),
        ("AND", Token::And),
        ("OR", Token::Or),
        ("BETWEEN", Token::Between),
        ("IN", Token::In),
        ("TRUE", Token::True),
        ("FALSE", Token::False),
        ("NULL", Token::Null),
        ("IS", Token::Is),
        ("CONTAINS", Token::Contains),
        ("STARTSWITH", Token::StartsWith),
        ("ENDSWITH", Token::EndsWith),
    ];
    KEYWORDS
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(word))
        .map(|(_, t)| t.clone())
}

/// A token and the 1-based column (in characters) where it starts.
pub type Spanned = (Token, usize);

/// Splits `text` into tokens, ending with [`Token::Eof`].
pub fn tokenize(text: &str) -> Result<Vec<Spanned>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        match c {
            ' ' | '\t' | '\n' | '\r' | '\u{c}' => i += 1,
            '-' if chars.get(i + 1) == Some(&'-') => {
                match chars[i..].iter().position(|c| *c == '\n' || *c == '\r') {
                    Some(end) => i += end + 1,
                    // JavaCC only skips a line comment that ends a line; otherwise "-" is
                    // a token of its own and the grammar rejects what follows.
                    None => {
                        out.push((Token::Minus, column));
                        i += 1;
                    }
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let rest = &chars[i + 2..];
                match rest.windows(2).position(|w| w == ['*', '/']) {
                    Some(end) => i += 2 + end + 2,
                    None => return Err(ParseError::lexical("unterminated comment", column)),
                }
            }
            '\'' => {
                let mut s = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                            s.push('\'');
                            j += 2;
                        }
                        Some('\'') => break,
                        Some(ch) => {
                            s.push(*ch);
                            j += 1;
                        }
                        None => {
                            return Err(ParseError::lexical("unterminated string", column));
                        }
                    }
                }
                out.push((Token::Str(s), column));
                i = j + 1;
            }
            '0'..='9' | '.' => {
                let (token, len) = number(&chars[i..]).ok_or_else(|| {
                    ParseError::lexical(format!("unexpected character '{c}'"), column)
                })?;
                out.push((token, column));
                i += len;
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == '$' => {
                let len = chars[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_' || **c == '$')
                    .count();
                let word: String = chars[i..i + len].iter().collect();
                out.push((keyword(&word).unwrap_or(Token::Id(word)), column));
                i += len;
            }
            _ => {
                let (token, len) = match (c, chars.get(i + 1)) {
                    ('<', Some('>')) => (Token::Ne, 2),
                    ('<', Some('=')) => (Token::Le, 2),
                    ('>', Some('=')) => (Token::Ge, 2),
                    ('<', _) => (Token::Lt, 1),
                    ('>', _) => (Token::Gt, 1),
                    ('=', _) => (Token::Eq, 1),
                    ('(', _) => (Token::LParen, 1),
                    (')', _) => (Token::RParen, 1),
                    (',', _) => (Token::Comma, 1),
                    ('+', _) => (Token::Plus, 1),
                    ('-', _) => (Token::Minus, 1),
                    _ => {
                        return Err(ParseError::lexical(
                            format!("unexpected character '{}'", c.escape_debug()),
                            column,
                        ))
                    }
                };
                out.push((token, column));
                i += len;
            }
        }
    }
    out.push((Token::Eof, chars.len() + 1));
    Ok(out)
}

fn digits(s: &[char]) -> usize {
    s.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// Length of an exponent (`E`, optional sign, digits) at the start of `s`, or 0.
fn exponent(s: &[char]) -> usize {
    if !matches!(s.first(), Some('e' | 'E')) {
        return 0;
    }
    let sign = usize::from(matches!(s.get(1), Some('+' | '-')));
    match digits(&s[1 + sign..]) {
        0 => 0,
        n => 1 + sign + n,
    }
}

/// The longest numeric token at the start of `s`: a decimal (`0`, or digits not starting
/// with 0, with an optional `L`) or a float (`5.`, `5.5`, `.5`, `5E10`, with exponents).
fn number(s: &[char]) -> Option<(Token, usize)> {
    let int_len = digits(s);
    let float_len = if s.get(int_len) == Some(&'.') {
        let frac = digits(&s[int_len + 1..]);
        if int_len == 0 && frac == 0 {
            0
        } else {
            let end = int_len + 1 + frac;
            end + exponent(&s[end..])
        }
    } else if int_len > 0 {
        match exponent(&s[int_len..]) {
            0 => 0,
            e => int_len + e,
        }
    } else {
        0
    };
    let (dec_digits, dec_len) = match s.first() {
        Some('0') => (1, 1),
        Some(_) if int_len > 0 => {
            let suffix = usize::from(matches!(s.get(int_len), Some('l' | 'L')));
            (int_len, int_len + suffix)
        }
        _ => (0, 0),
    };
    if float_len > dec_len {
        Some((Token::Float(s[..float_len].iter().collect()), float_len))
    } else if dec_len > 0 {
        Some((Token::Decimal(s[..dec_digits].iter().collect()), dec_len))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Token> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|(t, _)| t)
            .collect()
    }

    #[test]
    fn keywords_are_case_insensitive_and_longer_words_are_identifiers() {
        assert_eq!(
            kinds("a aNd b ANDx"),
            [
                Token::Id("a".into()),
                Token::And,
                Token::Id("b".into()),
                Token::Id("ANDx".into()),
                Token::Eof
            ]
        );
    }

    #[test]
    fn numbers_take_the_longest_match() {
        assert_eq!(kinds("10L")[0], Token::Decimal("10".into()));
        assert_eq!(kinds("5.")[0], Token::Float("5.".into()));
        assert_eq!(kinds(".5e-3")[0], Token::Float(".5e-3".into()));
        assert_eq!(kinds("3E10")[0], Token::Float("3E10".into()));
        assert_eq!(kinds("007.5")[0], Token::Float("007.5".into()));
        // "007" has no float reading, and a decimal may not start with 0 unless it is 0.
        assert_eq!(
            kinds("007")[..3],
            [
                Token::Decimal("0".into()),
                Token::Decimal("0".into()),
                Token::Decimal("7".into())
            ]
        );
        // "1e" is the number 1 and then the identifier e.
        assert_eq!(
            kinds("1e")[..2],
            [Token::Decimal("1".into()), Token::Id("e".into())]
        );
    }

    #[test]
    fn strings_unescape_doubled_quotes() {
        assert_eq!(kinds("'it''s'")[0], Token::Str("it's".into()));
        assert_eq!(kinds("''")[0], Token::Str(String::new()));
    }

    #[test]
    fn comments_are_skipped_but_a_line_comment_needs_its_line_end() {
        assert_eq!(kinds("a /* x */ = -- y\n 1").len(), 4);
        assert_eq!(kinds("a -- y")[1..3], [Token::Minus, Token::Minus]);
    }

    #[test]
    fn lexical_errors_carry_the_column() {
        let e = tokenize("a = 'x").unwrap_err();
        assert_eq!(e.column(), 5);
        let e = tokenize("a # 1").unwrap_err();
        assert_eq!(e.column(), 3);
        assert!(tokenize("a = 1 /* open").is_err());
        assert!(tokenize(".").is_err());
    }
}
