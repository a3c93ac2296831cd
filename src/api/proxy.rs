//! Requests that come through reverse proxies: who the client is, and which origin it asked
//! for. Only a peer in `--trusted-proxies` is believed; from anyone else the forwarding
//! headers are removed before any handler sees them, so that they cannot be forged.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, header};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use super::AppState;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// The client's address as the service believes it: the peer's, or the one a trusted proxy
/// forwarded. Set on every request by [`resolve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .unwrap_or(ClientIp(IpAddr::from([0, 0, 0, 0]))))
    }
}

/// Middleware: works out the client's address, and drops forwarding headers that no trusted
/// proxy vouches for.
pub async fn resolve(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let trusted = &state.config.trusted_proxies;
    let client = match peer {
        Some(peer) if is_trusted(trusted, peer) => {
            forwarded_client(request.headers(), trusted).unwrap_or(peer)
        }
        other => {
            let headers = request.headers_mut();
            for name in [
                header::FORWARDED,
                X_FORWARDED_FOR,
                X_FORWARDED_PROTO,
                X_FORWARDED_HOST,
            ] {
                headers.remove(name);
            }
            other.unwrap_or(IpAddr::from([0, 0, 0, 0]))
        }
    };
    request.extensions_mut().insert(ClientIp(client));
    next.run(request).await
}

fn is_trusted(trusted: &[IpNet], address: IpAddr) -> bool {
    let address = address.to_canonical();
    trusted.iter().any(|net| net.contains(&address))
}

/// The client behind a chain of proxies: walking the forwarded addresses from the nearest
/// hop back, the first that is not a trusted proxy. `None` if the chain is missing or holds
/// something that is not an address (an obfuscated or `unknown` hop).
fn forwarded_client(headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let chain: Vec<String> = if headers.contains_key(header::FORWARDED) {
        forwarded_elements(headers)
            .filter_map(|element| parameter(&element, "for"))
            .collect()
    } else {
        headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|hop| hop.trim().to_string())
            .collect()
    };
    let mut client = None;
    for hop in chain.iter().rev() {
        let address = parse_node(hop)?;
        client = Some(address);
        if !is_trusted(trusted, address) {
            break;
        }
    }
    client
}

/// The elements of every `Forwarded` header (RFC 7239), nearest proxy last.
fn forwarded_elements(headers: &HeaderMap) -> impl Iterator<Item = String> + '_ {
    headers
        .get_all(header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|element| element.trim().to_string())
}

/// The value of `name` in one `Forwarded` element (`for=192.0.2.1;proto=https`), unquoted.
fn parameter(element: &str, name: &str) -> Option<String> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

/// An address from `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1` or `[2001:db8::1]:443`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(address) = node.parse::<IpAddr>() {
        return Some(address.to_canonical());
    }
    if let Ok(socket) = node.parse::<SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    let bracketed = node.strip_prefix('[')?.split(']').next()?;
    bracketed.parse::<IpAddr>().ok()
}

/// The scheme and host the client asked for, as the (trusted) proxy forwarded them.
pub fn forwarded_origin(headers: &HeaderMap) -> (Option<String>, Option<String>) {
    let first = forwarded_elements(headers).next();
    let from_forwarded = |name| first.as_deref().and_then(|e| parameter(e, name));
    let from_header = |name: &HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_string())
    };
    let proto = from_forwarded("proto")
        .or_else(|| from_header(&X_FORWARDED_PROTO))
        .filter(|p| p.eq_ignore_ascii_case("http") || p.eq_ignore_ascii_case("https"))
        .map(|p| p.to_ascii_lowercase());
    let host = from_forwarded("host").or_else(|| from_header(&X_FORWARDED_HOST));
    (proto, host)
}

/// The key a client's submissions are counted under: its address, or for IPv6 its /64
/// (one subscriber usually holds a whole /64, and could otherwise rotate addresses).
pub fn rate_key(address: IpAddr) -> String {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            format!(
                "{:x}:{:x}:{:x}:{:x}::/64",
                segments[0], segments[1], segments[2], segments[3]
            )
        }
        v4 => v4.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn the_client_is_the_first_untrusted_hop_from_the_right() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let forwarded = |pairs| forwarded_client(&headers(pairs), &trusted);
        assert_eq!(
            forwarded(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.0.0.2")]),
            Some("203.0.113.9".parse().unwrap()),
            "a forged first entry is ignored"
        );
        assert_eq!(
            forwarded(&[
                ("x-forwarded-for", "10.0.0.3"),
                ("x-forwarded-for", "10.0.0.2")
            ]),
            Some("10.0.0.3".parse().unwrap())
        );
        assert_eq!(
            forwarded(&[(
                "forwarded",
                "for=192.0.2.60;proto=https, for=\"[2001:db8::7]:4711\""
            )]),
            Some("2001:db8::7".parse().unwrap())
        );
        assert_eq!(forwarded(&[("forwarded", "for=unknown")]), None);
        assert_eq!(forwarded(&[]), None);
        assert!(is_trusted(&trusted, "::ffff:10.1.2.3".parse().unwrap()));
    }

    #[test]
    fn origins_and_rate_keys() {
        let (proto, host) = forwarded_origin(&headers(&[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "maps.example.eu"),
        ]));
        assert_eq!(proto.as_deref(), Some("https"));
        assert_eq!(host.as_deref(), Some("maps.example.eu"));
        let (proto, _) = forwarded_origin(&headers(&[("forwarded", "proto=javascript")]));
        assert_eq!(proto, None);
        assert_eq!(
            rate_key("2001:db8:1:2:aaaa::1".parse().unwrap()),
            "2001:db8:1:2::/64"
        );
        assert_eq!(rate_key("192.0.2.1".parse().unwrap()), "192.0.2.1");
    }
}
