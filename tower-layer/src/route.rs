//! Route and method labels: the two request attributes that would explode cardinality if
//! recorded raw, folded here into bounded sets.

use http::{Extensions, HeaderMap, Method, Uri};
use std::fmt;
use std::sync::Arc;

/// The `route` value recorded for requests no route template matched (404s, scans).
pub const UNMATCHED_ROUTE: &str = "unmatched";
/// The `method` value recorded for methods outside the standard set.
pub const OTHER_METHOD: &str = "OTHER";

/// The parts of a request the layer's classifiers may look at.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub extensions: &'a Extensions,
}

impl<'a> RequestHead<'a> {
    pub fn of<B>(req: &'a http::Request<B>) -> Self {
        RequestHead {
            method: req.method(),
            uri: req.uri(),
            headers: req.headers(),
            extensions: req.extensions(),
        }
    }
}

/// A route label value: a template such as `/api/v1/matches/{id}`, never a raw path.
/// Cloning is free for static strings and one reference-count increment otherwise.
#[derive(Clone)]
pub struct Route(RouteRepr);

#[derive(Clone)]
enum RouteRepr {
    Static(&'static str),
    Shared(Arc<str>),
    #[cfg(feature = "axum")]
    Axum(axum::extract::MatchedPath),
}

impl Route {
    pub const fn from_static(route: &'static str) -> Self {
        Route(RouteRepr::Static(route))
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            RouteRepr::Static(s) => s,
            RouteRepr::Shared(s) => s,
            #[cfg(feature = "axum")]
            RouteRepr::Axum(m) => m.as_str(),
        }
    }

    #[cfg(feature = "axum")]
    pub(crate) fn from_matched_path(m: &axum::extract::MatchedPath) -> Self {
        Route(RouteRepr::Axum(m.clone()))
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<&'static str> for Route {
    fn from(s: &'static str) -> Self {
        Route::from_static(s)
    }
}

impl From<String> for Route {
    fn from(s: String) -> Self {
        Route(RouteRepr::Shared(s.into()))
    }
}

impl From<Arc<str>> for Route {
    fn from(s: Arc<str>) -> Self {
        Route(RouteRepr::Shared(s))
    }
}

/// Decides the `route` label of a request. `None` folds the request into
/// [`UNMATCHED_ROUTE`]. Implemented for closures taking a [`RequestHead`].
pub trait RouteClassifier: Send + Sync + 'static {
    fn route(&self, request: &RequestHead<'_>) -> Option<Route>;
}

impl<F> RouteClassifier for F
where
    F: Fn(&RequestHead<'_>) -> Option<Route> + Send + Sync + 'static,
{
    fn route(&self, request: &RequestHead<'_>) -> Option<Route> {
        self(request)
    }
}

/// Every request is unmatched: the safe default when nothing knows the routes.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRoutes;

impl RouteClassifier for NoRoutes {
    fn route(&self, _: &RequestHead<'_>) -> Option<Route> {
        None
    }
}

/// The route axum matched (`MatchedPath`), present when the layer is added with
/// `Router::layer` or `route_layer`. Fallback requests have none and fold into `unmatched`.
#[cfg(feature = "axum")]
#[derive(Debug, Clone, Copy, Default)]
pub struct MatchedPathRoutes;

#[cfg(feature = "axum")]
impl RouteClassifier for MatchedPathRoutes {
    fn route(&self, request: &RequestHead<'_>) -> Option<Route> {
        request
            .extensions
            .get::<axum::extract::MatchedPath>()
            .map(Route::from_matched_path)
    }
}

/// Matches request paths against route templates, for services whose router does not tell
/// (plain hyper, tonic). `{name}` (or `:name`) matches one segment, `{*name}` (or `*name`)
/// the rest of the path. When several templates match, the one with the most literal
/// segments wins, then the earliest.
#[derive(Debug, Clone)]
pub struct RouteTemplates {
    templates: Vec<Template>,
}

#[derive(Debug, Clone)]
struct Template {
    route: Arc<str>,
    segments: Vec<Segment>,
    literals: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Param,
    Rest,
}

/// A route template that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidTemplate(pub String);

impl fmt::Display for InvalidTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid route template {:?}: it must start with '/', and a catch-all must be last",
            self.0
        )
    }
}

impl std::error::Error for InvalidTemplate {}

impl RouteTemplates {
    pub fn new<I, S>(templates: I) -> Result<Self, InvalidTemplate>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out = Vec::new();
        for t in templates {
            let text: String = t.into();
            if !text.starts_with('/') {
                return Err(InvalidTemplate(text));
            }
            let mut segments = Vec::new();
            let parts: Vec<&str> = text[1..].split('/').collect();
            for (i, part) in parts.iter().enumerate() {
                let seg = if part.starts_with("{*") && part.ends_with('}') || part.starts_with('*')
                {
                    if i + 1 != parts.len() {
                        return Err(InvalidTemplate(text));
                    }
                    Segment::Rest
                } else if part.starts_with('{') && part.ends_with('}') || part.starts_with(':') {
                    Segment::Param
                } else {
                    Segment::Literal((*part).to_owned())
                };
                segments.push(seg);
            }
            let literals = segments
                .iter()
                .filter(|s| matches!(s, Segment::Literal(_)))
                .count();
            out.push(Template {
                route: text.into(),
                segments,
                literals,
            });
        }
        Ok(RouteTemplates { templates: out })
    }

    /// The template `path` matches, if any.
    pub fn matching(&self, path: &str) -> Option<&str> {
        self.find(path).map(|t| &*t.route)
    }

    fn find(&self, path: &str) -> Option<&Template> {
        let rest = path.strip_prefix('/')?;
        let mut best: Option<&Template> = None;
        for t in &self.templates {
            if t.matches(rest) && best.is_none_or(|b| t.literals > b.literals) {
                best = Some(t);
            }
        }
        best
    }
}

impl Template {
    fn matches(&self, path: &str) -> bool {
        let mut parts = path.split('/');
        for seg in &self.segments {
            match seg {
                Segment::Rest => return true,
                Segment::Literal(lit) => match parts.next() {
                    Some(p) if p == lit => {}
                    _ => return false,
                },
                Segment::Param => match parts.next() {
                    Some(p) if !p.is_empty() => {}
                    _ => return false,
                },
            }
        }
        parts.next().is_none()
    }
}

impl RouteClassifier for RouteTemplates {
    fn route(&self, request: &RequestHead<'_>) -> Option<Route> {
        self.find(request.uri.path())
            .map(|t| Route::from(t.route.clone()))
    }
}

/// The `method` label: the standard methods as themselves, anything else as [`OTHER_METHOD`]
/// (a client may send any token as a method).
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => OTHER_METHOD,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_segments_and_prefer_literals() {
        let t = RouteTemplates::new([
            "/api/v1/matches/{id}",
            "/api/v1/matches/live",
            "/static/{*file}",
            "/users/:id/videos",
        ])
        .unwrap();
        assert_eq!(
            t.matching("/api/v1/matches/42"),
            Some("/api/v1/matches/{id}")
        );
        assert_eq!(
            t.matching("/api/v1/matches/live"),
            Some("/api/v1/matches/live")
        );
        assert_eq!(t.matching("/api/v1/matches/"), None);
        assert_eq!(t.matching("/api/v1/matches/42/x"), None);
        assert_eq!(t.matching("/static/css/a.css"), Some("/static/{*file}"));
        assert_eq!(t.matching("/users/7/videos"), Some("/users/:id/videos"));
        assert_eq!(t.matching("/nope"), None);
        assert_eq!(t.matching("nope"), None);
    }

    #[test]
    fn bad_templates_are_errors() {
        assert!(RouteTemplates::new(["no-slash"]).is_err());
        assert!(RouteTemplates::new(["/a/{*rest}/b"]).is_err());
    }

    #[test]
    fn unusual_methods_fold() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(
            method_label(&Method::from_bytes(b"PROPFIND").unwrap()),
            OTHER_METHOD
        );
        assert_eq!(
            method_label(&Method::from_bytes(b"get").unwrap()),
            OTHER_METHOD
        );
    }
}
