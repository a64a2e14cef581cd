//! What a registry holds: collectors, which describe and produce metric families.

use crate::encode::Encoder;
use crate::metric::{MetricFamily, MetricType};

/// A family's static description.
#[derive(Debug, Clone)]
pub struct Desc {
    /// Base name: no `_total`/`_info` suffix.
    pub name: String,
    /// The `# HELP` text.
    pub help: String,
    /// The unit (`seconds`), which the name ends with.
    pub unit: Option<String>,
    /// The exposition type.
    pub kind: MetricType,
    /// The label names of its points, in order.
    pub label_names: Vec<String>,
    /// Labels with a fixed value on every sample.
    pub const_labels: Vec<(String, String)>,
}

impl Desc {
    /// Every name this family's output uses, for duplicate detection.
    pub(crate) fn sample_names(&self) -> Vec<String> {
        let suffixes: &[&str] = match self.kind {
            MetricType::Counter => &["_total", "_created"],
            MetricType::Histogram => &["_bucket", "_count", "_sum", "_created"],
            MetricType::Summary => &["_count", "_sum", "_created"],
            MetricType::Info => &["_info"],
            MetricType::GaugeHistogram => &["_bucket", "_gcount", "_gsum"],
            _ => &[],
        };
        std::iter::once(self.name.clone())
            .chain(suffixes.iter().map(|s| format!("{}{s}", self.name)))
            .collect()
    }
}

/// Something that produces families at scrape time: label families, the process collector,
/// or user callbacks.
pub trait Collector: Send + Sync + 'static {
    /// Identity used by [`Registry::unregister`](crate::Registry::unregister); families return
    /// their shared state's address.
    fn id(&self) -> usize {
        self as *const Self as *const () as usize
    }

    /// The families this collector will produce, for duplicate detection at registration.
    /// A collector that cannot say returns nothing and is not checked.
    fn descs(&self) -> Vec<Desc>;

    /// The families as owned data.
    fn collect(&self) -> Vec<MetricFamily>;

    /// Writes the families. The default encodes [`collect`](Self::collect)'s output.
    fn encode(&self, enc: &mut Encoder<'_>) {
        for f in self.collect() {
            enc.family(&f);
        }
    }

    /// `(family name, lookups folded into its overflow series)` for families that overflowed.
    fn overflowed(&self) -> Vec<(String, u64)> {
        Vec::new()
    }
}

/// A collector from a closure returning families (what custom collectors usually are).
pub struct FnCollector<F> {
    descs: Vec<Desc>,
    f: F,
}

impl<F: Fn() -> Vec<MetricFamily> + Send + Sync + 'static> FnCollector<F> {
    /// `descs` names what `f` produces (may be empty: then registration does not check it).
    pub fn new(descs: Vec<Desc>, f: F) -> Self {
        FnCollector { descs, f }
    }
}

impl<F: Fn() -> Vec<MetricFamily> + Send + Sync + 'static> Collector for FnCollector<F> {
    fn descs(&self) -> Vec<Desc> {
        self.descs.clone()
    }
    fn collect(&self) -> Vec<MetricFamily> {
        (self.f)()
    }
}
