//! Runs the blocking examples against a fresh emulator each, from plain
//! threads: the emulator on a runtime of the test's, the clients on theirs.

use examples::{Service, Target};
use keyvault_testing::azurite::BlobStorage;

#[allow(dead_code)]
#[path = "../examples/blocking_administration.rs"]
mod blocking_administration;
#[allow(dead_code)]
#[path = "../examples/blocking_secrets.rs"]
mod blocking_secrets;

fn emulator(service: Service) -> (tokio::runtime::Runtime, Target) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let target = runtime
        .block_on(Target::emulator(service))
        .expect("emulator");
    assert!(target.describe().contains("embedded emulator"));
    (runtime, target)
}

#[test]
fn blocking_secrets_runs() {
    let (runtime, target) = emulator(Service::Vault);
    let client = keyvault_secrets::blocking::SecretClient::from_async(
        target.secret_client().expect("client"),
    )
    .expect("blocking client");
    blocking_secrets::run(&client).expect("the example runs");
    drop(client);
    runtime.block_on(target.shutdown());
}

#[test]
fn blocking_administration_runs() {
    let storage = BlobStorage::from_env().unwrap_or_else(|e| panic!("{e}"));
    let (runtime, target) = emulator(Service::ManagedHsm);
    let clients = blocking_administration::Clients::new(&target).expect("clients");
    blocking_administration::run(&clients, &storage).expect("the example runs");
    drop(clients);
    runtime.block_on(target.shutdown());
}
