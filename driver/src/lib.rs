//! `swze`: a software Level Zero driver. The real Level Zero loader loads it
//! through `ZE_ENABLE_ALT_DRIVERS=<absolute path to libswze.so>`; it then runs
//! contexts, memory, immediate command lists and events on the CPU, so that
//! Level Zero code runs and is tested without a GPU. See `driver/README.md`.
//!
//! Every entry point is reached through the DDI tables of [`ddi`] and enters
//! through [`entry::guarded`] (call counters, fault injection, no unwinding
//! into C). Handles are addresses of objects kept in [`registry`]s, so a stale
//! or foreign handle is an error, never a dereference.

mod args;
mod command_list;
mod config;
mod context;
mod control;
mod ddi;
mod engine;
mod entry;
mod event;
mod memory;
mod region;
mod registry;
mod topology;
