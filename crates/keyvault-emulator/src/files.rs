//! Files and directories the emulator creates for itself (its data
//! directory, the redb file, certificates and their keys): readable by
//! their owner only (`0700` directories, `0600` files on Unix), from the
//! moment they exist.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, ErrorKind};

fn io_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::with_source(
        ErrorKind::Io,
        format!("cannot {what} {}", path.display()),
        e,
    )
}

/// Creates `dir` and its missing parents as owner-only directories. A
/// directory that already exists is left as it is: it may be the user's.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), Error> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| io_err("create", dir, e))
}

/// Opens `path` for writing, created owner-only; an existing file is
/// truncated when `truncate` is set and made owner-only.
fn open_private(path: &Path, truncate: bool) -> Result<fs::File, Error> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path).map_err(|e| io_err("write", path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().map(|m| m.permissions().mode() & 0o777);
        if mode.is_ok_and(|m| m != 0o600) {
            (file.set_permissions(fs::Permissions::from_mode(0o600)))
                .map_err(|e| io_err("restrict the permissions of", path, e))?;
        }
    }
    Ok(file)
}

/// Writes `contents` to `path`, owner-only.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let mut file = open_private(path, true)?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_err("write", path, e))
}

/// Makes sure `path` exists and is owner-only, keeping what it holds.
pub(crate) fn touch_private(path: &Path) -> Result<(), Error> {
    open_private(path, false).map(drop)
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_and_existing_files_end_owner_only() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);

        let file = dir.join("key.pem");
        write_private(&file, b"one").unwrap();
        assert_eq!(mode(&file), 0o600);
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        touch_private(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(
            fs::read(&file).unwrap(),
            b"one",
            "touching keeps the contents"
        );
        write_private(&file, b"two").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"two");
    }
}
