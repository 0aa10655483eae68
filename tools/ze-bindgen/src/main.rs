//! Regenerates `ze-sys/src/bindings.rs` from `/usr/include/level_zero`.
//!
//! Usage: `ze-bindgen OUT_FILE [INCLUDE_DIR]`. `make check` runs it into a
//! temporary file and diffs the result against the committed bindings, so the
//! checked-in types can never drift from the headers they claim to mirror.

use std::env;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: ze-bindgen OUT_FILE [INCLUDE_DIR]");
        return ExitCode::from(2);
    };
    let include = args.next().unwrap_or_else(|| "/usr/include".to_string());
    let wrapper = "#include <level_zero/ze_ddi.h>\n\
                   #include <level_zero/zet_ddi.h>\n\
                   #include <level_zero/zes_ddi.h>\n";
    let bindings = bindgen::Builder::default()
        .header_contents("level_zero_wrapper.h", wrapper)
        .clang_arg(format!("-I{include}"))
        .allowlist_type("_?ze[st]?_.*")
        .allowlist_var("ZE[ST]?_.*")
        // Values a C caller passes may be outside the enumerators; plain
        // integer constants keep reading them defined behaviour.
        .default_enum_style(bindgen::EnumVariation::Consts)
        .prepend_enum_name(false)
        .derive_default(true)
        .layout_tests(true)
        // Nothing here is ever linked: the library and driver reach Level
        // Zero through function-pointer tables only.
        .ignore_functions()
        .generate_comments(false)
        .generate();
    let bindings = match bindings {
        Ok(b) => b,
        Err(e) => {
            eprintln!("ze-bindgen: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = bindings.write_to_file(&out) {
        eprintln!("ze-bindgen: writing {out}: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
