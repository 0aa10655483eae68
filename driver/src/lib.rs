//! `swze`: a Level Zero driver of our own. The real Level Zero loader loads it
//! through `ZE_ENABLE_ALT_DRIVERS=<absolute path to libswze.so>`; it then runs
//! contexts, memory, immediate command lists and events on a backend: the CPU
//! (default), so that Level Zero code runs and is tested without a GPU, or an
//! NVIDIA GPU through CUDA (`SWZE_BACKEND=cuda`). See `driver/README.md`.
//!
//! The front ([`api`], with [`ddi`], [`entry`], [`args`], [`registry`],
//! [`calls`], [`control`], [`config`]) checks and means; the [`backend`] does.
//!
//! Every entry point is reached through the DDI tables of [`ddi`] and enters
//! through [`entry::guarded`] (call counters, fault injection, no unwinding
//! into C). Handles are addresses of objects kept in [`registry`]s, so a stale
//! or foreign handle is an error, never a dereference.

mod api;
mod args;
mod calls;
mod backend;
mod config;
mod control;
mod ddi;
mod newer;
mod entry;
mod registry;
