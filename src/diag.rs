//! `AML_DMA_ZE_TRACE=1`: what the library tells on stderr, and only then.
//! Each refused argument of a public entry point is named with the reason
//! (`aml_dma_ze: aml_dma_ze_create: ordinal 99: the device has 3 queue
//! groups (0 to 2)`), as is each failing Level Zero call (`loader`), with the
//! likely cause where one is known (a failing `zeInit`), and the path each
//! new dma takes (`lifecycle`). Without the variable the library prints nothing.

use std::sync::OnceLock;

use crate::loader::secure_env;

/// `AML_DMA_ZE_TRACE=1`, read once per process with `secure_getenv`.
pub fn tracing() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| secure_env(c"AML_DMA_ZE_TRACE").is_some_and(|v| v == "1"))
}

/// Prints `aml_dma_ze: <function>: <what>` when tracing; the message is only
/// formatted then.
#[cold]
#[inline(never)]
pub fn tell(function: &str, what: std::fmt::Arguments<'_>) {
    if tracing() {
        eprintln!("aml_dma_ze: {function}: {what}");
    }
}

/// `refuse!(error, "function", "format", args...)`: traces why `function`
/// refuses an argument and evaluates to `error`.
macro_rules! refuse {
    ($error:expr, $function:expr, $($what:tt)*) => {{
        if $crate::diag::tracing() {
            $crate::diag::tell($function, format_args!($($what)*));
        }
        $error
    }};
}
pub(crate) use refuse;
