//! Placeholder; the pipeline benchmark comes next.

fn main() {}
