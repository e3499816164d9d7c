//! Builds a CMake project into images with Kiln's toolchain file (`cmake/kiln.cmake`).

use crate::{doctor, image, root, runtime, toolchain, Failure, Result};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Builds `dir` into `dir/build-kiln` (Debug unless `release`); returns the images produced.
pub fn build_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    build(dir, None, false)
}

/// `kiln build DIR [-B BUILD_DIR] [--release]`: the runtime, then CMake configure and build.
/// CMake's and ninja's progress goes to stderr; the images found are returned.
pub fn build(dir: &Path, build_dir: Option<&Path>, release: bool) -> Result<Vec<PathBuf>> {
    if !dir.join("CMakeLists.txt").is_file() {
        return Err(Failure::usage(format!(
            "{} has no CMakeLists.txt; give the directory of a CMake project",
            dir.display()
        ))
        .into());
    }
    doctor::require(&doctor::FOR_BUILD)?;
    let toolchain_file = root().join("cmake").join("kiln.cmake");
    if !toolchain_file.is_file() {
        return Err(Failure::usage(format!(
            "{} is missing; this Kiln checkout is incomplete",
            toolchain_file.display()
        ))
        .into());
    }
    runtime::ensure_runtime()?;

    let build_dir = build_dir.map_or_else(|| dir.join("build-kiln"), Path::to_path_buf);
    let mut configure = cmake();
    configure.arg("-S").arg(dir).arg("-B").arg(&build_dir);
    // The generator and toolchain are fixed at the first configure; repeating them later
    // would make CMake refuse an existing build directory.
    if !build_dir.join("CMakeCache.txt").is_file() {
        if toolchain::find_in_path("ninja").is_some() {
            configure.args(["-G", "Ninja"]);
        }
        configure.arg(format!(
            "-DCMAKE_TOOLCHAIN_FILE={}",
            toolchain_file.display()
        ));
    }
    configure.arg(format!(
        "-DCMAKE_BUILD_TYPE={}",
        if release { "Release" } else { "Debug" }
    ));
    run_step(configure, "configuring")?;

    let mut compile = cmake();
    compile.arg("--build").arg(&build_dir);
    run_step(compile, "building")?;

    let mut images = find_images(&build_dir);
    images.sort();
    if images.is_empty() {
        return Err(Failure::new(
            1,
            format!(
                "the build produced no image in {}; does CMakeLists.txt add an executable?",
                build_dir.display()
            ),
        )
        .into());
    }
    Ok(images)
}

/// A `cmake` command whose output goes to our stderr (stdout is for the image paths), and
/// which can find this checkout and this `kiln` binary.
fn cmake() -> Command {
    let mut command = Command::new("cmake");
    command.env("KILN_ROOT", root());
    if let Ok(exe) = std::env::current_exe().and_then(|e| e.canonicalize()) {
        if exe.file_name().is_some_and(|n| n == "kiln") {
            command.env("KILN", exe);
        }
    }
    if let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() {
        command.stdout(Stdio::from(fd));
    }
    command
}

fn run_step(mut command: Command, what: &str) -> Result<()> {
    let status = command.status().map_err(|e| {
        Failure::usage(format!(
            "cannot run cmake ({e}); run `kiln doctor --install`"
        ))
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure::new(1, format!("{what} failed (CMake's errors are above)")).into())
    }
}

/// Executable files under `dir` that carry the PVH note (CMake's own scratch dirs skipped).
pub fn find_images(dir: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            if entry.file_name() != "CMakeFiles" {
                found.extend(find_images(&path));
            }
        } else if meta.is_file() && meta.permissions().mode() & 0o111 != 0 && image::is_image(&path)
        {
            found.push(path);
        }
    }
    found
}

/// The image `kiln run DIR` runs: the one named like the directory, else the only one.
pub fn pick_image(dir: &Path, images: &[PathBuf]) -> Result<PathBuf> {
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_owned()));
    if let Some(image) = images.iter().find(|i| i.file_name() == name.as_deref()) {
        return Ok(image.clone());
    }
    match images {
        [only] => Ok(only.clone()),
        _ => {
            let names: Vec<String> = images.iter().map(|i| i.display().to_string()).collect();
            Err(Failure::usage(format!(
                "{} builds several images ({}); run one of them by path",
                dir.display(),
                names.join(", ")
            ))
            .into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_image_named_like_the_directory() {
        let dir = std::env::temp_dir().join(format!("kiln-pick-{}", std::process::id()));
        let project = dir.join("hello");
        std::fs::create_dir_all(&project).unwrap();
        let images = [project.join("b/tool"), project.join("b/hello")];
        assert_eq!(pick_image(&project, &images).unwrap(), images[1]);
        assert_eq!(pick_image(&project, &images[..1]).unwrap(), images[0]);
        assert!(pick_image(&dir, &images).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
