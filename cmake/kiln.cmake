# kiln.cmake: CMake toolchain file that turns every add_executable of an unchanged project
# into a bootable Kiln VM image.
#
#   cmake -S app -B build -DCMAKE_TOOLCHAIN_FILE=<kiln>/cmake/kiln.cmake
#   cmake --build build          # each executable target is an image
#   ctest --test-dir build       # tests (and try_run) boot their images under QEMU
#
# At configure time it builds the kiln command and the runtime archives (`kiln runtime`),
# takes the compile flags from `kiln config --cflags/--cxxflags` (their one source is
# cli/src/toolchain.rs) and links through `kiln link`, which adds musl, libc-shim, libc++ and
# the runtime (docs/ARCHITECTURE.md, "The image contract"). Only static executables make
# sense in an image: add_library(SHARED) and host libraries are not available.

get_filename_component(KILN_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(KILN "${KILN_ROOT}/target/release/kiln")

set(CMAKE_SYSTEM_NAME Linux) # musl on the Linux x86-64 system call ABI
set(CMAKE_SYSTEM_PROCESSOR x86_64)

# Build the kiln command and the runtime once per configure of the real project; the
# try_compile projects CMake configures on the way read this file again and reuse them.
get_property(_kiln_in_try_compile GLOBAL PROPERTY IN_TRY_COMPILE)
if(NOT _kiln_in_try_compile)
  find_program(KILN_CARGO cargo)
  if(NOT KILN_CARGO)
    message(FATAL_ERROR "kiln: cargo not found; install Rust from https://rustup.rs, then run ${KILN_ROOT}/kiln doctor")
  endif()
  execute_process(
    COMMAND "${KILN_CARGO}" build --release -q -p kiln-cli --manifest-path "${KILN_ROOT}/Cargo.toml"
    RESULT_VARIABLE _kiln_result)
  if(NOT _kiln_result EQUAL 0)
    message(FATAL_ERROR "kiln: building the kiln command failed (errors above); fix them or run ${KILN_ROOT}/kiln doctor")
  endif()
  execute_process(
    COMMAND "${KILN}" runtime
    OUTPUT_QUIET
    RESULT_VARIABLE _kiln_result)
  if(NOT _kiln_result EQUAL 0)
    message(FATAL_ERROR "kiln: `kiln runtime` failed (errors above); fix them or run ${KILN_ROOT}/kiln doctor")
  endif()
endif()

# One `kiln config` query; its output is a shell-quoted line, which is also how CMake puts
# flags on a compile command line.
function(_kiln_config option out_var)
  execute_process(
    COMMAND "${KILN}" config ${option}
    OUTPUT_VARIABLE _value
    OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE _result)
  if(NOT _result EQUAL 0 OR _value STREQUAL "")
    message(FATAL_ERROR "kiln: `kiln config ${option}` failed; run ${KILN_ROOT}/kiln doctor")
  endif()
  set(${out_var} "${_value}" PARENT_SCOPE)
endfunction()

_kiln_config(--cc KILN_CC)
_kiln_config(--cflags KILN_CFLAGS)
_kiln_config(--cxxflags KILN_CXXFLAGS)

# clang compiles both languages; clang++ is the same driver in C++ mode.
set(CMAKE_C_COMPILER "${KILN_CC}")
get_filename_component(_kiln_cc_dir "${KILN_CC}" DIRECTORY)
get_filename_component(_kiln_cc_name "${KILN_CC}" NAME)
string(REPLACE "clang" "clang++" _kiln_cxx_name "${_kiln_cc_name}")
find_program(KILN_CXX NAMES "${_kiln_cxx_name}" clang++ clang++-14 HINTS "${_kiln_cc_dir}" REQUIRED)
set(CMAKE_CXX_COMPILER "${KILN_CXX}")
set(CMAKE_C_COMPILER_TARGET x86_64-linux-musl)
set(CMAKE_CXX_COMPILER_TARGET x86_64-linux-musl)
set(CMAKE_ASM_COMPILER_TARGET x86_64-linux-musl)

set(CMAKE_C_FLAGS_INIT "${KILN_CFLAGS}")
set(CMAKE_CXX_FLAGS_INIT "${KILN_CXXFLAGS}")
set(CMAKE_ASM_FLAGS_INIT "${KILN_CFLAGS}")
foreach(_kiln_lang C CXX)
  if(NOT CMAKE_${_kiln_lang}_FLAGS_INIT MATCHES "-fstack-protector")
    string(APPEND CMAKE_${_kiln_lang}_FLAGS_INIT " -fstack-protector-strong")
  endif()
endforeach()

# Every executable is linked into an image by the link driver.
set(CMAKE_C_LINK_EXECUTABLE
    "\"${KILN}\" link -o <TARGET> <FLAGS> <CMAKE_C_LINK_FLAGS> <LINK_FLAGS> <OBJECTS> <LINK_LIBRARIES>")
set(CMAKE_CXX_LINK_EXECUTABLE
    "\"${KILN}\" link --cxx -o <TARGET> <FLAGS> <CMAKE_CXX_LINK_FLAGS> <LINK_FLAGS> <OBJECTS> <LINK_LIBRARIES>")

# Tests and try_run boot the image: `<emulator> IMAGE ARGS...` runs `kiln run`.
set(CMAKE_CROSSCOMPILING_EMULATOR "${KILN_ROOT}/cmake/kiln-emulator")

# Libraries, headers and packages come from two roots only, never from the host: the Kiln
# sysroot (target/kiln/sysroot: the libraries `kiln pkg` built, with their pkg-config and
# CMake files) and musl's. Programs (code generators, tools) are the host's. Debian installs
# musl beside the host's libraries rather than as a sysroot, so target/kiln/musl is one made
# of two links. The link itself is sealed the same way by `kiln link` (cli/src/libs.rs).
set(KILN_SYSROOT "${KILN_ROOT}/target/kiln/sysroot")
set(KILN_MUSL_ROOT "${KILN_ROOT}/target/kiln/musl")
if(NOT EXISTS "${KILN_MUSL_ROOT}/usr/lib" OR NOT EXISTS "${KILN_MUSL_ROOT}/usr/include")
  file(MAKE_DIRECTORY "${KILN_MUSL_ROOT}/usr")
  file(CREATE_LINK /usr/lib/x86_64-linux-musl "${KILN_MUSL_ROOT}/usr/lib" SYMBOLIC)
  file(CREATE_LINK /usr/include/x86_64-linux-musl "${KILN_MUSL_ROOT}/usr/include" SYMBOLIC)
endif()
set(CMAKE_FIND_ROOT_PATH "${KILN_SYSROOT}" "${KILN_MUSL_ROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# pkg-config sees only the sysroot's .pc files and answers for static linking
# (bin/kiln-pkg-config), so pkg_check_modules() finds what `kiln pkg` built, never the host's.
set(PKG_CONFIG_EXECUTABLE "${KILN_ROOT}/bin/kiln-pkg-config" CACHE FILEPATH
    "pkg-config for the Kiln sysroot")
set(ENV{PKG_CONFIG_LIBDIR} "${KILN_SYSROOT}/usr/lib/pkgconfig:${KILN_SYSROOT}/usr/share/pkgconfig")
unset(ENV{PKG_CONFIG_SYSROOT_DIR})

# kiln_add_files(TARGET DIR): the files under DIR become the VM's files (DIR/etc/x is
# /etc/x), packed into a newc cpio archive and linked into TARGET's image (the `.kiln_initrd`
# section). Every path stays writable in the VM: a write copies the file into memory first.
# Call it more than once to merge directories (a later one wins for a path in both); an
# initrd given at run time (`kiln run --files`) is unpacked after them.
function(kiln_add_files target dir)
  get_filename_component(_dir "${dir}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT IS_DIRECTORY "${_dir}")
    message(FATAL_ERROR "kiln_add_files(${target} ${dir}): ${_dir} is not a directory; give the directory whose files the VM should see")
  endif()
  if(NOT TARGET "${target}")
    message(FATAL_ERROR "kiln_add_files(${target} ${dir}): no target ${target}; call it after add_executable(${target} ...)")
  endif()
  string(MD5 _hash "${_dir}")
  string(SUBSTRING "${_hash}" 0 8 _hash)
  set(_obj "${CMAKE_CURRENT_BINARY_DIR}/kiln_files/${target}-${_hash}.o")
  # Re-glob at build time, so added or removed files repack the archive.
  file(GLOB_RECURSE _deps CONFIGURE_DEPENDS LIST_DIRECTORIES true "${_dir}/*")
  add_custom_command(
    OUTPUT "${_obj}"
    COMMAND "${KILN}" pack "${_dir}" -o "${_obj}"
    DEPENDS "${_dir}" ${_deps}
    COMMENT "Packing ${dir} into the image of ${target}"
    VERBATIM)
  set_source_files_properties("${_obj}" PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
  target_sources("${target}" PRIVATE "${_obj}")
endfunction()

# Images are static; there is no dynamic loader to build shared libraries for.
set(CMAKE_POSITION_INDEPENDENT_CODE OFF)
set(BUILD_SHARED_LIBS OFF CACHE BOOL "Kiln images link statically")

# Images must relink when the runtime, the shim or the linker script change, which CMake
# cannot see through the link rule: once the top-level CMakeLists.txt has been read, add them
# to LINK_DEPENDS of every executable in the project.
function(_kiln_collect_executables dir out_var)
  get_property(_targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  set(_found)
  foreach(_t IN LISTS _targets)
    get_property(_type TARGET "${_t}" PROPERTY TYPE)
    if(_type STREQUAL "EXECUTABLE")
      list(APPEND _found "${_t}")
    endif()
  endforeach()
  get_property(_subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(_sub IN LISTS _subdirs)
    _kiln_collect_executables("${_sub}" _sub_found)
    list(APPEND _found ${_sub_found})
  endforeach()
  set(${out_var} ${_found} PARENT_SCOPE)
endfunction()

function(_kiln_add_link_depends)
  _kiln_collect_executables("${CMAKE_SOURCE_DIR}" _executables)
  foreach(_t IN LISTS _executables)
    set_property(TARGET "${_t}" APPEND PROPERTY LINK_DEPENDS
      "${KILN_ROOT}/target/kiln/libkiln_runtime.a"
      "${KILN_ROOT}/target/kiln/libkiln_shim.a"
      "${KILN_ROOT}/runtime/kiln.ld")
  endforeach()
endfunction()

get_property(_kiln_deferred GLOBAL PROPERTY KILN_LINK_DEPENDS_DEFERRED)
if(NOT _kiln_in_try_compile AND NOT _kiln_deferred AND CMAKE_SOURCE_DIR)
  set_property(GLOBAL PROPERTY KILN_LINK_DEPENDS_DEFERRED TRUE)
  cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _kiln_add_link_depends)
endif()
