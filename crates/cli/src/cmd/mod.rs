pub mod dataset;
pub mod detect;
pub mod evaluate;
pub mod extract;
pub mod serve;
pub mod testbed;
pub mod train;
