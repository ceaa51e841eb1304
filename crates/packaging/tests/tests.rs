//! Integration tests of flick-packaging on real files made with ffmpeg: one binary, modules below.

mod common;
mod fuzz;
mod remux;
mod scan;
