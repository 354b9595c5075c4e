//! The flows of recent uploads, kept so the UI can page through them and have any one explained
//! when the analyst opens it (explanations are computed on demand, not for every attack flow up
//! front).
//!
//! Bounded: per upload the first `max_response_flows` flows plus as many attack flows after them
//! (an attack late in a big capture is still there to open), and only the last
//! [`UPLOADS_KEPT`] uploads. A stored flow is its response row and its feature vector in model
//! order (≈ 0.8 KB), so the default limits hold at most ≈ 65 MB.

use crate::ingest::FlowRow;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Uploads whose flows are kept.
pub const UPLOADS_KEPT: usize = 4;

/// One stored flow.
pub struct StoredFlow {
    pub row: FlowRow,
    /// Feature values in the model's order (NaN: missing).
    pub features: Vec<f64>,
}

/// One upload's flows, in capture order.
pub struct UploadFlows {
    pub id: String,
    pub flows: Vec<StoredFlow>,
    /// Flows of the capture not kept (beyond both limits).
    pub dropped: u64,
}

#[derive(Default)]
pub struct UploadStore {
    uploads: Mutex<VecDeque<Arc<UploadFlows>>>,
}

impl UploadStore {
    /// Keep an upload's flows (replacing an earlier upload of the same id), forgetting the oldest
    /// beyond [`UPLOADS_KEPT`].
    pub fn insert(&self, upload: UploadFlows) {
        let mut g = self.uploads.lock().unwrap_or_else(|p| p.into_inner());
        g.retain(|u| u.id != upload.id);
        g.push_back(Arc::new(upload));
        while g.len() > UPLOADS_KEPT {
            g.pop_front();
        }
    }

    pub fn get(&self, id: &str) -> Option<Arc<UploadFlows>> {
        let g = self.uploads.lock().unwrap_or_else(|p| p.into_inner());
        g.iter().find(|u| u.id == id).cloned()
    }
}

/// Collects the flows to keep while an upload is classified.
pub struct Keeper {
    /// Flows of any kind kept first.
    first: usize,
    /// Attack flows kept after those.
    attacks: usize,
    pub flows: Vec<StoredFlow>,
    pub dropped: u64,
}

impl Keeper {
    pub fn new(limit: usize) -> Keeper {
        Keeper {
            first: limit,
            attacks: limit,
            flows: Vec::new(),
            dropped: 0,
        }
    }

    /// Whether a flow is kept: one of the first `limit`, or an attack while room remains.
    pub fn wants(&self, is_attack: bool) -> bool {
        self.flows.len() < self.first || (is_attack && self.flows.len() < self.first + self.attacks)
    }

    pub fn keep(&mut self, flow: StoredFlow) {
        self.flows.push(flow);
    }
}
