//! Registries by id (0 is the process-wide global registry every thread's `register` shares),
//! and rendering on the libuv thread pool.

use crate::cells::{family, forget_global_name, forget_global_names, pairs};
use footmetrics::{Format, Registry};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::{OnceLock, RwLock};

fn registries() -> &'static RwLock<Vec<Registry>> {
    static R: OnceLock<RwLock<Vec<Registry>>> = OnceLock::new();
    R.get_or_init(|| RwLock::new(vec![Registry::new()]))
}

fn registry(id: u32) -> Result<Registry> {
    registries()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(id as usize)
        .cloned()
        .ok_or_else(|| Error::new(Status::InvalidArg, format!("no registry {id}")))
}

#[napi(catch_unwind)]
pub fn new_registry() -> u32 {
    let mut all = registries().write().unwrap_or_else(|e| e.into_inner());
    all.push(Registry::new());
    (all.len() - 1) as u32
}

/// Adds a family; adding one already there (another thread joined it) is not an error.
#[napi(catch_unwind)]
pub fn registry_add(registry_id: u32, family_id: u32) -> Result<()> {
    let r = registry(registry_id)?;
    match r.register_arc(family(family_id)?) {
        Ok(()) | Err(footmetrics::Error::AlreadyRegistered(_)) => Ok(()),
        Err(e) => Err(crate::core_err(e)),
    }
}

#[napi(catch_unwind)]
pub fn registry_remove(registry_id: u32, family_id: u32) -> Result<()> {
    let r = registry(registry_id)?;
    let f = family(family_id)?;
    let _ = r.unregister(&*f);
    if registry_id == 0 {
        forget_global_name(f.name(), family_id);
    }
    Ok(())
}

#[napi(catch_unwind)]
pub fn registry_clear(registry_id: u32) -> Result<()> {
    let r = registry(registry_id)?;
    let fresh = Registry::new();
    registries().write().unwrap_or_else(|e| e.into_inner())[registry_id as usize] = fresh;
    drop(r);
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
                napi::sys::napi_create_string_latin1(env, bytes.as_ptr().cast(), bytes.len() as isize, &mut out)
            } else {
                napi::sys::napi_create_string_utf8(env, bytes.as_ptr().cast(), bytes.len() as isize, &mut out)
            }
        };
        if status != napi::sys::Status::napi_ok {
            return Err(Error::from_reason("could not create the exposition string"));
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
    registry_id: u32,
    openmetrics: bool,
    default_labels: Vec<String>,
) -> Result<AsyncTask<Render>> {
    Ok(AsyncTask::new(Render {
        registry: registry(registry_id)?,
        format: if openmetrics {
            Format::OpenMetrics
        } else {
            Format::Text
        },
        defaults: pairs(default_labels),
    }))
}
