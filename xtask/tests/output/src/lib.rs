//! The generated code of the fixture specs in `xtask/tests/fixtures`, as
//! `cargo xtask codegen` writes it: the golden outputs the generator is
//! checked against (`cargo xtask codegen --check`), compiled as a crate of
//! the workspace so that every path of the generator is type-checked.

/// `xtask/tests/fixtures/minimal.json`.
#[allow(dead_code)] // the whole output of a fixture, which nothing calls
mod minimal_generated;

/// `xtask/tests/fixtures/widgets.json`.
#[allow(dead_code)] // the whole output of a fixture, which nothing calls
mod widgets_generated;
