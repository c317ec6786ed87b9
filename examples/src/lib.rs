//! Shared helpers for the keyvault-rs examples.
