//! Registries by id (0 is the process-wide global registry every thread's `register` shares),
//! and rendering on the libuv thread pool.

use crate::cells::{family, forget_global_name, forget_global_names, pairs};
use crate::errors::{Failure, Fallible, Kind};
use crate::Throw;
use footmetrics::{Format, Registry};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::{OnceLock, RwLock};

fn registries() -> &'static RwLock<Vec<Registry>> {
    static R: OnceLock<RwLock<Vec<Registry>>> = OnceLock::new();
    R.get_or_init(|| RwLock::new(vec![Registry::new()]))
}

pub(crate) fn registry(id: u32) -> Fallible<Registry> {
    registries()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(id as usize)
        .cloned()
        .ok_or_else(|| no_registry(id))
}

fn no_registry(id: u32) -> Failure {
    Failure::new(Kind::Internal, format!("no registry {id}"))
}

#[napi(catch_unwind)]
pub fn new_registry() -> u32 {
    let mut all = registries().write().unwrap_or_else(|e| e.into_inner());
    all.push(Registry::new());
    (all.len() - 1) as u32
}

/// Adds a family; adding one already there (another thread joined it) is not an error.
#[napi(catch_unwind)]
pub fn registry_add(env: &Env, registry_id: u32, family_id: u32) -> Result<()> {
    let add = || -> Fallible<()> {
        let r = registry(registry_id)?;
        let f = family(family_id)?;
        if registry_id == 0 {
            crate::cells::claim_global_name(f.name(), family_id);
        }
        match r.register_arc(f) {
            Ok(()) | Err(footmetrics::Error::AlreadyRegistered(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    };
    add().throw(env)
}

#[napi(catch_unwind)]
pub fn registry_remove(env: &Env, registry_id: u32, family_id: u32) -> Result<()> {
    let r = registry(registry_id).throw(env)?;
    let f = family(family_id).throw(env)?;
    let _ = r.unregister(&*f);
    if registry_id == 0 {
        forget_global_name(f.name(), family_id);
    }
    Ok(())
}

#[napi(catch_unwind)]
pub fn registry_clear(env: &Env, registry_id: u32) -> Result<()> {
    let mut all = registries().write().unwrap_or_else(|e| e.into_inner());
    let slot = all
        .get_mut(registry_id as usize)
        .ok_or_else(|| no_registry(registry_id))
        .throw(env)?;
    *slot = Registry::new();
    drop(all);
    if registry_id == 0 {
        forget_global_names();
    }
    Ok(())
}

pub struct Render {
    registry: Registry,
    format: Format,
    defaults: Vec<(String, String)>,
}

/// An exposition on its way to JavaScript: created as a Latin-1 string (a plain copy) when it
/// is ASCII, the usual case and much cheaper for V8 than decoding UTF-8 on the main thread.
pub struct Exposition(pub Vec<u8>);

impl TypeName for Exposition {
    fn type_name() -> &'static str {
        "string"
    }
    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl ToNapiValue for Exposition {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        let mut out = std::ptr::null_mut();
        let bytes = val.0;
        // SAFETY: `bytes` outlives the call; the length is exact.
        let status = unsafe {
            if bytes.is_ascii() {
                napi::sys::napi_create_string_latin1(
                    env,
                    bytes.as_ptr().cast(),
                    bytes.len() as isize,
                    &mut out,
                )
            } else {
                napi::sys::napi_create_string_utf8(
                    env,
                    bytes.as_ptr().cast(),
                    bytes.len() as isize,
                    &mut out,
                )
            }
        };
        if status != napi::sys::Status::napi_ok {
            let failure = Failure::new(Kind::Internal, "could not create the exposition string");
            return Err(failure.into_js(&Env::from_raw(env)));
        }
        Ok(out)
    }
}

impl Task for Render {
    type Output = Vec<u8>;
    type JsValue = Exposition;

    fn compute(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(1 << 16);
        self.registry
            .encode_with_defaults(self.format, &mut out, &self.defaults);
        Ok(out)
    }

    fn resolve(&mut self, _env: Env, out: Vec<u8>) -> Result<Exposition> {
        Ok(Exposition(out))
    }
}

/// Renders the registry on the thread pool; the Promise resolves to the exposition.
#[napi(catch_unwind, ts_return_type = "Promise<string>")]
pub fn render_registry(
    env: &Env,
    registry_id: u32,
    openmetrics: bool,
    default_labels: Vec<String>,
) -> Result<AsyncTask<Render>> {
    Ok(AsyncTask::new(Render {
        registry: registry(registry_id).throw(env)?,
        format: if openmetrics {
            Format::OpenMetrics
        } else {
            Format::Text
        },
        defaults: pairs(default_labels),
    }))
}

/// A protobuf exposition (delimited `io.prometheus.client.MetricFamily` messages) rendered on
/// the thread pool; the Promise resolves to a Buffer.
pub struct RenderProtobuf {
    registry: Registry,
    defaults: Vec<(String, String)>,
}

impl Task for RenderProtobuf {
    type Output = Vec<u8>;
    type JsValue = Buffer;

    fn compute(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(1 << 16);
        self.registry
            .encode_with_defaults(Format::Protobuf, &mut out, &self.defaults);
        Ok(out)
    }

    fn resolve(&mut self, _env: Env, out: Vec<u8>) -> Result<Buffer> {
        Ok(out.into())
    }
}

/// Renders the registry as protobuf on the thread pool (what Prometheus asks for to scrape
/// native histograms).
#[napi(catch_unwind, ts_return_type = "Promise<Buffer>")]
pub fn render_registry_protobuf(
    env: &Env,
    registry_id: u32,
    default_labels: Vec<String>,
) -> Result<AsyncTask<RenderProtobuf>> {
    Ok(AsyncTask::new(RenderProtobuf {
        registry: registry(registry_id).throw(env)?,
        defaults: pairs(default_labels),
    }))
}

/// Whether an Accept header prefers the protobuf exposition (the core's negotiation).
#[napi(catch_unwind)]
pub fn prefers_protobuf(accept: String) -> bool {
    Format::negotiate(Some(&accept)) == Format::Protobuf
}

/// The protobuf exposition's content type.
#[napi(catch_unwind)]
pub fn protobuf_content_type() -> String {
    Format::Protobuf.content_type().to_owned()
}

pub struct Push {
    registry: Registry,
    defaults: Vec<(String, String)>,
    gateway: String,
    method: footmetrics::push::PushMethod,
    job: String,
    grouping: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    timeout: std::time::Duration,
    options: footmetrics::push::ClientOptions,
    /// Why `compute` failed, for `reject` (on the JavaScript thread) to throw.
    failure: Option<Failure>,
}

impl Push {
    fn send(&self) -> Fallible<()> {
        use footmetrics::push::{group_url, send_with, PushError, PushMethod};
        let fail = |e: PushError| {
            let kind = match e {
                PushError::InvalidArgument(_) => Kind::InvalidArgument,
                PushError::Tls(_) => Kind::Tls,
                _ => Kind::Push,
            };
            Failure::new(kind, e.to_string())
        };
        let url = group_url(&self.gateway, &self.job, &self.grouping).map_err(fail)?;
        let mut body = Vec::new();
        let mut headers = self.headers.clone();
        if self.method != PushMethod::Delete {
            self.registry
                .encode_with_defaults(Format::Text, &mut body, &self.defaults);
            headers.push((
                "Content-Type".into(),
                Format::Text.content_type().to_owned(),
            ));
        }
        send_with(
            &url,
            self.method.http_method(),
            &headers,
            &body,
            self.timeout,
            &self.options,
        )
        .map_err(fail)
    }
}

impl Task for Push {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        self.send().map_err(|f| {
            let e = Error::from_reason(f.message.clone());
            self.failure = Some(f);
            e
        })
    }

    fn resolve(&mut self, _env: Env, _out: ()) -> Result<()> {
        Ok(())
    }

    fn reject(&mut self, env: Env, err: Error) -> Result<()> {
        let f = self
            .failure
            .take()
            .unwrap_or_else(|| Failure::new(Kind::Internal, err.reason));
        Err(f.into_js(&env))
    }
}

/// TLS and basic auth for the core's client from Node's `https` options: `auth`
/// (`user:password`) and `ca`, `cert`, `key` as PEM text.
pub(crate) fn client_options(
    auth: Option<String>,
    ca: Option<String>,
    cert: Option<String>,
    key: Option<String>,
) -> Fallible<footmetrics::push::ClientOptions> {
    use footmetrics::push::{ClientOptions, Pem};
    let basic_auth = match auth {
        None => None,
        Some(a) => match a.split_once(':') {
            Some((user, password)) => Some((user.to_owned(), password.to_owned())),
            None => {
                return Err(Failure::new(
                    Kind::InvalidArgument,
                    "options.auth must be \"user:password\"",
                ))
            }
        },
    };
    let pem = |v: Option<String>| v.map(|t| Pem::Inline(t.into_bytes()));
    Ok(ClientOptions {
        ca: pem(ca),
        client_cert: pem(cert),
        client_key: pem(key),
        basic_auth,
        ..Default::default()
    })
}

/// Pushes (`push`: PUT, `pushAdd`: POST) or deletes a group at a Pushgateway, on the thread
/// pool, through the core's client (`https://` with `ca`/`cert`/`key` PEM text, basic
/// `auth` as `user:password`).
#[allow(clippy::too_many_arguments)]
#[napi(catch_unwind, ts_return_type = "Promise<void>")]
pub fn push_registry(
    env: &Env,
    registry_id: u32,
    default_labels: Vec<String>,
    gateway: String,
    method: String,
    job: String,
    grouping: Vec<String>,
    headers: Vec<String>,
    timeout_ms: f64,
    auth: Option<String>,
    ca: Option<String>,
    cert: Option<String>,
    key: Option<String>,
) -> Result<AsyncTask<Push>> {
    use footmetrics::push::PushMethod;
    let method = match method.as_str() {
        "push" => PushMethod::Push,
        "pushAdd" => PushMethod::PushAdd,
        "delete" => PushMethod::Delete,
        m => {
            return Err(
                Failure::new(Kind::Internal, format!("unknown push method {m}")).into_js(env),
            )
        }
    };
    if !(timeout_ms > 0.0 && timeout_ms.is_finite()) {
        return Err(
            Failure::new(Kind::InvalidArgument, "timeout must be a positive number").into_js(env),
        );
    }
    Ok(AsyncTask::new(Push {
        registry: registry(registry_id).throw(env)?,
        defaults: pairs(default_labels),
        gateway,
        method,
        job,
        grouping: pairs(grouping),
        headers: pairs(headers),
        timeout: std::time::Duration::from_secs_f64(timeout_ms / 1000.0),
        options: client_options(auth, ca, cert, key).throw(env)?,
        failure: None,
    }))
}
