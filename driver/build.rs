//! Links `libswze.so` with `-z nodelete`: the Level Zero loader 1.8 unloads a
//! driver whose init failed but keeps calling the entry points it fetched
//! from it (`zeDriverGet` after a failed `zeInit` jumped into unmapped
//! memory). Staying mapped, the driver answers those calls with
//! `ZE_RESULT_ERROR_UNINITIALIZED` instead. It also keeps engine threads and
//! thread-local destructors from outliving their code.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
}
