pub mod dataset;
pub mod extract;
