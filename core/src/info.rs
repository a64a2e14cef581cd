//! Info metrics: a constant `1` carrying descriptive labels (`build_info{version="1.2"} 1`).

use crate::error::{Error, Result};
use crate::fmt::escape_label_value;
use crate::metric::{ChildMeta, Metric, MetricType, PointValue, SeriesWriter};
use crate::opts::Opts;
use crate::validate;
use arc_swap::ArcSwap;
use std::sync::Arc;

#[derive(Debug)]
pub struct InfoConfig {
    /// The family's own label names, which info labels may not reuse.
    family_labels: Vec<String>,
}

#[derive(Debug, Default)]
struct InfoData {
    labels: Vec<(String, String)>,
    rendered: String,
}

#[derive(Debug)]
pub(crate) struct InfoCore {
    data: ArcSwap<InfoData>,
    family_labels: Vec<String>,
    meta: ChildMeta,
}

/// A handle to one info child.
#[derive(Debug, Clone)]
pub struct Info(Arc<InfoCore>);

impl Info {
    /// An info metric outside any registry, without labels until [`set`](Self::set).
    pub fn standalone() -> Self {
        Self::new_child(
            &InfoConfig {
                family_labels: Vec::new(),
            },
            ChildMeta::default(),
        )
    }

    /// Replaces the info labels. Names must be valid, unique, and not the family's labels.
    pub fn set<K: AsRef<str>, V: AsRef<str>>(&self, labels: &[(K, V)]) -> Result<()> {
        validate::label_names(labels.iter().map(|(k, _)| k.as_ref()), &[])?;
        let mut rendered = String::new();
        for (i, (k, v)) in labels.iter().enumerate() {
            let k = k.as_ref();
            if self.0.family_labels.iter().any(|f| f == k) {
                return Err(Error::DuplicateLabelName(k.to_owned()));
            }
            if i > 0 {
                rendered.push(',');
            }
            rendered.push_str(k);
            rendered.push_str("=\"");
            escape_label_value(&mut rendered, v.as_ref());
            rendered.push('"');
        }
        let labels = labels
            .iter()
            .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()));
        self.0.data.store(Arc::new(InfoData {
            labels: labels.collect(),
            rendered,
        }));
        Ok(())
    }

    /// The info labels, as last set.
    pub fn get(&self) -> Vec<(String, String)> {
        self.0.data.load().labels.clone()
    }
}

impl Metric for Info {
    fn into_raw(self) -> *const () {
        Arc::into_raw(self.0) as *const ()
    }

    unsafe fn from_raw(p: *const ()) -> Self {
        // SAFETY: the caller's contract: `p` is from `into_raw`, its reference not taken back.
        Info(unsafe { Arc::from_raw(p as *const InfoCore) })
    }

    fn as_raw(&self) -> *const () {
        Arc::as_ptr(&self.0) as *const ()
    }

    const TYPE: MetricType = MetricType::Info;
    type Config = InfoConfig;

    fn config(opts: &Opts) -> Result<InfoConfig> {
        if opts.buckets.is_some() || !opts.states.is_empty() {
            return Err(Error::InvalidOption(
                "info metrics take no buckets or states".into(),
            ));
        }
        Ok(InfoConfig {
            family_labels: opts.label_names.clone(),
        })
    }

    fn reserved_labels(_: &InfoConfig, _: &str) -> Vec<String> {
        Vec::new()
    }

    fn new_child(config: &InfoConfig, meta: ChildMeta) -> Self {
        Info(Arc::new(InfoCore {
            data: ArcSwap::from_pointee(InfoData::default()),
            family_labels: config.family_labels.clone(),
            meta,
        }))
    }

    fn meta(&self) -> &ChildMeta {
        &self.0.meta
    }

    fn encode(&self, _: &InfoConfig, w: &mut SeriesWriter<'_>) {
        let data = self.0.data.load();
        w.start_with("_info", None, &data.rendered);
        w.out.push(b'1');
        w.end();
    }

    fn point(&self, _: &InfoConfig) -> PointValue {
        PointValue::Info(self.get())
    }

    fn fingerprint(&self) -> u64 {
        Arc::as_ptr(&self.0.data.load_full()) as u64
    }
}
