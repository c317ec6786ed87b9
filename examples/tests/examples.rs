//! Runs the four examples against a fresh emulator each.

use examples::Target;

macro_rules! example {
    ($name:ident, $file:literal) => {
        #[allow(dead_code)]
        #[path = $file]
        mod $name;

        #[tokio::test]
        async fn $name() {
            let target = Target::emulator().await.expect("emulator");
            assert!(target.describe().contains("embedded emulator"));
            let client = target.secret_client().expect("client");
            $name::run(&client).await.expect("the example runs");
            target.shutdown().await;
        }
    };
}

example!(hello_world, "../examples/hello_world.rs");
example!(list_operations, "../examples/list_operations.rs");
example!(
    backup_restore_operations,
    "../examples/backup_restore_operations.rs"
);
example!(
    recover_purge_operations,
    "../examples/recover_purge_operations.rs"
);
