//! A minimal streaming pcap writer (microsecond timestamps) for the per-scenario captures.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

pub struct PcapWriter {
    out: BufWriter<File>,
}

impl PcapWriter {
    pub fn create(path: &Path, linktype: u32) -> io::Result<PcapWriter> {
        let mut out = BufWriter::with_capacity(1 << 16, File::create(path)?);
        out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?; // thiszone
        out.write_all(&0u32.to_le_bytes())?; // sigfigs
        out.write_all(&262_144u32.to_le_bytes())?; // snaplen
        out.write_all(&linktype.to_le_bytes())?;
        Ok(PcapWriter { out })
    }

    pub fn frame(&mut self, ts_us: i64, data: &[u8], orig_len: u32) -> io::Result<()> {
        let secs = ts_us.div_euclid(1_000_000) as u32;
        let micros = ts_us.rem_euclid(1_000_000) as u32;
        self.out.write_all(&secs.to_le_bytes())?;
        self.out.write_all(&micros.to_le_bytes())?;
        self.out.write_all(&(data.len() as u32).to_le_bytes())?;
        self.out
            .write_all(&orig_len.max(data.len() as u32).to_le_bytes())?;
        self.out.write_all(data)
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}
