pub mod dataset;
pub mod extract;
pub mod detect;
pub mod evaluate;
pub mod train;
