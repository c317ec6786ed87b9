//! Integration tests of `SecretClient`: every operation against the
//! in-process emulator, and request shapes against recorded traffic.

#![allow(clippy::print_stdout)]

mod blocking;
mod cache;
mod common;
mod crud;
mod errors;
mod host_names;
mod hostile;
mod lists;
mod logging;
mod models;
mod per_call;
mod pollers;
mod requests;
mod security;
mod seeded;
mod soak;
