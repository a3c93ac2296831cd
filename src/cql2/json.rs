//! The CQL2 JSON encoding (`filter-lang=cql2-json`): `{"op": ..., "args": [...]}` objects,
//! `{"property": ...}`, `{"date": ...}`, `{"timestamp": ...}`, `{"interval": [...]}`,
//! `{"bbox": [...]}` and GeoJSON geometries, each error naming its JSON pointer.

use serde_json::Value as Json;

use super::ast::{At, Comparison, Expr, Function, Operand, Value};
use super::geometry::{self, bbox};
use super::{CqlError, MAX_DEPTH};

/// Parses a whole CQL2 JSON expression.
pub fn parse(text: &str) -> Result<Expr, CqlError> {
    let json: Json = serde_json::from_str(text).map_err(|e| {
        CqlError::syntax(
            At::Pointer(String::new()),
            format!("not JSON: {e} (line {}, column {})", e.line(), e.column()),
        )
    })?;
    expression(&json, "", 0)
}

fn at(pointer: &str) -> At {
    At::Pointer(pointer.to_owned())
}

fn error(pointer: &str, message: impl Into<String>) -> CqlError {
    CqlError::syntax(at(pointer), message.into())
}

/// The `op` and `args` of an operation object, or `None` when `json` is not one.
fn operation<'a>(json: &'a Json, pointer: &str) -> Result<Option<(String, &'a [Json])>, CqlError> {
    let Some(object) = json.as_object() else {
        return Ok(None);
    };
    let Some(op) = object.get("op") else {
        return Ok(None);
    };
    let op = op
        .as_str()
        .ok_or_else(|| error(&format!("{pointer}/op"), "\"op\" must be a string"))?;
    let args = match object.get("args") {
        Some(Json::Array(args)) => args.as_slice(),
        Some(_) => {
            return Err(error(
                &format!("{pointer}/args"),
                "\"args\" must be an array",
            ));
        }
        None => &[],
    };
    if let Some(other) = object.keys().find(|k| *k != "op" && *k != "args") {
        return Err(error(pointer, format!("unexpected member \"{other}\"")));
    }
    Ok(Some((op.to_owned(), args)))
}

fn expression(json: &Json, pointer: &str, depth: usize) -> Result<Expr, CqlError> {
    if depth > MAX_DEPTH {
        return Err(error(
            pointer,
            format!("nested more than {MAX_DEPTH} levels deep"),
        ));
    }
    if let Json::Bool(b) = json {
        return Ok(Expr::Literal(*b));
    }
    let Some((op, args)) = operation(json, pointer)? else {
        return Err(error(
            pointer,
            "expected a boolean expression ({\"op\": ..., \"args\": [...]}, true or false)",
        ));
    };
    let arg = |i: usize| format!("{pointer}/args/{i}");
    let arity = |n: usize| -> Result<(), CqlError> {
        if args.len() == n {
            Ok(())
        } else {
            Err(error(
                pointer,
                format!("\"{op}\" takes {n} arguments, got {}", args.len()),
            ))
        }
    };
    let operand_at = |i: usize| operand(&args[i], &arg(i), depth + 1);
    let lower = op.to_ascii_lowercase();
    let comparison = match lower.as_str() {
        "=" => Some(Comparison::Eq),
        "<>" => Some(Comparison::Ne),
        "<" => Some(Comparison::Lt),
        "<=" => Some(Comparison::Le),
        ">" => Some(Comparison::Gt),
        ">=" => Some(Comparison::Ge),
        _ => None,
    };
    if let Some(c) = comparison {
        arity(2)?;
        return Ok(Expr::Compare(c, operand_at(0)?, operand_at(1)?));
    }
    Ok(match lower.as_str() {
        "and" | "or" => {
            if args.len() < 2 {
                return Err(error(
                    pointer,
                    format!("\"{op}\" takes at least 2 arguments"),
                ));
            }
            let parts = args
                .iter()
                .enumerate()
                .map(|(i, a)| expression(a, &arg(i), depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            if lower == "and" {
                Expr::And(parts)
            } else {
                Expr::Or(parts)
            }
        }
        "not" => {
            arity(1)?;
            Expr::Not(Box::new(expression(&args[0], &arg(0), depth + 1)?))
        }
        "like" => {
            arity(2)?;
            Expr::Like(operand_at(0)?, operand_at(1)?)
        }
        "between" => {
            arity(3)?;
            Expr::Between(operand_at(0)?, operand_at(1)?, operand_at(2)?)
        }
        "in" => {
            arity(2)?;
            let Value::Array(list) = operand_at(1)?.value else {
                return Err(error(
                    &arg(1),
                    "\"in\" takes an array as its second argument",
                ));
            };
            Expr::In(operand_at(0)?, list)
        }
        "isnull" => {
            arity(1)?;
            Expr::IsNull(operand_at(0)?)
        }
        _ => match Function::named(&op) {
            Some(function) => {
                arity(2)?;
                function.apply(operand_at(0)?, operand_at(1)?)
            }
            None => return Err(error(pointer, format!("unknown operator \"{op}\""))),
        },
    })
}

fn operand(json: &Json, pointer: &str, depth: usize) -> Result<Operand, CqlError> {
    if depth > MAX_DEPTH {
        return Err(error(
            pointer,
            format!("nested more than {MAX_DEPTH} levels deep"),
        ));
    }
    let value = match json {
        Json::String(s) => Value::Text(s.clone()),
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Number(
            n.as_f64()
                .filter(|v| v.is_finite())
                .ok_or_else(|| error(pointer, format!("{n} is not a finite number")))?,
        ),
        Json::Null => return Err(error(pointer, "null is not a value (use \"isNull\")")),
        Json::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| operand(item, &format!("{pointer}/{i}"), depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(object) => {
            if let Some((op, args)) = operation(json, pointer)? {
                let lower = op.to_ascii_lowercase();
                if (lower != "casei" && lower != "accenti") || args.len() != 1 {
                    return Err(error(
                        pointer,
                        format!("\"{op}\" is not a function of one value (casei or accenti)"),
                    ));
                }
                let inner = Box::new(operand(&args[0], &format!("{pointer}/args/0"), depth + 1)?);
                if lower == "casei" {
                    Value::Casei(inner)
                } else {
                    Value::Accenti(inner)
                }
            } else {
                single_member(object, json, pointer, depth)?
            }
        }
    };
    Ok(Operand {
        at: at(pointer),
        value,
    })
}

/// `{"property": ..}`, `{"date": ..}`, `{"timestamp": ..}`, `{"interval": [..]}`,
/// `{"bbox": [..]}` or a GeoJSON geometry.
fn single_member(
    object: &serde_json::Map<String, Json>,
    json: &Json,
    pointer: &str,
    depth: usize,
) -> Result<Value, CqlError> {
    let text = |key: &str| -> Result<String, CqlError> {
        object
            .get(key)
            .and_then(Json::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                error(
                    &format!("{pointer}/{key}"),
                    format!("\"{key}\" must be a string"),
                )
            })
    };
    if object.contains_key("type") && object.contains_key("coordinates")
        || object.get("type").and_then(Json::as_str) == Some("GeometryCollection")
    {
        let parsed: geojson::Geometry = serde_json::from_value(json.clone())
            .map_err(|e| error(pointer, format!("not a GeoJSON geometry: {e}")))?;
        let geometry = geo::Geometry::<f64>::try_from(parsed)
            .map_err(|e| error(pointer, format!("not a usable geometry: {e}")))?;
        geometry::check(&geometry).map_err(|m| error(pointer, m))?;
        return Ok(Value::Geometry(geometry));
    }
    if object.len() != 1 {
        return Err(error(
            pointer,
            "expected an object with one member (property, date, timestamp, interval or bbox) or a GeoJSON geometry",
        ));
    }
    Ok(match object.keys().next().map(String::as_str) {
        Some("property") => Value::Property(text("property")?),
        Some("date") => Value::Date(text("date")?),
        Some("timestamp") => Value::Timestamp(text("timestamp")?),
        Some("interval") => {
            let bounds = object["interval"]
                .as_array()
                .filter(|b| b.len() == 2)
                .ok_or_else(|| {
                    error(
                        &format!("{pointer}/interval"),
                        "\"interval\" must be an array of two bounds",
                    )
                })?;
            let bound = |i: usize| {
                let p = format!("{pointer}/interval/{i}");
                // A bare string bound is a date, a timestamp or "..".
                match &bounds[i] {
                    Json::String(s) => Ok(Operand {
                        at: at(&p),
                        value: Value::Text(s.clone()),
                    }),
                    other => operand(other, &p, depth + 1),
                }
            };
            Value::Interval(Box::new(bound(0)?), Box::new(bound(1)?))
        }
        Some("bbox") => {
            let p = format!("{pointer}/bbox");
            let numbers = object["bbox"]
                .as_array()
                .ok_or_else(|| error(&p, "\"bbox\" must be an array of numbers"))?
                .iter()
                .map(|n| {
                    n.as_f64()
                        .ok_or_else(|| error(&p, "\"bbox\" must be an array of numbers"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Value::Geometry(bbox(&numbers).map_err(|m| error(&p, m))?)
        }
        Some(other) => return Err(error(pointer, format!("unknown member \"{other}\""))),
        None => return Err(error(pointer, "an empty object is not a value")),
    })
}
