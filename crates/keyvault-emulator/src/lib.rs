//! A local emulator of Azure Key Vault and Managed HSM.
//!
//! This crate is being built: the server arrives with the emulator work.
