//! Grammar and evaluation cases rewritten from RocketMQ's `ParserTest` and
//! `ExpressionTest` (filter/src/test), plus the Java quirks this module keeps, and a
//! property test that printing a tree and parsing it back gives the same tree.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn eval(sql: &str, pairs: &[(&str, &str)]) -> bool {
    parse(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .matches(&props(pairs))
}

#[test]
fn rocketmq_parser_test_valid_selectors_parse() {
    for sql in [
        "a=3 and b<>4 And c>5 AND d<=4",
        "a=3 or b<>4 Or c>5 OR d<=4",
        "a in ('3', '4', '5')",
        "(a not in ('6', '4', '5')) or (b in ('3', '4', '5'))",
        "(a between 2 and 10) AND (b not between 6 and 9)",
        "a is null",
        "a is not null",
        "a <= now",
        "a=3 and b contains 'xxx' and c not contains 'xxx'",
        "TAGS is not null and TAGS='''''tag'''''",
        "a=TRUE OR b=FALSE",
        "a > 3.1E10",
        "a > .5 and b < 5. and c >= 10L",
        "NOT (a = 1)",
        "-- a comment\n a = 1 /* another */",
    ] {
        assert!(parse(sql).is_ok(), "{sql}: {:?}", parse(sql));
    }
}

#[test]
fn rocketmq_parser_test_invalid_selectors_are_refused() {
    let long_float = format!("a > 1{}.{}", "1".repeat(2048 * 51), "1".repeat(2048 * 51));
    for sql in [
        "a and between 2 and 10",
        "a > 100000000000000000000000",
        long_float.as_str(),
        " a between 10 and 0",
        "a contains x",
        "a not contains 123",
        "'axb' contains ",
        "",
        "a = ",
        "(a = 1",
        "a = 1)",
        "a = NULL",
        "'a' > 1",
        "a > TRUE",
        "a > 1 > 2",
        "TRUE = 1",
        "1",
        "'abc'",
        "NOT 5",
        "5 in ('a')",
        "a in (1, 2)",
        "a in ()",
        "a = 0.0",
        "a = 1e999",
        "a.b = 1",
        "a == 1",
        "a != 1",
        "a = 007",
        "a is 5",
        "a = 1 -- trailing comment without a line end",
        "a between 'x' and 'y'",
    ] {
        assert!(
            parse(sql).is_err(),
            "{sql:?} should be refused, got {:?}",
            parse(sql)
        );
    }
}

#[test]
fn equal_texts_parse_to_equal_trees() {
    assert_eq!(
        parse("a=3 and b<>4 And c>5 AND d<=4"),
        parse("a=3  and    b<>4 And c>5 AND d<=4")
    );
    assert_ne!(
        parse("a=3 and b<>4 And c>5 AND d<=4"),
        parse("a=3 or b<>4 Or c>5 OR d<=4")
    );
}

#[test]
fn errors_say_where() {
    let e = parse("a = 1 and and b = 2").unwrap_err();
    assert!(matches!(e, ParseError::Syntax { column: 11, .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "Invalid MessageSelector: unexpected 'AND' at column 11"
    );
    let e = parse("a between 10 and 0").unwrap_err();
    assert!(matches!(e, ParseError::Semantic { column: 3, .. }), "{e:?}");
    let e = parse("a = 'open").unwrap_err();
    assert!(matches!(e, ParseError::Lexical { column: 5, .. }), "{e:?}");
    assert!(matches!(
        compile("CLASS", "a = 1"),
        Err(ParseError::UnsupportedType(_))
    ));
}

#[test]
fn hostile_nesting_is_refused_not_a_stack_overflow() {
    let deep = format!("{}a = 1{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(parse(&deep).is_err());
    let nots = format!("{}a", "NOT ".repeat(100_000));
    assert!(parse(&nots).is_err());
    let chain = vec!["a = 1"; 100_000].join(" AND ");
    assert!(parse(&chain).is_err());
    let equalities = format!("a{}", " = TRUE".repeat(500));
    assert!(parse(&equalities).is_err());
    // A long chain of ORs is a list, not a deep tree.
    let wide = vec!["a = 2"; 400].join(" OR ");
    assert!(!eval(&wide, &[("a", "1")]));
    assert!(eval(&format!("{wide} OR a = 1"), &[("a", "1")]));
}

#[test]
fn rocketmq_expression_test_and_or() {
    let and = "a=3 and b<>4 And c>5 AND d<=4";
    assert!(eval(and, &[("a", "3"), ("b", "5"), ("c", "6"), ("d", "1")]));
    assert!(!eval(
        and,
        &[("a", "4"), ("b", "5"), ("c", "6"), ("d", "1")]
    ));
    assert!(!eval(and, &[("a", "3"), ("b", "5"), ("c", "6")]));
    let or = "a=3 or b<>4 Or c>5 OR d<=4";
    assert!(eval(or, &[("a", "3"), ("b", "4"), ("c", "1"), ("d", "9")]));
    assert!(eval(or, &[("d", "4")]));
    assert!(!eval(or, &[("a", "4"), ("b", "4"), ("c", "5"), ("d", "5")]));
}

#[test]
fn rocketmq_expression_test_in_between_null() {
    assert!(eval("a in ('3', '4', '5')", &[("a", "3")]));
    assert!(!eval("a in ('3', '4', '5')", &[("a", "6")]));
    assert!(!eval("a in ('3', '4', '5')", &[]));
    assert!(eval("a not in ('3', '4', '5')", &[("a", "6")]));
    assert!(!eval("a not in ('3', '4', '5')", &[]));
    assert!(eval("a between 2 and 10", &[("a", "2")]));
    assert!(eval("a between 2 and 10", &[("a", "10")]));
    assert!(!eval("a between 2 and 10", &[("a", "11")]));
    assert!(!eval("a between 2 and 10", &[]));
    assert!(eval("a not between 2 and 10", &[("a", "1")]));
    assert!(!eval("a not between 2 and 10", &[("a", "5")]));
    assert!(!eval("a not between 2 and 10", &[]));
    assert!(eval("a is null", &[]));
    assert!(!eval("a is null", &[("a", "x")]));
    assert!(eval("a is not null", &[("a", "x")]));
    assert!(eval("a is not null and a='hello'", &[("a", "hello")]));
    assert!(!eval("a is not null and a='hello'", &[]));
    let null_or = "a is null OR a='hello'";
    assert!(eval(null_or, &[]));
    assert!(eval(null_or, &[("a", "hello")]));
    assert!(!eval(null_or, &[("a", "abc")]));
}

#[test]
fn rocketmq_expression_test_strings_numbers_booleans() {
    assert!(eval(
        "TAGS is not null and TAGS='''''tag'''''",
        &[("TAGS", "''tag''")]
    ));
    assert!(eval("a=TRUE OR b=FALSE", &[("a", "true"), ("b", "false")]));
    assert!(!eval("a=TRUE OR b=FALSE", &[("a", "false"), ("b", "true")]));
    assert!(eval("a > 3.1E10", &[("a", "3.1415E10")]));
    assert!(eval("a > 3.14", &[("a", "3.1415")]));
    assert!(!eval("a > b", &[("a", "10"), ("b", "20")]));
    assert!(eval("a > b", &[("a", "20"), ("b", "10")]));
    // Strings ordered by '>' and friends must both read as doubles, or nothing matches.
    assert!(!eval("a between up and low", &[("a", "3.14")]));
    assert!(!eval(
        "a between up and low",
        &[("a", "3.14"), ("up", "up"), ("low", "low")]
    ));
    assert!(!eval(
        "key is not null and key between 0 and 100",
        &[("key", "con")]
    ));
    assert!(!eval("a between 0 and 100", &[("a", "abc")]));
    assert!(eval("a=b", &[("a", "3.14"), ("b", "3.14")]));
    assert!(!eval("a<>b", &[("a", "3.14"), ("b", "3.14")]));
    assert!(eval("a<>b", &[("a", "3.14"), ("b", "3.141")]));
    assert!(eval(
        "a not in ('4', '4', '5') and b between 3 and 10 and c not contains 'axbc'",
        &[("a", "3"), ("b", "3"), ("c", "axbdc")]
    ));
}

#[test]
fn rocketmq_expression_test_contains_startswith_endswith() {
    let axb = [("value", "axb")];
    assert!(eval("value contains 'x'", &axb));
    assert!(eval("value startswith 'ax'", &axb));
    assert!(eval("value endswith 'xb'", &axb));
    assert!(!eval("value not contains 'x'", &axb));
    assert!(!eval("value not startswith 'ax'", &axb));
    assert!(!eval("value not endswith 'xb'", &axb));
    assert!(eval("value not contains 'u'", &axb));
    // An empty pattern, or a missing value, is FALSE with and without NOT.
    for sql in [
        "value contains ''",
        "value not contains ''",
        "value startswith ''",
        "value not endswith ''",
    ] {
        assert!(!eval(sql, &axb), "{sql}");
    }
    for sql in [
        "value contains 'x'",
        "value not contains 'x'",
        "value not startswith 'x'",
    ] {
        assert!(!eval(sql, &[]), "{sql}");
    }
    assert!(eval("'axb' contains 'x'", &[]));
    assert!(eval("' ' endswith ' '", &[]));
    assert!(!eval("'axb' contains '.'", &[]));
    assert!(!eval("'s' contains '\\'", &[]));
    // NOT around a FALSE from a missing value is TRUE: the two spellings differ.
    assert!(eval("NOT (value contains 'x')", &[]));
}

#[test]
fn java_conversion_quirks_are_kept() {
    // `3` is a Java int: the property must parse as an int, so '4.5' is no match...
    assert!(!eval("a > 3", &[("a", "4.5")]));
    // ...while against a double literal it parses as a double.
    assert!(eval("a > 3.0", &[("a", "4.5")]));
    // A literal above 2^31-1 is a long, and the property parses as a long.
    assert!(eval("a > 3000000000", &[("a", "3000000001")]));
    assert!(!eval("a > 3", &[("a", "3000000001")]));
    assert!(eval("a = -5", &[("a", "-5")]));
    assert!(eval("a between -5 and 5", &[("a", "0")]));
    // A property standing as a condition is a boolean cast: present is FALSE.
    assert!(!eval("a", &[("a", "true")]));
    assert!(eval("NOT a", &[("a", "true")]));
    assert!(!eval("NOT a", &[]));
    // NOT binds tighter than '=': this is (NOT a) = 1, which is never true.
    assert!(!eval("NOT a = 1", &[("a", "2")]));
    assert!(eval("NOT (a = 1)", &[("a", "2")]));
    // A missing property under <> is NULL, not TRUE.
    assert!(!eval("a <> 1", &[]));
    // An evaluation error under OR stops the whole selector, as Java's exception does.
    assert!(!eval("a > 1 OR b = 'x'", &[("a", "zz"), ("b", "x")]));
    assert!(eval("b = 'x' OR a > 1", &[("a", "zz"), ("b", "x")]));
    assert!(eval("TRUE", &[]) && !eval("FALSE", &[]) && !eval("NULL", &[]));
}

/// Names that are not keywords.
fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_$][a-zA-Z0-9_$]{0,5}".prop_filter("not a keyword", |s| {
        let up = s.to_ascii_uppercase();
        ![
            "NOT",
            "AND",
            "OR",
            "BETWEEN",
            "IN",
            "TRUE",
            "FALSE",
            "NULL",
            "IS",
            "CONTAINS",
            "STARTSWITH",
            "ENDSWITH",
        ]
        .contains(&up.as_str())
    })
}

fn number() -> impl Strategy<Value = Expr> {
    let long = (0i64..=i64::MAX).prop_map(|n| Expr::Literal(Literal::Long(n)));
    let double = (4.9e-324f64..f64::MAX).prop_map(|d| Expr::Literal(Literal::Double(d)));
    let signed = prop_oneof![long, double];
    (signed, any::<bool>()).prop_map(|(e, neg)| if neg { Expr::Neg(Box::new(e)) } else { e })
}

fn operand() -> impl Strategy<Value = Expr> {
    prop_oneof![ident().prop_map(Expr::Property), number()]
}

fn text() -> impl Strategy<Value = String> {
    "[a-z' %\\-]{0,6}"
}

/// Conditions the parser accepts, built from every node kind.
fn condition() -> impl Strategy<Value = Expr> {
    let compare_op = prop_oneof![
        Just(CompareOp::Gt),
        Just(CompareOp::Ge),
        Just(CompareOp::Lt),
        Just(CompareOp::Le),
        Just(CompareOp::Eq),
        Just(CompareOp::Ne),
    ];
    let string_op = prop_oneof![
        Just(StringOp::Contains),
        Just(StringOp::StartsWith),
        Just(StringOp::EndsWith),
    ];
    let leaf = prop_oneof![
        (compare_op, operand(), operand()).prop_map(|(op, l, r)| Expr::Compare(
            op,
            Box::new(l),
            Box::new(r)
        )),
        (ident(), text()).prop_map(|(p, s)| Expr::Compare(
            CompareOp::Eq,
            Box::new(Expr::Property(p)),
            Box::new(Expr::Literal(Literal::Str(s)))
        )),
        (operand(), any::<bool>()).prop_map(|(e, negated)| Expr::IsNull {
            expr: Box::new(e),
            negated
        }),
        (ident(), operand(), operand()).prop_map(|(p, low, high)| Expr::Between {
            expr: Box::new(Expr::Property(p)),
            low: Box::new(low),
            high: Box::new(high),
            negated: true,
        }),
        (ident(), 0i64..1000, 0i64..1000, any::<bool>()).prop_map(|(p, a, b, negated)| {
            Expr::Between {
                expr: Box::new(Expr::Property(p)),
                low: Box::new(Expr::Literal(Literal::Long(a.min(b)))),
                high: Box::new(Expr::Literal(Literal::Long(a.max(b)))),
                negated,
            }
        }),
        (ident(), prop::collection::vec(text(), 1..4), any::<bool>()).prop_map(
            |(property, values, negated)| Expr::In {
                property,
                values,
                negated
            }
        ),
        (string_op, ident(), text(), any::<bool>()).prop_map(|(op, p, pattern, negated)| {
            Expr::StringMatch {
                op,
                expr: Box::new(Expr::Property(p)),
                pattern,
                negated,
            }
        }),
        ident().prop_map(Expr::Property),
        prop_oneof![Just(true), Just(false)].prop_map(|b| Expr::Literal(Literal::Bool(b))),
        Just(Expr::Literal(Literal::Null)),
    ];
    leaf.prop_recursive(4, 32, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner, 2..4).prop_map(Expr::Or),
        ]
    })
}

proptest! {
    #[test]
    fn printed_selectors_parse_back_to_the_same_tree(e in condition()) {
        let text = e.to_string();
        prop_assert_eq!(parse(&text), Ok(e), "text: {}", text);
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(s in "\\PC{0,40}") {
        let _ = parse(&s);
    }
}
